import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateHandler, validateHooks, validateInvoker, isIanaPortName } from '../../shared/hook-spec.js';

const pre = (h: unknown, scope: 'local' | 'global' = 'local') => validateHandler(h, 'spec.hooks.preBackup', { hook: 'preBackup', scope });
const post = (h: unknown) => validateHandler(h, 'spec.hooks.postBackup', { hook: 'postBackup' });
const postRestore = (h: unknown) => validateHandler(h, 'spec.hooks.postRestore', { hook: 'postRestore' });

// Each row: a bad hook and the exact problems a user must see.
const BAD: Array<[string, string[], string[]]> = [
  ['not an object', pre('curl'), ['spec.hooks.preBackup: must be an object with one of exec, httpGet, httpPost or tcpSocket']],
  ['a list', pre([]), ['spec.hooks.preBackup: must be an object with one of exec, httpGet, httpPost or tcpSocket']],
  ['no action', pre({}), ['spec.hooks.preBackup: no action set (exec, httpGet, httpPost or tcpSocket)']],
  ['only a container name', pre({ containerName: 'app' }), ['spec.hooks.preBackup: no action set (exec, httpGet, httpPost or tcpSocket)']],
  [
    'misspelt action',
    pre({ execs: { command: ['true'] } }),
    [
      'spec.hooks.preBackup.execs: unknown field; expected one of exec, httpGet, httpPost, tcpSocket, containerName, timeoutSeconds, maxRetry, retryDelaySeconds, insecureSkipTLSVerify, executor, executionPolicy',
      'spec.hooks.preBackup: no action set (exec, httpGet, httpPost or tcpSocket)',
    ],
  ],
  ['exec not an object', pre({ exec: 'true' }), ['spec.hooks.preBackup.exec: must be an object with command']],
  ['exec without command', pre({ exec: {} }), ['spec.hooks.preBackup.exec.command: must be a non-empty list of strings']],
  ['exec empty command', pre({ exec: { command: [] } }), ['spec.hooks.preBackup.exec.command: must be a non-empty list of strings']],
  ['exec command a string', pre({ exec: { command: 'echo hi' } }), ['spec.hooks.preBackup.exec.command: must be a non-empty list of strings']],
  ['exec command number element', pre({ exec: { command: ['sleep', 5] } }), ['spec.hooks.preBackup.exec.command[1]: must be a string']],
  ['exec empty program', pre({ exec: { command: ['', 'x'] } }), ['spec.hooks.preBackup.exec.command[0]: the program must not be empty']],
  ['httpGet port missing', pre({ httpGet: { host: 'a.b' } }), ['spec.hooks.preBackup.httpGet.port: required (1-65535 or an IANA port name)']],
  ['httpGet port 0', pre({ httpGet: { port: 0 } }), ['spec.hooks.preBackup.httpGet.port: must be 1-65535 or an IANA port name']],
  ['httpPost port 70000', post({ httpPost: { port: 70000 } }), ['spec.hooks.postBackup.httpPost.port: must be 1-65535 or an IANA port name']],
  ['port 8.5', pre({ httpGet: { port: 8.5 } }), ['spec.hooks.preBackup.httpGet.port: must be 1-65535 or an IANA port name']],
  ['port numeric string 0', pre({ httpGet: { port: '0' } }), ['spec.hooks.preBackup.httpGet.port: must be 1-65535 or an IANA port name']],
  ['port numeric string 70000', pre({ tcpSocket: { port: '70000' } }), ['spec.hooks.preBackup.tcpSocket.port: must be 1-65535 or an IANA port name']],
  ['port name too long', pre({ tcpSocket: { port: 'a-very-long-port-name' } }), ['spec.hooks.preBackup.tcpSocket.port: must be 1-65535 or an IANA port name']],
  ['port name with double dash', pre({ tcpSocket: { port: 'my--port' } }), ['spec.hooks.preBackup.tcpSocket.port: must be 1-65535 or an IANA port name']],
  ['port name upper case', pre({ tcpSocket: { port: 'HTTP' } }), ['spec.hooks.preBackup.tcpSocket.port: must be 1-65535 or an IANA port name']],
  [
    'host with scheme',
    pre({ httpGet: { host: 'http://x.y', port: 80 } }),
    ['spec.hooks.preBackup.httpGet.host: "http://x.y" must be a host name or IP address without scheme or path (use scheme and path)'],
  ],
  ['host with space', pre({ httpGet: { host: 'a b', port: 80 } }), ['spec.hooks.preBackup.httpGet.host: "a b" is not a host name or IP address']],
  ['host a number', pre({ tcpSocket: { host: 5, port: 80 } }), ['spec.hooks.preBackup.tcpSocket.host: must be a string']],
  ['bad scheme', pre({ httpGet: { port: 80, scheme: 'FTP' } }), ['spec.hooks.preBackup.httpGet.scheme: "FTP" is not one of HTTP, HTTPS']],
  ['path a number', pre({ httpGet: { port: 80, path: 5 } }), ['spec.hooks.preBackup.httpGet.path: must be a string']],
  [
    'body on httpGet',
    pre({ httpGet: { port: 80, body: 'x' } }),
    ['spec.hooks.preBackup.httpGet.body: unknown field; expected one of host, port, path, scheme, httpHeaders'],
  ],
  [
    'headers not a list',
    post({ httpPost: { port: 80, httpHeaders: { a: 'b' } } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders: must be a list of {name, value} or {name, valueFrom}'],
  ],
  ['header without name', post({ httpPost: { port: 80, httpHeaders: [{ value: 'x' }] } }), ['spec.hooks.postBackup.httpPost.httpHeaders[0].name: required']],
  [
    'header bad name',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X Token', value: 'x' }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0].name: "X Token" is not a valid HTTP header name'],
  ],
  [
    'header without value',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A' }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0]: set value or valueFrom.secretKeyRef'],
  ],
  [
    'header value and valueFrom',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0]: set value or valueFrom, not both'],
  ],
  [
    'valueFrom without secretKeyRef',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', valueFrom: { configMapKeyRef: {} } }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0].valueFrom: must be {secretKeyRef: {name, key}}'],
  ],
  [
    'secretKeyRef without key',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', valueFrom: { secretKeyRef: { name: 'slack' } } }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0].valueFrom.secretKeyRef.key: required, a key of the Secret'],
  ],
  [
    'secretKeyRef in another namespace',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', valueFrom: { secretKeyRef: { name: 'slack', key: 'k', namespace: 'victim' } } }] } }),
    ["spec.hooks.postBackup.httpPost.httpHeaders[0].valueFrom.secretKeyRef.namespace: not allowed; a hook reads Secrets only from its session's namespace"],
  ],
  [
    'secretKeyRef unknown field',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', valueFrom: { secretKeyRef: { name: 'slack', key: 'k', optional: true } } }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0].valueFrom.secretKeyRef.optional: unknown field; expected one of name, key'],
  ],
  [
    'header value a number',
    post({ httpPost: { port: 80, httpHeaders: [{ name: 'X-A', value: 5 }] } }),
    ['spec.hooks.postBackup.httpPost.httpHeaders[0].value: must be a string'],
  ],
  ['body not a string', post({ httpPost: { port: 80, body: { a: 1 } } }), ['spec.hooks.postBackup.httpPost.body: must be a string']],
  ['form not a list', post({ httpPost: { port: 80, form: { a: 'b' } } }), ['spec.hooks.postBackup.httpPost.form: must be a list of {key, values}']],
  ['form entry without key', post({ httpPost: { port: 80, form: [{ values: ['x'] }] } }), ['spec.hooks.postBackup.httpPost.form[0].key: required']],
  [
    'form values a string',
    post({ httpPost: { port: 80, form: [{ key: 'a', values: 'x' }] } }),
    ['spec.hooks.postBackup.httpPost.form[0].values: must be a list of strings'],
  ],
  ['tcpSocket a string', pre({ tcpSocket: 'db:5432' }), ['spec.hooks.preBackup.tcpSocket: must be an object with host and port']],
  ['tcpSocket path', pre({ tcpSocket: { port: 5432, path: '/' } }), ['spec.hooks.preBackup.tcpSocket.path: unknown field; expected one of host, port']],
  [
    'container name invalid',
    pre({ exec: { command: ['true'] }, containerName: 'My_App' }),
    ['spec.hooks.preBackup.containerName: "My_App" is not a container name (a DNS label)'],
  ],
  ['timeout 0', pre({ exec: { command: ['true'] }, timeoutSeconds: 0 }), ['spec.hooks.preBackup.timeoutSeconds: must be an integer 1-86400']],
  ['timeout string', pre({ exec: { command: ['true'] }, timeoutSeconds: '30s' }), ['spec.hooks.preBackup.timeoutSeconds: must be an integer 1-86400']],
  ['maxRetry negative', pre({ exec: { command: ['true'] }, maxRetry: -1 }), ['spec.hooks.preBackup.maxRetry: must be an integer 0-100']],
  [
    'retry delay too long',
    pre({ exec: { command: ['true'] }, retryDelaySeconds: 7200 }),
    ['spec.hooks.preBackup.retryDelaySeconds: must be an integer 0-3600'],
  ],
  ['insecure as string', pre({ httpGet: { port: 443 }, insecureSkipTLSVerify: 'yes' }), ['spec.hooks.preBackup.insecureSkipTLSVerify: must be true or false']],
  [
    'executor without pod',
    pre({ exec: { command: ['true'] }, executor: {} }),
    ['spec.hooks.preBackup.executor.pod: required, {selector, strategy, namespace}'],
  ],
  [
    'executor without selector',
    pre({ exec: { command: ['true'] }, executor: { pod: {} } }),
    ['spec.hooks.preBackup.executor.pod.selector: required, a label selector such as app=mysql'],
  ],
  [
    'executor bad selector',
    pre({ exec: { command: ['true'] }, executor: { pod: { selector: 'app==' + '(x' } } }),
    ['spec.hooks.preBackup.executor.pod.selector: "app==(x" is not a label selector'],
  ],
  [
    'executor bad strategy',
    pre({ exec: { command: ['true'] }, executor: { pod: { selector: 'app=db', strategy: 'ExecuteOnSome' } } }),
    ['spec.hooks.preBackup.executor.pod.strategy: "ExecuteOnSome" is not one of ExecuteOnOne, ExecuteOnAll'],
  ],
  [
    'executor bad namespace',
    pre({ exec: { command: ['true'] }, executor: { pod: { selector: 'app=db', namespace: 'Demo' } } }),
    ['spec.hooks.preBackup.executor.pod.namespace: "Demo" is not a namespace name'],
  ],
  [
    'policy on a pre hook',
    pre({ exec: { command: ['true'] }, executionPolicy: 'Always' }),
    ['spec.hooks.preBackup.executionPolicy: only postBackup and postRestore hooks have an executionPolicy'],
  ],
  [
    'unknown policy',
    post({ exec: { command: ['true'] }, executionPolicy: 'Sometimes' }),
    ['spec.hooks.postBackup.executionPolicy: "Sometimes" is not one of Always, OnSuccess, OnFailure, OnFinalRetryFailure'],
  ],
  [
    'final-retry policy on restore',
    postRestore({ exec: { command: ['true'] }, executionPolicy: 'OnFinalRetryFailure' }),
    ['spec.hooks.postRestore.executionPolicy: "OnFinalRetryFailure" is not one of Always, OnSuccess, OnFailure'],
  ],
  [
    'global exec without executor',
    pre({ exec: { command: ['true'] } }, 'global'),
    ["spec.hooks.preBackup.exec: a global hook runs in no target's pods; set executor.pod to choose them"],
  ],
  ['global http without host', pre({ httpGet: { port: 80 } }, 'global'), ['spec.hooks.preBackup.httpGet.host: a global hook needs host (or executor.pod)']],
  [
    'every problem at once',
    post({ httpPost: { port: 0, scheme: 'FTP' }, timeoutSeconds: -5, executionPolicy: 'Never' }),
    [
      'spec.hooks.postBackup.httpPost.port: must be 1-65535 or an IANA port name',
      'spec.hooks.postBackup.httpPost.scheme: "FTP" is not one of HTTP, HTTPS',
      'spec.hooks.postBackup.timeoutSeconds: must be an integer 1-86400',
      'spec.hooks.postBackup.executionPolicy: "Never" is not one of Always, OnSuccess, OnFailure, OnFinalRetryFailure',
    ],
  ],
];

for (const [name, got, want] of BAD) {
  test(`bad hook: ${name}`, () => {
    assert.equal(got, want);
  });
}

test('at least 30 bad hooks are covered', () => {
  assert.ok(BAD.length >= 30, `only ${BAD.length}`);
});

test("the seed's Slack postBackup example is valid", () => {
  const slack = {
    executionPolicy: 'OnFailure',
    httpPost: {
      host: 'hooks.slack.com',
      path: '/services/XX/XXX/XXXX',
      port: 443,
      scheme: 'HTTPS',
      httpHeaders: [{ name: 'Content-Type', value: 'application/json' }],
      body: '{{- $msg := dict "type" "mrkdwn" -}}\n{"blocks": []}',
    },
  };
  assert.equal(post(slack), []);
});

test('every action type, a named port, executor and our additions are valid', () => {
  assert.equal(
    pre({ exec: { command: ['/bin/sh', '-c', 'mysqldump > /tmp/x'] }, containerName: 'mysql', timeoutSeconds: 60, maxRetry: 2, retryDelaySeconds: 5 }),
    [],
  );
  assert.equal(pre({ httpGet: { port: 'http', path: '/ready', scheme: '' } }), []);
  assert.equal(
    pre({
      httpGet: {
        host: '10.0.0.1',
        port: 8080,
        scheme: 'HTTPS',
        httpHeaders: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'api-token', key: 'token' } } }],
      },
      insecureSkipTLSVerify: true,
    }),
    [],
  );
  assert.equal(post({ httpPost: { host: 'sink.demo.svc', port: 8080, form: [{ key: 'a', values: ['1', '2'] }] }, executionPolicy: 'OnFinalRetryFailure' }), []);
  assert.equal(pre({ tcpSocket: { host: 'db.demo.svc.cluster.local', port: 5432 } }), []);
  assert.equal(
    pre(
      { exec: { command: ['true'] }, executor: { pod: { selector: 'app=db,tier in (a, b),!canary', strategy: 'ExecuteOnAll', namespace: 'demo' } } },
      'global',
    ),
    [],
  );
  assert.equal(pre({ httpGet: { host: '[::1]', port: 80 } }, 'global'), []);
});

test('lower-case (any-case) schemes and numeric-string ports are valid, as in Stash', () => {
  assert.equal(pre({ httpGet: { host: 'a.b', port: '8080', scheme: 'http' } }), []);
  assert.equal(post({ httpPost: { host: 'a.b', port: '443', scheme: 'https' } }), []);
  assert.equal(pre({ httpGet: { host: 'a.b', port: 65535, scheme: 'Https' } }), []);
  assert.equal(pre({ tcpSocket: { host: 'a.b', port: '5432' } }), []);
  assert.equal(pre({ httpGet: { host: 'a.b', port: '080' } }), ['spec.hooks.preBackup.httpGet.port: must be 1-65535 or an IANA port name']);
});

test('IANA port names follow Kubernetes IsValidPortName', () => {
  for (const ok of ['http', 'metrics', 'h2c', 'a-b-c', 'x1']) assert.ok(isIanaPortName(ok), ok);
  for (const bad of ['', '80', '-http', 'http-', 'a--b', 'Http', 'sixteen-chars-xx']) assert.not.ok(isIanaPortName(bad), bad);
});

test('validateHooks reports hooks of the wrong kind and validates each phase', () => {
  assert.equal(validateHooks({ preRestore: { exec: { command: ['true'] } } }, 'spec.hooks', 'backup'), [
    'spec.hooks.preRestore: unknown field; expected one of preBackup, postBackup',
  ]);
  assert.equal(validateHooks({ postRestore: { exec: {} } }, 'spec.hooks', 'restore'), [
    'spec.hooks.postRestore.exec.command: must be a non-empty list of strings',
  ]);
  assert.equal(validateHooks(undefined, 'spec.hooks', 'restore'), []);
});

test('validateInvoker checks targets, timeOut, executionOrder and global hooks of a batch', () => {
  const batch = {
    kind: 'BackupBatch',
    spec: {
      executionOrder: 'Random',
      timeOut: '30 minutes',
      hooks: { preBackup: { httpGet: { port: 80 } } },
      members: [
        {
          target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'a' } },
          hooks: { postBackup: { exec: { command: ['true'] }, executionPolicy: 'OnSuccess' } },
        },
        { hooks: {} },
      ],
    },
  };
  assert.equal(validateInvoker(batch), [
    'spec.timeOut: "30 minutes" is not a duration such as 30m, 2h or 1h30m',
    'spec.executionOrder: "Random" is not one of Parallel, Sequential',
    'spec.members[1].target.ref: required, {apiVersion, kind, name}',
    'spec.hooks.preBackup.httpGet.host: a global hook needs host (or executor.pod)',
  ]);
  assert.equal(
    validateInvoker({ kind: 'BackupConfiguration', spec: { target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } }, timeOut: '1h30m' } }),
    [],
  );
  assert.equal(validateInvoker({ kind: 'RestoreSession', spec: { target: { ref: { kind: 'AppBinding' } } } }), ['spec.target.ref.name: required']);
  assert.equal(validateInvoker({ kind: 'CronJob', spec: {} }), ['kind: "CronJob" is not one of BackupConfiguration, BackupBatch, RestoreSession']);
});

test('a template checker, when given, reports templated fields by path', () => {
  const checkTemplate = (src: string) => (src.includes('{{') && !src.includes('}}') ? 'unclosed {{' : undefined);
  const got = validateHandler({ httpPost: { port: 80, path: '/x/{{ Name', body: 'ok', httpHeaders: [{ name: 'A', value: '{{' }] } }, 'spec.hooks.postBackup', {
    hook: 'postBackup',
    checkTemplate,
  });
  assert.equal(got, ['spec.hooks.postBackup.httpPost.path: unclosed {{', 'spec.hooks.postBackup.httpPost.httpHeaders[0].value: unclosed {{']);
});

test.run();
