// Recovery (DESIGN §6): a watcher restart, or a restart of every role, mid-session still finishes
// the session — and no hook runs twice (counted at the sink). Redis losses: pipeline-redis-loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, applySinkSession, assertSinkSessionRanOnce, cond, waitForSinkTarget, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  // Slow enough backups that "mid-session" is a real window.
  p = await startPipeline({ backupSeconds: 1.5, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

const startSession = (ns: string) => applySinkSession(p, ns);


test('the watcher restarts while the backup runs and completes: every hook ran once, Succeeded', async () => {
  const ns = 'wrestart';
  await startSession(ns);
  await waitForSinkTarget(p, ns, 'Running');
  await p.stopWatcher();
  // The target completes while no watcher is looking; the new one must notice from its list.
  await waitForSinkTarget(p, ns, 'Succeeded');
  p.startWatcher();
  await assertSinkSessionRanOnce(p, ns);
});

test('every role restarts mid-session: every hook ran once, Succeeded', async () => {
  const ns = 'allrestart';
  await startSession(ns);
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
  const failed = { type: 'PreBackupHookExecutionSucceeded', status: 'False' as const, reason: 'FailedToExecutePreBackupHook', message: 'Failed to execute preBackup hook. Reason: exit code 1', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  s.status = { phase: 'Running', targets: [{ ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: ns }, phase: 'Pending', conditions: [failed] }] };
  await p.custom.replaceNamespacedCustomObjectStatus({ group: 'stash.appscode.com', version: 'v1beta1', namespace: ns, plural: 'backupsessions', name: 'cfg-1', body: s });
  p.startRoles();

  // Settled well before the 60 s deadline: the recorded failure is acted on, not re-run.
  const done = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
  assert.is(done.status?.phase, 'Failed');
  const t = done.status!.targets![0];
  assert.equal(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.message, 'Failed to execute preBackup hook. Reason: exit code 1');
  assert.equal(cond(t.conditions, 'ReadyForBackup'), { status: 'False', reason: 'PreHookFailed', message: 'Skipping backup: preBackup hook failed.' });
  assert.is(t.phase, 'Failed');
  assert.is(t.totalHosts, undefined, 'no backup ran');
  assert.equal(p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)), [], 'neither the recorded pre hook nor the post hook ran');
});

test.run();
