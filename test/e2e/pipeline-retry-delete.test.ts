// A hook's `maxRetry` (our addition, DESIGN §3) and a session deleted mid-run (DESIGN §6
// *session deleted*): retries are counted at the sink; a deleted session leaves no hook to run
// and no job parked until its deadline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Queue } from 'bullmq';
import { startPipeline, appYaml, cond, configAndSession, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { connectRedis } from '../../shared/redis.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ backupSeconds: 1.5, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

const paths = (ns: string) => p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => r.path);

test('maxRetry: a pre hook that fails twice and then succeeds is retried and recorded once, as a success', async () => {
  const ns = 'retryok';
  p.sink.sequenceFor.set(`/${ns}/pre`, [500, 503]);
  await p.apply(appYaml(ns, 'app'));
  await p.apply(
    configAndSession(
      ns,
      `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`, 'x', 'maxRetry: 2, retryDelaySeconds: 0')}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`,
    ),
  );
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreBackupHook',
    message: 'Successfully executed preBackup hook.',
  });
  assert.equal(paths(ns), [`/${ns}/pre`, `/${ns}/pre`, `/${ns}/pre`, `/${ns}/post`]);
});

test('maxRetry on a post hook (a flow child) retries it and the session still finalizes', async () => {
  const ns = 'retrypost';
  p.sink.sequenceFor.set(`/${ns}/post`, [502]);
  await p.apply(appYaml(ns, 'app'));
  await p.apply(configAndSession(ns, `    postBackup: ${sinkPost(p.sink, `/${ns}/post`, '{{ .Status.Phase }}', 'maxRetry: 3, retryDelaySeconds: 1')}`));
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.is(cond(s.status!.targets![0].conditions, 'PostBackupHookExecutionSucceeded')?.message, 'Successfully executed postBackup hook.');
  const posts = p.sink.requests.filter((r) => r.path === `/${ns}/post`);
  assert.is(posts.length, 2);
  assert.ok(posts[1].at - posts[0].at >= 1000, 'retryDelaySeconds was honoured');
});

test('maxRetry exhausted: 1 + maxRetry attempts, then the failure is final', async () => {
  const ns = 'retryfail';
  p.sink.statusFor.set(`/${ns}/pre`, 500);
  await p.apply(appYaml(ns, 'app'));
  await p.apply(
    configAndSession(
      ns,
      `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`, 'x', 'maxRetry: 1, retryDelaySeconds: 0')}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`,
    ),
  );
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePreBackupHook',
    message: `Failed to execute preBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${ns}/pre returned 500`,
  });
  assert.equal(paths(ns), [`/${ns}/pre`, `/${ns}/pre`]);
});

test('a session deleted while its backup runs: no post hook runs and no job waits for the deadline', async () => {
  const ns = 'deleted';
  await p.apply(appYaml(ns, 'app'));
  await p.apply(configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`));
  await waitFor('the backup to start', () =>
    p.firstSeen('BackupSession', ns, 'cfg-1', (st) => (st as BackupSession['status'])?.targets?.[0]?.phase === 'Running'),
  );
  await p.custom.deleteNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace: ns, plural: 'backupsessions', name: 'cfg-1' });

  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const post = new Queue('post-backup', { connection: client, prefix: p.prefix });
  const coordinator = new Queue('coordinator', { connection: client, prefix: p.prefix });
  try {
    // The post job was parked until the deadline (60 s here); deletion must settle it now.
    await waitFor(
      'the flow to drain',
      async () =>
        (await post.getDelayedCount()) + (await post.getWaitingCount()) + (await post.getActiveCount()) === 0 &&
        (await coordinator.getWaitingChildrenCount()) === 0,
      10_000,
    );
  } finally {
    await post.close();
    await coordinator.close();
    client.disconnect();
  }
  // Past the time the backup would have finished: still nothing but the pre hook.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(paths(ns), [`/${ns}/pre`]);
});

test('a session re-created under the same name is a new session: its hooks run again', async () => {
  const ns = 'recreated';
  await p.apply(appYaml(ns, 'app'));
  const yaml = configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`);
  await p.apply(yaml);
  const first = await p.waitForPhase('BackupSession', ns, 'cfg-1');
  assert.is(first.status?.phase, 'Succeeded');
  await p.custom.deleteNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace: ns, plural: 'backupsessions', name: 'cfg-1' });
  await waitFor(
    'the deletion',
    async () =>
      !(await p.custom.listNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace: ns, plural: 'backupsessions' })).items.length,
  );
  await p.apply(yaml.slice(yaml.lastIndexOf('---') + 3));
  await waitFor('the new session', async () => {
    const s = await p.getSession('BackupSession', ns, 'cfg-1').catch(() => undefined);
    return s && s.metadata.uid !== first.metadata.uid ? s : undefined;
  });
  const second = await p.waitForPhase('BackupSession', ns, 'cfg-1');
  assert.is(second.status?.phase, 'Succeeded');
  assert.is.not(second.metadata.uid, first.metadata.uid);
  assert.equal(paths(ns), [`/${ns}/pre`, `/${ns}/post`, `/${ns}/pre`, `/${ns}/post`]);
});

test.run();
