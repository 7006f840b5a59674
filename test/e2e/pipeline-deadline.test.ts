// The session deadline (DESIGN §5): a backup slower than the invoker's `spec.timeOut` is failed
// by stash-hooks, `DeadlineExceeded` is recorded, and the post hook still runs, seeing Failed.
// Its own pipeline: the executor here takes BACKUP_SECONDS per backup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession, RestoreSession } from '../../shared/resources.js';

const BACKUP_SECONDS = 4;

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ backupSeconds: BACKUP_SECONDS, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('a backup that outlives spec.timeOut: DeadlineExceeded, target Failed, post hook runs with Failed', async () => {
  await p.apply(appYaml('slow', 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: slow}
spec:
  timeOut: 2s
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkPost(p.sink, '/slow/pre')}
    postBackup: ${sinkPost(p.sink, '/slow/post', '{{ .Status.Phase }}', 'executionPolicy: OnFailure')}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: slow}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
  const s = (await p.waitForPhase('BackupSession', 'slow', 'cfg-1', 9_000)) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(cond(s.status?.conditions, 'DeadlineExceeded'), {
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete backup within 2s.',
  });
  const t = s.status!.targets![0];
  assert.ok(
    p.firstSeen('BackupSession', 'slow', 'cfg-1', (st) => (st as BackupSession['status'])?.targets?.[0]?.phase === 'Running'),
    'the executor had started',
  );
  assert.is(t.phase, 'Failed');
  assert.is(t.stats, undefined, 'the executor had not finished');
  assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Successfully executed postBackup hook.',
  });
  assert.equal(
    p.sink.requests.map((r) => `${r.path} ${r.body}`),
    ['/slow/pre Succeeded', '/slow/post Failed'],
  );
});

test('a BackupBatch past its deadline: every member Failed, local and global post hooks run with Failed', async () => {
  await p.apply(appYaml('slowbatch', 'a'));
  const b = appYaml('slowbatch', 'b');
  await p.apply(b.slice(b.indexOf('---') + 3));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: slowbatch}
spec:
  timeOut: 2s
  hooks:
    postBackup: ${sinkPost(p.sink, '/slowbatch/global/post')}
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: a}}
      hooks:
        postBackup: ${sinkPost(p.sink, '/slowbatch/m0/post', '{{ .Status.Phase }}', 'executionPolicy: OnFailure')}
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: b}}
      hooks:
        postBackup: ${sinkPost(p.sink, '/slowbatch/m1/post', '{{ .Status.Phase }}', 'executionPolicy: OnSuccess')}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: slowbatch}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`);
  const s = (await p.waitForPhase('BackupSession', 'slowbatch', 'batch-1', 9_000)) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(cond(s.status?.conditions, 'DeadlineExceeded'), {
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete backup within 2s.',
  });
  assert.equal(
    s.status!.targets!.map((t) => t.phase),
    ['Failed', 'Failed'],
  );
  assert.is(cond(s.status!.targets![0].conditions, 'PostBackupHookExecutionSucceeded')?.message, 'Successfully executed postBackup hook.');
  assert.is(
    cond(s.status!.targets![1].conditions, 'PostBackupHookExecutionSucceeded')?.message,
    'Skipping executing postBackup. Reason: executionPolicy is "OnSuccess" but phase is "Failed".',
  );
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded')?.status, 'True');
  const seen = p.sink.requests.filter((r) => r.path.startsWith('/slowbatch/')).map((r) => `${r.path} ${r.body}`);
  assert.equal(seen, ['/slowbatch/m0/post Failed', '/slowbatch/global/post Failed']);
});

test('a Sequential batch past its deadline: the next member is never released, every member Failed, nothing hangs', async () => {
  await p.apply(appYaml('slowseq', 'a'));
  const b = appYaml('slowseq', 'b');
  await p.apply(b.slice(b.indexOf('---') + 3));
  const member = (app: string, i: number) => `
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: ${app}}}
      hooks:
        preBackup: ${sinkPost(p.sink, `/slowseq/m${i}/pre`)}
        postBackup: ${sinkPost(p.sink, `/slowseq/m${i}/post`)}`;
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: slowseq}
spec:
  timeOut: 2s
  executionOrder: Sequential
  members:${member('a', 0)}${member('b', 1)}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: slowseq}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`);
  const s = (await p.waitForPhase('BackupSession', 'slowseq', 'batch-1', 9_000)) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.is(cond(s.status?.conditions, 'DeadlineExceeded')?.message, 'Failed to complete backup within 2s.');
  assert.equal(
    s.status!.targets!.map((t) => t.phase),
    ['Failed', 'Failed'],
  );
  assert.is(cond(s.status!.targets![1].conditions, 'ReadyForBackup'), undefined, 'member 1 was never released');
  assert.is(
    p.firstSeen('BackupSession', 'slowseq', 'batch-1', (st) => (st as BackupSession['status'])?.targets?.[1]?.phase === 'Running'),
    undefined,
  );
  const seen = p.sink.requests.filter((r) => r.path.startsWith('/slowseq/')).map((r) => `${r.path} ${r.body}`);
  assert.equal(seen.slice(0, 1), ['/slowseq/m0/pre Succeeded']);
  assert.equal(seen.slice(1).sort(), ['/slowseq/m0/post Failed', '/slowseq/m1/post Failed']);
});

test('a RestoreSession past its deadline: DeadlineExceeded (restore), postRestore runs with Failed', async () => {
  await p.apply(appYaml('slowrestore', 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: restore-1, namespace: slowrestore}
spec:
  timeOut: 2s
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    postRestore: ${sinkPost(p.sink, '/slowrestore/post', '{{ .Status.Phase }}: {{ .Status.Error }}')}
`);
  const s = (await p.waitForPhase('RestoreSession', 'slowrestore', 'restore-1', 9_000)) as RestoreSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(cond(s.status?.conditions, 'DeadlineExceeded'), {
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete restore within 2s.',
  });
  assert.is(cond(s.status?.conditions, 'PostRestoreHookExecutionSucceeded')?.message, 'Successfully executed postRestore hook.');
  const posted = p.sink.requests.filter((r) => r.path === '/slowrestore/post').map((r) => r.body);
  assert.equal(posted, ['Failed: Failed to complete restore within 2s.'], 'the summary carries the deadline as the error');
});

test.run();
