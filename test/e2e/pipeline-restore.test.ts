// RestoreSession end to end (DESIGN §4–§5): preRestore → gate `ReadyForRestore` → the executor's
// restore → postRestore → final phase; a failed preRestore closes the gate and skips the rest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { RestoreSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

function restoreYaml(ns: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: restore-1, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preRestore: ${sinkPost(p.sink, `/${ns}/pre`)}
    postRestore: ${sinkPost(p.sink, `/${ns}/post`)}
`;
}

test('preRestore and postRestore run around the restore; ReadyForRestore True; Succeeded', async () => {
  await p.apply(appYaml('rok', 'app', { replicas: 2 }));
  await p.apply(restoreYaml('rok'));
  const s = (await p.waitForPhase('RestoreSession', 'rok', 'restore-1')) as RestoreSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const c = s.status?.conditions;
  assert.equal(cond(c, 'PreRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreRestoreHook',
    message: 'Successfully executed preRestore hook.',
  });
  assert.equal(cond(c, 'ReadyForRestore'), { status: 'True', reason: 'PreHookSucceeded', message: 'Ready for restore: the pre-restore hook succeeded.' });
  assert.equal(cond(c, 'PostRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostRestoreHook',
    message: 'Successfully executed postRestore hook.',
  });
  // Two replicas, one host: a Deployment restores in its leader replica only, as in Stash.
  assert.is(s.status?.totalHosts, 1);
  assert.equal(
    s.status?.stats?.map((h) => [h.hostname, h.phase]),
    [['host-0', 'Succeeded']],
  );

  const req = (path: string) => p.sink.requests.filter((r) => r.path === path);
  assert.is(req('/rok/pre').length, 1);
  assert.is(req('/rok/post').length, 1);
  const restoring = p.firstSeen('RestoreSession', 'rok', 'restore-1', (st) => (st as RestoreSession['status'])?.totalHosts !== undefined)!;
  const restored = p.firstSeen('RestoreSession', 'rok', 'restore-1', (st) => ((st as RestoreSession['status'])?.stats ?? []).length === 1)!;
  assert.ok(req('/rok/pre')[0].at < restoring, 'preRestore before the restore started');
  assert.ok(restored < req('/rok/post')[0].at, 'postRestore after every host reported');
  assert.is(req('/rok/post')[0].body, 'Succeeded');
});

test('a failed preRestore closes the gate: no restore, no postRestore, Failed', async () => {
  p.sink.statusFor.set('/rfail/pre', 500);
  await p.apply(appYaml('rfail', 'app'));
  await p.apply(restoreYaml('rfail'));
  const s = (await p.waitForPhase('RestoreSession', 'rfail', 'restore-1')) as RestoreSession;

  assert.is(s.status?.phase, 'Failed');
  const c = s.status?.conditions;
  assert.equal(cond(c, 'PreRestoreHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePreRestoreHook',
    message: `Failed to execute preRestore hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/rfail/pre returned 500`,
  });
  assert.equal(cond(c, 'ReadyForRestore'), { status: 'False', reason: 'PreHookFailed', message: 'Skipping restore: preRestore hook failed.' });
  assert.is(cond(c, 'PostRestoreHookExecutionSucceeded'), undefined);
  assert.ok(!p.history.some((o) => o.namespace === 'rfail' && (o.status as RestoreSession['status'])?.totalHosts !== undefined), 'the executor never started');
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/rfail/')).map((r) => r.path),
    ['/rfail/pre'],
  );
});

test('a restore whose host fails: postRestore runs and sees the host error; Failed', async () => {
  await p.apply(
    appYaml('rhost', 'app', {
      annotations: { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': 'snapshot not found' },
    }),
  );
  await p.apply(
    restoreYaml('rhost').replace(`path: "/rhost/post", body: '{{ .Status.Phase }}'`, `path: "/rhost/post", body: '{{ .Status.Phase }}: {{ .Status.Error }}'`),
  );
  const s = (await p.waitForPhase('RestoreSession', 'rhost', 'restore-1')) as RestoreSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(
    s.status?.stats?.map((h) => [h.phase, h.error]),
    [['Failed', 'snapshot not found']],
  );
  assert.is(cond(s.status?.conditions, 'ReadyForRestore')?.status, 'True');
  assert.is(cond(s.status?.conditions, 'PostRestoreHookExecutionSucceeded')?.status, 'True');
  assert.equal(
    p.sink.requests.filter((r) => r.path === '/rhost/post').map((r) => r.body),
    ['Failed: snapshot not found'],
  );
});

test.run();
