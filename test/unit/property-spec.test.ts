// Property-based tests (fast-check, issue 8) of spec validation: whatever a user writes into a
// hook spec, validation returns messages — no other exception escapes (a TypeError here would fail the hook with an
// unreadable message or crash a worker). 10,000 cases per property. Inputs are what JSON can
// carry (objects with a prototype), as specs reach the validator parsed from the API server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { validateHandler, validateInvoker } from '../../shared/hook-spec.js';
import { checkTemplate } from '../../shared/template.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);
const HOOKS = ['preBackup', 'postBackup', 'preRestore', 'postRestore'] as const;

/** Values shaped like handlers: known keys with arbitrary (often wrong) values, plus junk. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -70_000, max: 70_000 }),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('http', '8080', 'HTTPS', 'Always', 'Never', 'OnSuccess', 'OnFailure', '{{ .Name }}', '{{ .Nope }}', '{% if %}', '1m', 'bogus', '', ' '),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3, noNullPrototype: true }),
);
const action = fc.record(
  {
    command: fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant('{{ .Status.Phase }}')), { maxLength: 4 }), anyValue),
    host: anyValue,
    port: anyValue,
    path: anyValue,
    scheme: anyValue,
    body: anyValue,
    form: fc.oneof(fc.array(fc.record({ key: anyValue, values: anyValue }, { requiredKeys: [], noNullPrototype: true }), { maxLength: 2 }), anyValue),
    httpHeaders: fc.oneof(
      fc.array(
        fc.record(
          {
            name: anyValue,
            value: anyValue,
            valueFrom: fc.oneof(
              anyValue,
              fc.record({ secretKeyRef: fc.record({ name: anyValue, key: anyValue }, { requiredKeys: [], noNullPrototype: true }) }),
            ),
          },
          { requiredKeys: [], noNullPrototype: true },
        ),
        { maxLength: 2 },
      ),
      anyValue,
    ),
  },
  { requiredKeys: [], noNullPrototype: true },
);
const handler = fc.oneof(
  anyValue,
  fc.record(
    {
      exec: fc.oneof(action, anyValue),
      httpGet: fc.oneof(action, anyValue),
      httpPost: fc.oneof(action, anyValue),
      tcpSocket: fc.oneof(action, anyValue),
      containerName: anyValue,
      timeoutSeconds: anyValue,
      maxRetry: anyValue,
      retryDelaySeconds: anyValue,
      insecureSkipTLSVerify: anyValue,
      executor: fc.oneof(anyValue, fc.record({ pod: anyValue, strategy: anyValue, selector: anyValue }, { requiredKeys: [], noNullPrototype: true })),
      executionPolicy: anyValue,
      junk: anyValue,
    },
    { requiredKeys: [], noNullPrototype: true },
  ),
);

test('validateHandler: returns an array of non-empty strings for any input, never throws', () => {
  fc.assert(
    fc.property(handler, fc.constantFrom(...HOOKS), fc.constantFrom('global', 'local', undefined), (h, hook, scope) => {
      const out = validateHandler(h, 'spec.hooks.x', { hook, scope: scope as 'global' | 'local' | undefined, checkTemplate });
      return Array.isArray(out) && out.every((m) => typeof m === 'string' && m.length > 0);
    }),
    { numRuns: RUNS },
  );
});

test('validateInvoker: any object (kinds, hooks, members, timeOut) gives messages, never an exception', () => {
  const invoker = fc.record(
    {
      apiVersion: fc.oneof(fc.constant('stash.appscode.com/v1beta1'), anyValue),
      kind: fc.oneof(fc.constantFrom('BackupConfiguration', 'BackupBatch', 'RestoreSession', 'Nope'), anyValue),
      metadata: fc.oneof(fc.record({ name: anyValue, namespace: anyValue }, { requiredKeys: [], noNullPrototype: true }), anyValue),
      spec: fc.oneof(
        anyValue,
        fc.record(
          {
            timeOut: fc.oneof(fc.constantFrom('1h', '30s', '1h30m', '-1s', '1x', ''), anyValue),
            target: anyValue,
            executionOrder: anyValue,
            hooks: fc.oneof(
              anyValue,
              fc.record({ preBackup: handler, postBackup: handler, preRestore: handler, postRestore: handler }, { requiredKeys: [], noNullPrototype: true }),
            ),
            members: fc.oneof(
              anyValue,
              fc.array(
                fc.record(
                  { target: anyValue, hooks: fc.oneof(anyValue, fc.record({ preBackup: handler }, { requiredKeys: [], noNullPrototype: true })) },
                  { requiredKeys: [], noNullPrototype: true },
                ),
                { maxLength: 2 },
              ),
            ),
          },
          { requiredKeys: [], noNullPrototype: true },
        ),
      ),
    },
    { requiredKeys: [], noNullPrototype: true },
  );
  fc.assert(
    fc.property(fc.oneof(invoker, anyValue), (obj) => {
      const out = validateInvoker(obj, { checkTemplate });
      return Array.isArray(out) && out.every((m) => typeof m === 'string');
    }),
    { numRuns: RUNS },
  );
});

test.run();
