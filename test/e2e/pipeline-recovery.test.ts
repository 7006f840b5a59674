// Recovery (DESIGN §6): Kubernetes status is the truth, Redis the fast path. A watcher restart
// or a restart of every role mid-session, and a Redis that lost every key of this pipeline
// mid-session, still finish the session — and no hook runs twice (counted at the sink).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { FlowProducer } from 'bullmq';
import { postFlow } from '../../workers/flow-plan.js';
import { connectRedis } from '../../shared/redis.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  // Slow enough backups that "mid-session" is a real window.
  p = await startPipeline({ backupSeconds: 1.5, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

async function startSession(ns: string): Promise<void> {
  await p.apply(appYaml(ns, 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}
    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
}

const phaseOf = (st: unknown) => (st as BackupSession['status'])?.targets?.[0]?.phase;

async function waitForTarget(ns: string, phase: string): Promise<void> {
  await waitFor(`${ns}/cfg-1 target ${phase}`, () => p.firstSeen('BackupSession', ns, 'cfg-1', (st) => phaseOf(st) === phase));
}

async function assertOnceEachAndSucceeded(ns: string): Promise<void> {
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const t = s.status!.targets![0];
  assert.is(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True');
  assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), { status: 'True', reason: 'SuccessfullyExecutedPostBackupHook', message: 'Successfully executed postBackup hook.' });
  // Give a duplicate every chance to show up (a resync runs every 2 s here).
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => r.path), [`/${ns}/pre`, `/${ns}/post`]);
}

test('the watcher restarts while the backup runs and completes: every hook ran once, Succeeded', async () => {
  const ns = 'wrestart';
  await startSession(ns);
  await waitForTarget(ns, 'Running');
  await p.stopWatcher();
  // The target completes while no watcher is looking; the new one must notice from its list.
  await waitForTarget(ns, 'Succeeded');
  p.startWatcher();
  await assertOnceEachAndSucceeded(ns);
});

test('every role restarts mid-session: every hook ran once, Succeeded', async () => {
  const ns = 'allrestart';
  await startSession(ns);
  await waitForTarget(ns, 'Running');
  await p.stopRoles();
  await waitForTarget(ns, 'Succeeded');
  p.startRoles();
  await assertOnceEachAndSucceeded(ns);
});

test('Redis loses every key of this pipeline mid-session: the session completes, recorded hooks not re-run', async () => {
  const ns = 'redisloss';
  await startSession(ns);
  await waitForTarget(ns, 'Running');
  const deleted = await p.deleteRedisKeys();
  assert.ok(deleted > 0, 'there were keys to lose');
  await assertOnceEachAndSucceeded(ns);
});

test('a coordinator that failed between adding the post flow and the pre flow: the retry adds the missing one', async () => {
  const ns = 'halfflow';
  await p.stopRoles();
  await startSession(ns);
  const session = await p.getSession('BackupSession', ns, 'cfg-1');
  // What a coordinator leaves behind when Redis fails (or it dies) right after its first add.
  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const flows = new FlowProducer({ connection: client, prefix: p.prefix });
  try {
    await flows.add(
      postFlow(
        {
          session: { kind: 'BackupSession', namespace: ns, name: 'cfg-1', uid: session.metadata.uid! },
          targets: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: ns }],
          pre: 'preBackup',
          post: 'postBackup',
          hasGlobalPre: false,
          hasGlobalPost: false,
          deadlineMs: Date.now() + 60_000,
          completed: new Set(),
        },
        Date.now(),
      ),
    );
  } finally {
    await flows.close();
    client.disconnect();
  }
  p.startRoles();
  await assertOnceEachAndSucceeded(ns);
});

test.run();
