// Recovery (DESIGN §6): a watcher restart, or a restart of every role, mid-session still finishes
// the session — and no hook runs twice (counted at the sink). Redis losses: pipeline-redis-loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, applySinkSession, assertSinkSessionRanOnce, cond, waitFor, waitForSinkTarget, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';
import { Queue } from 'bullmq';
import { hookJobId, QueueName } from '../../shared/queues.js';
import { bullPrefix, createRedisClient } from '../../shared/redis.js';

let p: Pipeline;
test.before(async () => {
  // Slow enough backups that "mid-session" is a real window.
  p = await startPipeline({ backupSeconds: 1.5, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('the watcher restarts while the backup runs and completes: every hook ran once, Succeeded', async () => {
  const ns = 'wrestart';
  await applySinkSession(p, ns);
  await waitForSinkTarget(p, ns, 'Running');
  await p.stopWatcher();
  // The target completes while no watcher is looking; the new one must notice from its list.
  await waitForSinkTarget(p, ns, 'Succeeded');
  p.startWatcher();
  await assertSinkSessionRanOnce(p, ns);
});

test('every role restarts mid-session: every hook ran once, Succeeded', async () => {
  const ns = 'allrestart';
  await applySinkSession(p, ns);
  await waitForSinkTarget(p, ns, 'Running');
  await p.stopRoles();
  await waitForSinkTarget(p, ns, 'Succeeded');
  p.startRoles();
  await assertSinkSessionRanOnce(p, ns);
});

test('a worker that died after recording a failed pre hook (before its gate): the retry settles the session', async () => {
  const ns = 'diedafterpre';
  await p.stopRoles();
  await applySinkSession(p, ns);
  const s = await p.getSession('BackupSession', ns, 'cfg-1');
  const failed = {
    type: 'PreBackupHookExecutionSucceeded',
    status: 'False' as const,
    reason: 'FailedToExecutePreBackupHook',
    message: 'Failed to execute preBackup hook. Reason: exit code 1',
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  s.status = {
    phase: 'Running',
    targets: [{ ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: ns }, phase: 'Pending', conditions: [failed] }],
  };
  await p.custom.replaceNamespacedCustomObjectStatus({
    group: 'stash.appscode.com',
    version: 'v1beta1',
    namespace: ns,
    plural: 'backupsessions',
    name: 'cfg-1',
    body: s,
  });
  p.startRoles();

  // Settled well before the 60 s deadline: the recorded failure is acted on, not re-run.
  const done = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
  assert.is(done.status?.phase, 'Failed');
  const t = done.status!.targets![0];
  assert.equal(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.message, 'Failed to execute preBackup hook. Reason: exit code 1');
  assert.equal(cond(t.conditions, 'ReadyForBackup'), { status: 'False', reason: 'PreHookFailed', message: 'Skipping backup: preBackup hook failed.' });
  assert.is(t.phase, 'Failed');
  assert.is(t.totalHosts, undefined, 'no backup ran');
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)),
    [],
    'neither the recorded pre hook nor the post hook ran',
  );
});

test('a hook whose condition write fails after it ran: the retry records its outcome and does not run it again', async () => {
  const ns = 'writefails';
  const faults = (settings: Record<string, number>) => fetch(`${p.cluster.url}/debug/faults`, { method: 'PUT', body: JSON.stringify(settings) });
  let answer!: () => void;
  p.sink.holdFor.set(`/${ns}/pre`, new Promise<void>((r) => (answer = r)));
  await applySinkSession(p, ns);
  await waitFor('the pre hook at the sink', () => p.sink.requests.some((r) => r.path === `/${ns}/pre`));
  // The hook has run; every write the worker tries now answers 500, until its attempt fails.
  await faults({ writeErrorRate: 1 });
  answer();
  const uid = (await p.getSession('BackupSession', ns, 'cfg-1')).metadata.uid!;
  const connection = createRedisClient(p.redis, { purpose: 'worker' });
  const queue = new Queue(QueueName.preBackup, { connection, prefix: bullPrefix(p.prefix, p.redis) });
  try {
    const id = hookJobId({ session: { kind: 'BackupSession', namespace: ns, name: 'cfg-1', uid }, hook: 'preBackup', scope: 'local', targetIndex: 0 });
    const failed = await waitFor(
      'a failed attempt of the pre hook job',
      async () => ((await queue.getJob(id))?.attemptsMade ?? 0) >= 1 && (await queue.getJob(id))!,
      30_000,
    );
    assert.match(failed.failedReason, /500|Internal error/);
  } finally {
    await faults({ writeErrorRate: 0 });
    await queue.close();
    connection.disconnect();
  }
  await assertSinkSessionRanOnce(p, ns);
});

test.run();
