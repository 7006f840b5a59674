// Recovery from Redis (DESIGN §6 "Recovery"): Kubernetes status is the truth, Redis the fast
// path. A Redis that lost every key of this pipeline mid-session, a flow left half-built, or a
// release that died half-way still finish the session without re-running recorded hooks
// (counted at the sink) and without leaving jobs parked until the deadline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, applySinkSession, assertSinkSessionRanOnce, waitFor, waitForSinkTarget, type Pipeline } from '../helpers/pipeline.js';
import { FlowProducer, Queue } from 'bullmq';
import { postFlow, preFlow, type SessionPlan } from '../../workers/flow-plan.js';
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

test('Redis loses every key of this pipeline mid-session: the session completes, recorded hooks not re-run', async () => {
  const ns = 'redisloss';
  await applySinkSession(p, ns);
  await waitForSinkTarget(p, ns, 'Running');
  const deleted = await p.deleteRedisKeys();
  assert.ok(deleted > 0, 'there were keys to lose');
  await assertSinkSessionRanOnce(p, ns);
});

test('a coordinator that failed between adding the post flow and the pre flow: the retry adds the missing one', async () => {
  const ns = 'halfflow';
  await p.stopRoles();
  await applySinkSession(p, ns);
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
  await assertSinkSessionRanOnce(p, ns);
});

test('a coordinator that died after failing the session on a failed global pre hook: the retry still settles the flow', async () => {
  const ns = 'halfsettled';
  await p.stopRoles();
  await p.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: ${ns}}
spec:
  hooks:
    preBackup: {httpGet: {host: 127.0.0.1, port: ${p.sink.port}, path: /${ns}/global/pre}}
    postBackup: {httpGet: {host: 127.0.0.1, port: ${p.sink.port}, path: /${ns}/global/post}}
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
      hooks:
        postBackup: {httpGet: {host: 127.0.0.1, port: ${p.sink.port}, path: /${ns}/m0/post}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`);
  // The state a coordinator leaves when it dies in release() after writing Failed, before
  // draining the post jobs: the flow built, the global pre failed and recorded, the session Failed.
  const session = await p.getSession('BackupSession', ns, 'batch-1');
  session.status = {
    phase: 'Failed',
    conditions: [
      {
        type: 'GlobalPreBackupHookSucceeded',
        status: 'False',
        reason: 'GlobalPreBackupHookExecutionFailed',
        message: 'Failed to execute global PreBackup Hook. Reason: x.',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  await p.custom.replaceNamespacedCustomObjectStatus({
    group: 'stash.appscode.com',
    version: 'v1beta1',
    namespace: ns,
    plural: 'backupsessions',
    name: 'batch-1',
    body: session,
  });
  const plan: SessionPlan = {
    session: { kind: 'BackupSession', namespace: ns, name: 'batch-1', uid: session.metadata.uid! },
    targets: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: ns }],
    pre: 'preBackup',
    post: 'postBackup',
    hasGlobalPre: true,
    hasGlobalPost: true,
    deadlineMs: Date.now() + 60_000,
    completed: new Set(),
  };
  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const flows = new FlowProducer({ connection: client, prefix: p.prefix });
  const post = new Queue('post-backup', { connection: client, prefix: p.prefix });
  const coordinator = new Queue('coordinator', { connection: client, prefix: p.prefix });
  try {
    await flows.add(postFlow(plan, Date.now()));
    await flows.add(preFlow(plan));
    p.startRoles();
    // The 60 s deadline must not be what finally moves the post jobs.
    await waitFor(
      'the flow to drain',
      async () =>
        (await post.getDelayedCount()) + (await post.getWaitingCount()) + (await post.getActiveCount()) === 0 &&
        (await coordinator.getWaitingChildrenCount()) === 0,
      10_000,
    );
  } finally {
    await Promise.all([flows.close(), post.close(), coordinator.close()]);
    client.disconnect();
  }
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)),
    [],
    'no hook ran for the settled session',
  );
  assert.is((await p.getSession('BackupSession', ns, 'batch-1')).status?.phase, 'Failed');
});

test.run();
