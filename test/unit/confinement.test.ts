// The pure parts of confinement and bounding (DESIGN §11): the opt-in annotation's parsing, the
// namespace a hook points at, a 403 from the API server, the fan-out failure list, and the
// condition message cap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundMessage, hookCondition, MAX_CONDITION_MESSAGE_BYTES } from '../../shared/conditions.js';
import { listFailures } from '../../workers/execution/fan-out.js';
import { readOrUndefined } from '../../workers/execution/kube-read.js';
import { boundOutputs, CappedBuffer, redact } from '../../workers/execution/output.js';
import { parseAllowedSources, placementNamespace } from '../../workers/execution/namespace-guard.js';
import type { HookContext } from '../../workers/execution/types.js';

test('the opt-in annotation: a comma-separated list with spaces, or *', () => {
  assert.equal([...parseAllowedSources(' team-a, team-b ,,').names], ['team-a', 'team-b']);
  assert.is(parseAllowedSources('team-a').any, false);
  assert.is(parseAllowedSources('team-a,*').any, true);
  assert.equal([...parseAllowedSources(undefined).names], []);
});

test("the namespace a hook points at: executor.pod.namespace, else the target's, else the session's", () => {
  const ctx = { namespace: 'tenant', hookName: 'preBackup', scope: 'local' } as HookContext;
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'db' };
  assert.equal(placementNamespace({ executor: { pod: { selector: 'a=b', namespace: 'other' } } }, ctx), {
    namespace: 'other',
    field: 'executor.pod.namespace',
  });
  assert.equal(placementNamespace({ executor: { pod: { selector: 'a=b' } } }, ctx).namespace, 'tenant');
  assert.equal(placementNamespace({}, { ...ctx, target: { ...ref, namespace: 'far' } }), { namespace: 'far', field: 'target Deployment far/db' });
  assert.equal(placementNamespace({}, { ...ctx, target: ref }).namespace, 'tenant');
  assert.equal(placementNamespace({}, { ...ctx, target: undefined }), { namespace: 'tenant', field: 'the session' });
});

test("a 403 is the hook's failure naming what and the tenant grant; a 500 stays infrastructure", async () => {
  const apiError = (code: number, message: string) =>
    Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify({ kind: 'Status', message }) });
  const denied = await readOrUndefined(() => Promise.reject(apiError(403, 'secrets "db" is forbidden')), 'Secret team-a/db').then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  assert.is(denied?.code, 'ERR_TARGET');
  assert.is(
    denied?.message,
    'stash-hooks\' worker may not read Secret team-a/db (403 Forbidden: secrets "db" is forbidden); a platform admin grants a tenant namespace in k8s-manifests/components/tenant-namespaces (docs/security.md)',
  );
  const down = await readOrUndefined(() => Promise.reject(apiError(500, 'etcd down')), 'Secret team-a/db').then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  assert.is(down?.code, 'ERR_KUBERNETES');
  assert.is(await readOrUndefined(() => Promise.reject(apiError(404, 'not found')), 'Secret team-a/db'), undefined);
});

test('a failure list stops at its budget and counts the rest', () => {
  assert.is(listFailures(['a', 'b']), 'a; b');
  const reasons = Array.from({ length: 50 }, (_, i) => `host-${i} ${'x'.repeat(990)}`);
  const out = listFailures(reasons, 16 * 1024);
  assert.ok(Buffer.byteLength(out) <= 16 * 1024 + 40, `${Buffer.byteLength(out)} bytes`);
  assert.match(out, /; … and 34 more hosts$/);
  assert.is(listFailures(['one', 'x'.repeat(100)], 50), 'one; … and 1 more host');
  // A single huge reason is cut rather than dropped: a message never lists no host at all.
  assert.match(listFailures(['y'.repeat(100_000)], 1000), /^y{250}…$/);
});

test('condition messages are cut at 32 KiB in bytes, never inside a character', () => {
  const long = `${'€'.repeat(20_000)}end`;
  const c = hookCondition('preBackup', 'local', { kind: 'failed', error: long });
  assert.ok(Buffer.byteLength(c.message!) <= MAX_CONDITION_MESSAGE_BYTES);
  assert.match(c.message!, /€ … \(\d+ bytes, cut to 32768\)$/);
  assert.not.match(c.message!, '\uFFFD');
  assert.is(boundMessage('short'), 'short');
  assert.is(boundMessage('abcdef', 4).length <= 4, true);
});

test('a hook keeps at most its output budget across all hosts, in host order', () => {
  const hosts = Array.from({ length: 10 }, (_, i) => ({ where: `pod-${i}`, output: 'o'.repeat(10 * 1024) }));
  const kept = boundOutputs(hosts, 64 * 1024);
  assert.equal(
    kept.map((h) => h.where),
    hosts.map((h) => h.where),
  );
  assert.is(kept.filter((h) => h.output.length === 10 * 1024).length, 6);
  assert.is(kept[6].output, "[10240 bytes of output not kept: the hook's 65536-byte output budget is used up]");
  assert.ok(kept.reduce((n, h) => n + Buffer.byteLength(h.output), 0) <= 64 * 1024 + 4 * 100);
});

test('a secret cut by the output cap is redacted too; short common starts are left alone', () => {
  const secret = 'hunter2-correct-horse';
  const buf = new CappedBuffer(28);
  buf.push(`token is ${secret} and more`);
  assert.is(buf.toString(), 'token is hunter2-correct-hor');
  assert.is(redact(buf.toString(), [secret]), 'token is [REDACTED]');
  assert.is(redact(`a ${secret} b ${secret}`, [secret]), 'a [REDACTED] b [REDACTED]');
  assert.is(redact('ends with hun', [secret]), 'ends with hun');
});

test.run();
