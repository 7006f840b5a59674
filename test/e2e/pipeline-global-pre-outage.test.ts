// A BackupBatch's global pre hook under infrastructure failure (DESIGN §5): no member is initiated
// until GlobalPreBackupHookSucceeded is True. The API server answers every write with 500
// (devcluster fault injection) while the global pre hook's condition is due, so its job cannot
// record anything. If the outage outlasts the deadline the session fails with the condition False
// saying why — never Succeeded without the hook; if it ends before, the hook's kept outcome is
// recorded by a new run and the batch goes on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Job, Queue } from 'bullmq';
import { startPipeline, appYaml, cond, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { connectRedis } from '../../shared/redis.js';
import { hookJobId } from '../../shared/queues.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await faults({ writeErrorRate: 0 }).catch(() => {});
  await p?.close();
});

async function faults(settings: Record<string, number>): Promise<void> {
  const r = await fetch(`${p.cluster.url}/debug/faults`, { method: 'PUT', body: JSON.stringify(settings) });
  assert.is(r.status, 200, await r.text());
}

function batchYaml(ns: string, timeOut: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: ${ns}}
spec:
  timeOut: ${timeOut}
  hooks:
    preBackup: ${sinkPost(p.sink, `/${ns}/global/pre`)}
    postBackup: ${sinkPost(p.sink, `/${ns}/global/post`)}
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: a}}
      hooks:
        postBackup: ${sinkPost(p.sink, `/${ns}/m0/post`)}
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: b}}
`;
}

const SESSION = (ns: string) => `
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`;

/** Applies the batch, then the session; once the global pre request arrives, every write fails. */
async function startWithOutage(ns: string, timeOut: string): Promise<void> {
  let release!: () => void;
  p.sink.holdFor.set(`/${ns}/global/pre`, new Promise<void>((r) => (release = r)));
  await p.apply(appYaml(ns, 'a'));
  await p.apply(appYaml(ns, 'b').slice(appYaml(ns, 'b').indexOf('---') + 3));
  await p.apply(batchYaml(ns, timeOut));
  await p.apply(SESSION(ns));
  await waitFor('the global pre request', () => p.sink.requests.some((r) => r.path === `/${ns}/global/pre`));
  // The hook itself succeeds; recording it is what the outage makes impossible.
  await faults({ writeErrorRate: 1 });
  release();
}

const paths = (ns: string) => p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => r.path);
const targetsOf = (st: unknown) => (st as BackupSession['status'])?.targets ?? [];

test('a global pre hook that cannot be recorded until the deadline: Failed with the condition False saying why; no member ever started', async () => {
  const ns = 'gpre-never';
  await startWithOutage(ns, '12s');
  const created = Date.parse((await p.getSession('BackupSession', ns, 'batch-1')).metadata.creationTimestamp!);
  // The outage lasts past the deadline, then the API server recovers.
  await new Promise((r) => setTimeout(r, Math.max(0, created + 13_000 - Date.now())));
  await faults({ writeErrorRate: 0 });
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1', 60_000)) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.not.ok(
    p.history.some((o) => o.namespace === ns && o.status?.phase === 'Succeeded'),
    'never Succeeded',
  );
  const pre = cond(s.status?.conditions, 'GlobalPreBackupHookSucceeded');
  assert.is(pre?.status, 'False', JSON.stringify(s.status?.conditions));
  assert.is(pre?.reason, 'GlobalPreBackupHookExecutionFailed');
  assert.ok(
    pre?.message?.startsWith("Failed to execute global PreBackup Hook. Reason: it could not complete before the session's deadline (timeOut 12s): its job "),
    pre?.message,
  );
  assert.ok(pre?.message?.includes('injected by devcluster fault injection'), `the message names the fault: ${pre?.message}`);
  assert.equal(cond(s.status?.conditions, 'DeadlineExceeded'), {
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete backup within 12s.',
  });
  assert.not.ok(
    p.history.some((o) => o.namespace === ns && targetsOf(o.status).length > 0),
    'no member was ever initiated',
  );
  assert.is(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), undefined);
  // Nothing ran but the global pre hook, once (the post jobs settle without running).
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(paths(ns), [`/${ns}/global/pre`]);
  const events = await p.core.listNamespacedEvent({ namespace: ns });
  assert.ok(
    events.items.some((e) => e.involvedObject?.name === 'batch-1' && e.reason === 'SessionFailed' && e.message?.includes('did not run before the deadline')),
  );
});

test('an outage that ends before the deadline: the global pre job that failed for good is run again, records the kept outcome (the hook is not re-run), then the members run', async () => {
  const ns = 'gpre-late';
  await startWithOutage(ns, '3m');
  // Wait until the global pre job has used up its attempts: the point where the release used to
  // go on without the hook.
  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const queue = new Queue('pre-backup', { connection: client, prefix: p.prefix });
  try {
    const s0 = await p.getSession('BackupSession', ns, 'batch-1');
    const id = hookJobId({ session: { kind: 'BackupSession', namespace: ns, name: 'batch-1', uid: s0.metadata.uid! }, hook: 'preBackup', scope: 'global' });
    await waitFor('the global pre job to fail for good', async () => (await (await Job.fromId(queue, id))?.isFailed()) === true, 120_000);
    // Still no member initiated: nothing may start without the global pre condition.
    await new Promise((r) => setTimeout(r, 1000));
    assert.not.ok(
      p.history.some((o) => o.namespace === ns && targetsOf(o.status).length > 0),
      'no member initiated during the outage',
    );
  } finally {
    await queue.close();
    client.disconnect();
  }
  await faults({ writeErrorRate: 0 });
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1', 60_000)) as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(cond(s.status?.conditions, 'GlobalPreBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPreBackupHookExecutedSuccessfully',
    message: 'Global PreBackup hook has been executed successfully',
  });
  const initiated = p.history.find((o) => o.namespace === ns && targetsOf(o.status).length > 0);
  assert.ok(initiated, 'the members were initiated');
  assert.is(
    cond(initiated!.status?.conditions, 'GlobalPreBackupHookSucceeded')?.status,
    'True',
    'the members were initiated only once the global pre condition was True',
  );
  assert.equal(paths(ns), [`/${ns}/global/pre`, `/${ns}/m0/post`, `/${ns}/global/post`], 'the global pre hook ran once');
});

test.run();
