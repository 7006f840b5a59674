// The CRDs in k8s-manifests/base/crds/: generated from k8s-manifests/tools/crds.ts and up to
// date, structural (as the API server demands), and their schemas accept real Stash objects and
// reject bad hooks where a schema can.
//
// Sample objects are checked with ajv against each CRD's openAPIV3Schema, with
// `additionalProperties: false` added wherever the CRD does not preserve unknown fields — what
// the API server's strict field validation (kubectl's default) reports as "unknown field".
// CEL rules (`x-kubernetes-validations`) are evaluated where the API server would, with a CEL
// implementation in JavaScript (@marcbachmann/cel-js) on each node the rule sits on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import { evaluate } from '@marcbachmann/cel-js';
import { renderCrdFiles } from '../../k8s-manifests/tools/crds.js';

type Schema = Record<string, any>;
const dir = fileURLToPath(new URL('../../k8s-manifests/base/crds/', import.meta.url));
const files = renderCrdFiles();
const crds = Object.fromEntries(Object.keys(files).map((f) => [f, parse(readFileSync(dir + f, 'utf8')) as Schema]));
const schemaOf = (file: string): Schema => crds[file].spec.versions[0].schema.openAPIV3Schema;

test('the CRD files are what k8s-manifests/tools/crds.ts generates', () => {
  for (const [file, text] of Object.entries(files)) {
    assert.is(readFileSync(dir + file, 'utf8'), text, `${file} is stale: run node --import tsx k8s-manifests/tools/crds.ts`);
  }
});

test('the four Stash kinds are namespaced v1beta1 with a status subresource; AppBinding v1alpha1', () => {
  const byName = Object.fromEntries(Object.values(crds).map((c) => [c.metadata.name, c]));
  for (const plural of ['backupconfigurations', 'backupbatches', 'backupsessions', 'restoresessions']) {
    const c = byName[`${plural}.stash.appscode.com`];
    assert.ok(c, plural);
    assert.is(c.spec.scope, 'Namespaced');
    assert.equal(
      c.spec.versions.map((v: Schema) => [v.name, v.served, v.storage]),
      [['v1beta1', true, true]],
    );
    assert.equal(c.spec.versions[0].subresources, { status: {} }, `${plural} status subresource`);
  }
  const ab = byName['appbindings.appcatalog.appscode.com'];
  assert.equal([ab.spec.scope, ab.spec.versions[0].name], ['Namespaced', 'v1alpha1']);
});

/** Walks a schema, calling `visit` with each node and its path; junctor branches are flagged. */
function walk(node: Schema, path: string, visit: (n: Schema, p: string, inJunctor: boolean) => void, inJunctor = false): void {
  visit(node, path, inJunctor);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v as Schema, `${path}.${k}`, visit, inJunctor);
  if (node.items) walk(node.items, `${path}[]`, visit, inJunctor);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}{}`, visit, inJunctor);
  for (const j of ['anyOf', 'allOf', 'oneOf']) for (const [i, b] of (node[j] ?? []).entries()) walk(b, `${path}.${j}[${i}]`, visit, true);
  if (node.not) walk(node.not, `${path}.not`, visit, true);
}

test('schemas are structural: every field typed, no types in junctors but the int-or-string pattern, RE2 patterns', () => {
  for (const [file] of Object.entries(crds)) {
    walk(schemaOf(file), file, (n, p, inJunctor) => {
      if (inJunctor) {
        const intOrStringBranch = /\.anyOf\[[01]\]$/.test(p) && Object.keys(n).length === 1 && ['integer', 'string'].includes(n.type);
        for (const banned of ['description', 'default', 'additionalProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields']) {
          assert.not.ok(banned in n, `${p}: ${banned} inside a junctor`);
        }
        if (!intOrStringBranch) assert.not.ok('type' in n, `${p}: type inside a junctor`);
      } else if (n['x-kubernetes-int-or-string']) {
        assert.not.ok('type' in n, `${p}: int-or-string has no type`);
        assert.equal(n.anyOf, [{ type: 'integer' }, { type: 'string' }], `${p}: int-or-string anyOf`);
      } else {
        assert.ok(typeof n.type === 'string', `${p}: no type`);
      }
      if (typeof n.pattern === 'string') {
        assert.not.match(n.pattern, /\(\?[=!<]/, `${p}: look-around is not RE2`);
        assert.not.match(n.pattern, /\\[1-9]/, `${p}: backreferences are not RE2`);
        new RegExp(n.pattern, 'u');
      }
      if (n.type === 'object' && n.properties && n['x-kubernetes-list-type'] === undefined) {
        for (const [k, v] of Object.entries(n.properties as Record<string, Schema>)) {
          if (v['x-kubernetes-list-type'] === 'map') {
            for (const key of v['x-kubernetes-list-map-keys']) assert.ok(v.items.required?.includes(key), `${p}.${k}: list-map key ${key} must be required`);
          }
        }
      }
    });
  }
});

test('every hook carries the rule that it needs an action; headers cannot have value and valueFrom', () => {
  let handlers = 0;
  let headers = 0;
  for (const file of Object.keys(crds)) {
    walk(schemaOf(file), file, (n) => {
      const rules = (n['x-kubernetes-validations'] ?? []).map((r: Schema) => r.rule);
      if (n.properties?.exec && n.properties?.tcpSocket) {
        handlers++;
        assert.ok(rules.includes('has(self.exec) || has(self.httpGet) || has(self.httpPost) || has(self.tcpSocket)'));
      }
      if (n.properties?.valueFrom && n.properties?.name) {
        headers++;
        assert.ok(rules.includes('!(has(self.value) && has(self.valueFrom))'));
      }
    });
  }
  // BackupConfiguration 2, BackupBatch 2 global + 2 per member, RestoreSession 2.
  assert.is(handlers, 8);
  assert.is(headers, 16, 'httpGet and httpPost of each hook');
});

/** A copy of a schema as the API server's strict field validation sees it, for ajv. */
function strict(node: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, strict(s as Schema)]));
    else if (k === 'items') out.items = strict(v as Schema);
    else if (k === 'anyOf' || k === 'allOf') out[k] = (v as Schema[]).map(strict);
    else if (k === 'metadata') out[k] = v;
    else out[k] = v;
  }
  if (node.type === 'object' && node.properties && !node['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators: Record<string, ValidateFunction> = Object.fromEntries(Object.keys(crds).map((f) => [f, ajv.compile(strict(schemaOf(f)))]));

/** Evaluates every CEL rule of `schema` against the part of `data` it sits on. */
function celProblems(schema: Schema, data: unknown, path: string, out: string[]): string[] {
  if (data === undefined || data === null) return out;
  for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
    if (evaluate(rule, { self: data }) !== true) out.push(`${path} ${message}`);
  }
  if (Array.isArray(data) && schema.items) data.forEach((d, i) => celProblems(schema.items, d, `${path}/${i}`, out));
  else if (typeof data === 'object' && schema.properties) {
    for (const [k, sub] of Object.entries(schema.properties as Record<string, Schema>)) celProblems(sub, (data as Schema)[k], `${path}/${k}`, out);
  }
  return out;
}

function problems(file: string, obj: unknown): string[] {
  const validate = validators[file];
  const found = validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  return [...found, ...celProblems(schemaOf(file), obj, '', [])];
}

const goodHook = {
  exec: { command: ['/bin/sh', '-c', 'mysql -e "FLUSH TABLES WITH READ LOCK"'] },
  httpGet: {
    host: 'app.demo.svc',
    port: 'http-api',
    path: '/ready',
    scheme: 'HTTPS',
    httpHeaders: [{ name: 'X-Token', valueFrom: { secretKeyRef: { name: 'hook-token', key: 'token' } } }],
  },
  containerName: 'mysql',
  timeoutSeconds: 120,
  maxRetry: 2,
  retryDelaySeconds: 10,
  insecureSkipTLSVerify: false,
  executor: { pod: { namespace: 'demo', selector: 'app=mysql', strategy: 'ExecuteOnAll' } },
};
const backupConfiguration = {
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'BackupConfiguration',
  metadata: { name: 'app-backup', namespace: 'demo' },
  spec: {
    schedule: '*/5 * * * *',
    timeOut: '1h30m',
    // Stash's own fields, which stash-hooks does not read, are kept.
    repository: { name: 'gcs-repo' },
    retentionPolicy: { name: 'keep-last-5', keepLast: 5, prune: true },
    runtimeSettings: { container: { securityContext: { runAsUser: 2000 } } },
    task: { name: 'mysql-backup-8.0.21' },
    target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, paths: ['/data'], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    hooks: {
      preBackup: goodHook,
      postBackup: {
        executionPolicy: 'OnFailure',
        httpPost: {
          host: 'hooks.slack.com',
          port: 443,
          path: '/services/X',
          scheme: 'HTTPS',
          body: '{"text": "{{ .Status.Error }}"}',
          form: [{ key: 'a', values: ['b'] }],
        },
      },
    },
  },
};

test('real Stash objects with every stash-hooks addition are accepted', () => {
  assert.equal(problems('backupconfigurations.yaml', backupConfiguration), []);
  assert.equal(
    problems('backupbatches.yaml', {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupBatch',
      metadata: { name: 'batch' },
      spec: {
        executionOrder: 'Sequential',
        timeOut: '30m',
        repository: { name: 'r' },
        hooks: {
          preBackup: { tcpSocket: { host: 'db.demo.svc', port: 5432 } },
          postBackup: { executionPolicy: 'OnFinalRetryFailure', httpGet: { host: 'h', port: 80 } },
        },
        members: [
          {
            target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'db' } },
            task: { name: 'pg' },
            hooks: { preBackup: { exec: { command: ['true'] } } },
          },
          { target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web' } } },
        ],
      },
    }),
    [],
  );
  assert.equal(
    problems('restoresessions.yaml', {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'restore' },
      spec: {
        repository: { name: 'r' },
        target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, rules: [{ paths: ['/data'] }] },
        hooks: { preRestore: { exec: { command: ['true'] } }, postRestore: { executionPolicy: 'OnSuccess', tcpSocket: { port: 'mysql' } } },
      },
      status: {
        phase: 'Running',
        totalHosts: 1,
        stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '3s' }],
        conditions: [
          {
            type: 'PreRestoreHookExecutionSucceeded',
            status: 'True',
            reason: 'SuccessfullyExecutedPreRestoreHook',
            message: 'Successfully executed preRestore hook.',
            lastTransitionTime: '2026-11-26T07:00:00Z',
          },
        ],
      },
    }),
    [],
  );
  assert.equal(
    problems('backupsessions.yaml', {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 'app-backup-1700000000' },
      spec: { invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'app-backup' }, retryLeft: 0 },
      status: {
        phase: 'Running',
        targets: [
          {
            ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
            phase: 'Pending',
            totalHosts: 2,
            stats: [{ hostname: 'app-0', phase: 'Succeeded', snapshots: [{ name: 's' }] }],
            conditions: [{ type: 'ReadyForBackup', status: 'True' }],
          },
        ],
        conditions: [{ type: 'DeadlineExceeded', status: 'True', reason: 'FailedToCompleteWithinDeadline', observedGeneration: 1 }],
      },
    }),
    [],
  );
});

test('numeric-string ports and lower-case schemes are accepted, as Stash accepts them', () => {
  for (const [port, scheme] of [
    ['8080', 'http'],
    ['1', 'https'],
    ['65535', 'Https'],
    [443, 'HTTP'],
    ['http-api', ''],
  ] as const) {
    assert.equal(
      problems(
        'backupconfigurations.yaml',
        withPreBackup((h) => Object.assign(h.httpGet, { port, scheme })),
      ),
      [],
      `${port} ${scheme}`,
    );
    assert.equal(
      problems(
        'backupconfigurations.yaml',
        withPreBackup((h) => (h.tcpSocket = { port })),
      ),
      [],
      `tcpSocket ${port}`,
    );
  }
});

test("the API server defaults a post hook's executionPolicy to Always (pre hooks have none)", () => {
  const defaulting = new Ajv({ strict: false, useDefaults: true, validateFormats: false });
  const bc = structuredClone(backupConfiguration) as Schema;
  delete bc.spec.hooks.postBackup.executionPolicy;
  assert.ok(defaulting.compile(strict(schemaOf('backupconfigurations.yaml')))(bc));
  assert.is(bc.spec.hooks.postBackup.executionPolicy, 'Always');
  assert.not.ok('executionPolicy' in bc.spec.hooks.preBackup);
  const rs: Schema = {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name: 'r' },
    spec: { hooks: { postRestore: { exec: { command: ['true'] } } } },
  };
  assert.ok(defaulting.compile(strict(schemaOf('restoresessions.yaml')))(rs));
  assert.is(rs.spec.hooks.postRestore.executionPolicy, 'Always');
  const bb: Schema = {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'BackupBatch',
    metadata: { name: 'b' },
    spec: { hooks: { postBackup: { exec: { command: ['true'] } } }, members: [{ hooks: { postBackup: { exec: { command: ['true'] } } } }] },
  };
  assert.ok(defaulting.compile(strict(schemaOf('backupbatches.yaml')))(bb));
  assert.equal([bb.spec.hooks.postBackup.executionPolicy, bb.spec.members[0].hooks.postBackup.executionPolicy], ['Always', 'Always']);
});

/** The configuration with one change to its preBackup hook. */
function withPreBackup(change: (hook: Schema) => void): unknown {
  const obj = structuredClone(backupConfiguration) as Schema;
  change(obj.spec.hooks.preBackup);
  return obj;
}

const rejected: Array<[string, string, unknown, RegExp]> = [
  ['port above 65535', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = 70000)), /port must be <= 65535/],
  ['port 0', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = 0)), /port must be >= 1/],
  ['a numeric string port 0', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = '0')), /port must match pattern/],
  ['a numeric string port 70000', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = '70000')), /port must match pattern/],
  ['a numeric string port with a leading zero', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = '080')), /port must match pattern/],
  ['a port name with --', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.port = 'my--port')), /port must match pattern/],
  [
    'a port name over 15 characters',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.httpGet.port = 'a-very-long-port-name')),
    /port must NOT have more than 15 characters/,
  ],
  ['a fractional port', 'backupconfigurations.yaml', withPreBackup((h) => (h.tcpSocket = { port: 80.5 })), /port must be (integer|string)/],
  ['scheme FTP', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.scheme = 'FTP')), /scheme must match pattern/],
  ['scheme httpx', 'backupconfigurations.yaml', withPreBackup((h) => (h.httpGet.scheme = 'httpx')), /scheme must match pattern/],
  [
    'strategy Random',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.executor.pod.strategy = 'Random')),
    /strategy must be equal to one of the allowed values/,
  ],
  ['an executor without selector', 'backupconfigurations.yaml', withPreBackup((h) => delete h.executor.pod.selector), /must have required property 'selector'/],
  ['timeoutSeconds 0', 'backupconfigurations.yaml', withPreBackup((h) => (h.timeoutSeconds = 0)), /timeoutSeconds must be >= 1/],
  ['timeoutSeconds over a day', 'backupconfigurations.yaml', withPreBackup((h) => (h.timeoutSeconds = 86401)), /timeoutSeconds must be <= 86400/],
  ['maxRetry 101', 'backupconfigurations.yaml', withPreBackup((h) => (h.maxRetry = 101)), /maxRetry must be <= 100/],
  ['an empty exec command', 'backupconfigurations.yaml', withPreBackup((h) => (h.exec.command = [])), /command must NOT have fewer than 1 items/],
  [
    'a secretKeyRef without key',
    'backupconfigurations.yaml',
    withPreBackup((h) => delete h.httpGet.httpHeaders[0].valueFrom.secretKeyRef.key),
    /must have required property 'key'/,
  ],
  [
    "secretKeyRef.namespace (Secrets come from the session's namespace only)",
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.httpGet.httpHeaders[0].valueFrom.secretKeyRef.namespace = 'victim')),
    /must NOT have additional properties/,
  ],
  [
    'a body over 64 KiB',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.httpPost = { port: 80, body: 'x'.repeat(64 * 1024 + 1) })),
    /body must NOT have more than 65536 characters/,
  ],
  [
    'an exec of 257 arguments',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.exec.command = Array(257).fill('a'))),
    /command must NOT have more than 256 items/,
  ],
  [
    'a command argument over 16 KiB',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.exec.command = ['sh', 'y'.repeat(16 * 1024 + 1)])),
    /command\/1 must NOT have more than 16384 characters/,
  ],
  [
    'a header value over 16 KiB',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.httpGet.httpHeaders = [{ name: 'X', value: 'v'.repeat(16 * 1024 + 1) }])),
    /value must NOT have more than 16384 characters/,
  ],
  [
    'a condition message over 32 KiB',
    'backupsessions.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 's' },
      spec: {},
      status: { conditions: [{ type: 'X', status: 'False', message: 'm'.repeat(32769) }] },
    },
    /message must NOT have more than 32768 characters/,
  ],
  [
    '65 conditions',
    'backupsessions.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 's' },
      spec: {},
      status: { conditions: Array.from({ length: 65 }, (_, i) => ({ type: `T${i}`, status: 'True' })) },
    },
    /conditions must NOT have more than 64 items/,
  ],
  ['a misspelt field', 'backupconfigurations.yaml', withPreBackup((h) => (h.timeoutSecond = 5)), /must NOT have additional properties/],
  ['executionPolicy on a pre hook', 'backupconfigurations.yaml', withPreBackup((h) => (h.executionPolicy = 'Always')), /must NOT have additional properties/],
  [
    'containerName that is no DNS label',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.containerName = 'My_Container')),
    /containerName must match pattern/,
  ],
  [
    'executionPolicy Sometimes',
    'backupconfigurations.yaml',
    (() => {
      const o = structuredClone(backupConfiguration) as Schema;
      o.spec.hooks.postBackup.executionPolicy = 'Sometimes';
      return o;
    })(),
    /executionPolicy must be equal to one of the allowed values/,
  ],
  [
    'timeOut that is no duration',
    'backupconfigurations.yaml',
    { ...backupConfiguration, spec: { ...backupConfiguration.spec, timeOut: '30 minutes' } },
    /timeOut must match pattern/,
  ],
  [
    'OnFinalRetryFailure on a restore',
    'restoresessions.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'r' },
      spec: { hooks: { postRestore: { executionPolicy: 'OnFinalRetryFailure', exec: { command: ['true'] } } } },
    },
    /executionPolicy must be equal to one of the allowed values/,
  ],
  [
    'executionOrder Random',
    'backupbatches.yaml',
    { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupBatch', metadata: { name: 'b' }, spec: { executionOrder: 'Random' } },
    /executionOrder must be equal to one of the allowed values/,
  ],
  [
    'an invoker of another kind',
    'backupsessions.yaml',
    { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: { name: 's' }, spec: { invoker: { kind: 'CronJob', name: 'x' } } },
    /kind must be equal to one of the allowed values/,
  ],
  [
    'a hook without any action (CEL)',
    'backupconfigurations.yaml',
    withPreBackup((h) => {
      for (const a of ['exec', 'httpGet', 'httpPost', 'tcpSocket']) delete h[a];
    }),
    /preBackup a hook needs at least one of exec, httpGet, httpPost or tcpSocket/,
  ],
  [
    'a header with value and valueFrom (CEL)',
    'backupconfigurations.yaml',
    withPreBackup((h) => (h.httpGet.httpHeaders[0].value = 'plain')),
    /httpHeaders\/0 set value or valueFrom, not both/,
  ],
  [
    'a batch member hook without any action (CEL)',
    'backupbatches.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupBatch',
      metadata: { name: 'b' },
      spec: {
        members: [
          { target: { ref: { kind: 'Deployment', name: 'a' } } },
          { target: { ref: { kind: 'Deployment', name: 'b' } }, hooks: { postBackup: { executionPolicy: 'Always' } } },
        ],
      },
    },
    /\/spec\/members\/1\/hooks\/postBackup a hook needs at least one of/,
  ],
  [
    'a condition status Maybe',
    'backupsessions.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 's' },
      spec: {},
      status: { conditions: [{ type: 'X', status: 'Maybe' }] },
    },
    /status must be equal to one of the allowed values/,
  ],
  [
    'a target phase Done',
    'backupsessions.yaml',
    {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 's' },
      spec: {},
      status: { targets: [{ ref: { kind: 'Deployment', name: 'a' }, phase: 'Done' }] },
    },
    /phase must be equal to one of the allowed values/,
  ],
];

for (const [what, file, obj, message] of rejected) {
  test(`rejected: ${what}`, () => {
    const found = problems(file, obj);
    assert.ok(found.length > 0, `${what} was accepted`);
    assert.ok(
      found.some((p) => message.test(p)),
      `${what}: expected ${message}, got ${found.join('; ')}`,
    );
  });
}

test.run();
