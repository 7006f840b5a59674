// The record outside Redis (issue 15, docs/reliability.md): before a hook's action starts its
// worker records in the session that it runs it (condition status Unknown, reason HookRunning,
// naming the worker). A job rebuilt after Redis lost everything finds that record and, while the
// worker's heartbeat Lease is live, waits for its outcome instead of running the hook again; when
// the worker is gone (SIGKILL) the hook runs again and its condition says why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startPipeline, appYaml, configAndSession, sinkPost, cond, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { HookWorkerPool } from '../../workers/hook-worker.js';
import { HOOK_QUEUES } from '../../shared/queues.js';
import type { BackupSession } from '../../shared/resources.js';
import { HEARTBEAT_LABEL } from '../../workers/worker-heartbeat.js';
import { BIN } from '../helpers/cli.js';

let p: Pipeline;
const children: ChildProcess[] = [];
test.before(async () => {
  p = await startPipeline({ roles: false, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await p?.close();
});

const preCondition = async (ns: string) =>
  cond(((await p.getSession('BackupSession', ns, 'cfg-1')) as BackupSession).status?.targets?.[0]?.conditions, 'PreBackupHookExecutionSucceeded');
const hits = (path: string) => p.sink.requests.filter((r) => r.path === path).length;

/** A hold on the sink for `path`: requests to it wait until `release()`. */
function hold(path: string): () => void {
  let release!: () => void;
  p.sink.holdFor.set(path, new Promise<void>((r) => (release = r)));
  return () => {
    p.sink.holdFor.delete(path);
    release();
  };
}

test('Redis loses every key while a long pre hook runs: the rebuilt job waits for the running worker, the hook runs once', async () => {
  const ns = 'runrec-loss';
  const release = hold(`/${ns}/pre`);
  const { workers } = p.startRoles();
  try {
    await p.apply(appYaml(ns, 'app'));
    await p.apply(configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`));
    await waitFor('the pre hook request', () => hits(`/${ns}/pre`) === 1);
    // What a user (or a rebuilt job) reads while the hook runs: who runs it, since when.
    const running = await preCondition(ns);
    assert.is(running?.status, 'Unknown');
    assert.is(running?.reason, 'HookRunning');
    assert.ok(
      (running?.message ?? '').startsWith(`Running preBackup hook: worker ${workers.worker}, attempt 1, started `),
      `${running?.message} names ${workers.worker}`,
    );

    assert.ok((await p.deleteRedisKeys()) > 0, 'there were keys to lose');
    // The watcher notices (marker key / resync, 2 s) and re-publishes; the coordinator rebuilds
    // the flow; the new pre job finds the HookRunning record of a live worker and waits.
    await new Promise((r) => setTimeout(r, 6000));
    assert.is(hits(`/${ns}/pre`), 1, 'the hook was not started a second time while its first run was in flight');
    release();
    const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1', 30_000)) as BackupSession;
    assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
    assert.equal(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
      status: 'True',
      reason: 'SuccessfullyExecutedPreBackupHook',
      message: 'Successfully executed preBackup hook.',
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.is(hits(`/${ns}/pre`), 1, 'the pre hook ran once');
    assert.is(hits(`/${ns}/post`), 1, 'the post hook ran once');
  } finally {
    release();
    await p.stopRoles();
  }
});

test('a worker SIGKILLed while its hook runs: another worker runs it again once the heartbeat Lease expires, and the condition says so', async () => {
  const ns = 'runrec-kill';
  const release = hold(`/${ns}/pre`);
  p.startRoles();
  // The hook workers here are a CLI process (to be SIGKILLed) and, later, an in-process pool.
  await p.workers!.close(1000);
  const doomed = spawn(process.execPath, [BIN, 'worker'], {
    env: {
      ...process.env,
      KUBECONFIG: p.cluster.kubeconfigPath,
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      STASH_HOOKS_PREFIX: p.prefix,
      STASH_HOOKS_HTTP_PORT: '0',
      POD_NAME: 'doomed-worker',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(doomed);
  let survivor: HookWorkerPool | undefined;
  try {
    await p.apply(appYaml(ns, 'app'));
    await p.apply(configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`));
    await waitFor('the pre hook request from the doomed worker', () => hits(`/${ns}/pre`) === 1, 60_000);
    const running = await preCondition(ns);
    const worker = /worker (doomed-worker\/[0-9a-f]+),/.exec(running?.message ?? '')?.[1];
    assert.ok(worker, `the HookRunning record names the doomed worker: ${JSON.stringify(running)}`);
    // Its heartbeat Lease exists while it lives.
    const leases = await p.kubeConfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: 'default', labelSelector: `${HEARTBEAT_LABEL}=true` });
    assert.ok(
      leases.items.some((l) => l.spec?.holderIdentity === worker),
      'the worker keeps a heartbeat Lease',
    );

    doomed.kill('SIGKILL');
    release();
    survivor = new HookWorkerPool({
      kubeConfig: p.kubeConfig,
      redis: p.redis,
      prefix: p.prefix,
      logger: p.logger,
      queues: HOOK_QUEUES,
      concurrency: 5,
      defaultHookTimeoutSeconds: 30,
      sessionTimeoutMs: 120_000,
      identity: 'survivor',
    });
    survivor.start();
    // BullMQ hands the job back after its lock lapses; the survivor waits until the doomed
    // worker's Lease has expired (15 s), then runs the hook again.
    const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1', 90_000)) as BackupSession;
    assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
    assert.equal(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
      status: 'True',
      reason: 'SuccessfullyExecutedPreBackupHook',
      message: `Successfully executed preBackup hook. (re-run: worker ${worker} stopped while the hook was running)`,
    });
    assert.is(hits(`/${ns}/pre`), 2, 'run once by the doomed worker, once more by the survivor');
    assert.is(hits(`/${ns}/post`), 1);
  } finally {
    release();
    if (doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
    await survivor?.close(1000);
    await p.stopRoles();
  }
});

test.run();
