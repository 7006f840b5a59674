// Recovery from Redis (DESIGN §6 "Recovery"): Kubernetes status is the truth, Redis the fast
// path. A Redis that lost every key of this pipeline mid-session, or a flow left half-built,
// still finishes the session without re-running recorded hooks (counted at the sink).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, applySinkSession, cond, waitFor, type Pipeline } from '../helpers/pipeline.js';
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

const startSession = (ns: string) => applySinkSession(p, ns);

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
