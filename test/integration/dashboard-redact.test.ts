// What the dashboard's redaction lets through: it runs on every job before it reaches a browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REDACTED, isSecretKey, redact, redactText } from '../../dashboard/redact.js';

const texts: Array<[string, string]> = [
  ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig', `Authorization: Bearer ${REDACTED}`],
  ['authorization=abc123', `authorization=${REDACTED}`],
  ['{"Authorization": "Basic dXNlcjpwYXNz"}', `{"Authorization": "Basic ${REDACTED}"}`],
  ['curl -H "authorization: token ghp_abcdef"', `curl -H "authorization: token ${REDACTED}"`],
  ['sent Bearer abcdefghij to the hook', `sent Bearer ${REDACTED} to the hook`],
  ['redis://:s3cret@redis:6379/0', `redis://:${REDACTED}@redis:6379/0`],
  ['GET https://admin:hunter2@db.demo.svc/flush returned 500', `GET https://admin:${REDACTED}@db.demo.svc/flush returned 500`],
  ['password=hunter2&user=x', `password=${REDACTED}&user=x`],
  ['token: abc123 and more', `token: ${REDACTED} and more`],
  ['api_key="k-123"', `api_key=${REDACTED}`],
  ['client_secret=xyz', `client_secret=${REDACTED}`],
];

test('credentials in free text are masked and the rest is kept', () => {
  for (const [input, expected] of texts) assert.is(redactText(input), expected, input);
});

test('ordinary output passes unchanged', () => {
  for (const text of ['HTTP 200 OK', 'flushed 3 tables in 41ms', 'tokenCount=5', 'basic checks passed', 'exit code 0']) {
    assert.is(redactText(text), text);
  }
});

test('secret keys, in any spelling', () => {
  for (const k of [
    'token',
    'accessToken',
    'x-auth-token',
    'password',
    'db_password',
    'Authorization',
    'apiKey',
    'API_KEY',
    'clientSecret',
    'cookie',
    'credentials',
    'privateKey',
    'auth',
  ]) {
    assert.ok(isSecretKey(k), k);
  }
  for (const k of ['tokenCount', 'name', 'namespace', 'message', 'output', 'author', 'passed', 'hosts']) assert.not.ok(isSecretKey(k), k);
});

test('objects: secret keys, header values and strings are masked; structure and the rest are kept', () => {
  const input = {
    session: { kind: 'BackupSession', namespace: 'demo', name: 'app-backup-1', uid: 'u' },
    hook: 'preBackup',
    accessToken: 'abc',
    nested: { password: 'p', tokenCount: 3, list: [{ apiKey: 'k' }, 'Bearer abcdefghij'] },
    httpHeaders: [
      { name: 'X-Api', value: 'v' },
      { name: 'Authorization', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ],
    headers: { 'content-type': 'application/json', cookie: 'c' },
    hosts: [{ where: 'demo/app-1', statusCode: 200, durationMs: 3, output: 'Authorization: Bearer abcdefghij' }],
    empty: null,
  };
  const before = structuredClone(input);
  assert.equal(redact(input), {
    session: input.session,
    hook: 'preBackup',
    accessToken: REDACTED,
    nested: { password: REDACTED, tokenCount: 3, list: [{ apiKey: REDACTED }, `Bearer ${REDACTED}`] },
    httpHeaders: [
      { name: 'X-Api', value: REDACTED },
      { name: 'Authorization', value: REDACTED },
    ],
    headers: { 'content-type': REDACTED, cookie: REDACTED },
    hosts: [{ where: 'demo/app-1', statusCode: 200, durationMs: 3, output: `Authorization: Bearer ${REDACTED}` }],
    empty: null,
  });
  assert.equal(input, before, 'the input is not modified');
});

test('cycles and deep nesting do not hang', () => {
  const a: Record<string, unknown> = { name: 'a' };
  a.self = a;
  assert.equal(redact(a), { name: 'a', self: '[…]' });
  let deep: Record<string, unknown> = { leaf: 'x' };
  for (let i = 0; i < 100; i++) deep = { next: deep };
  assert.ok(JSON.stringify(redact(deep)).includes('[…]'));
});

test.run();
