// The global post hook never runs before every member's local post condition exists (DESIGN §5).
// Member 0's local post job cannot record its condition (devcluster answers every write with 500
// until the job has used up its attempts and failed for good): the global post hook then records
// that local post False first, and sees the session Failed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Job, Queue } from 'bullmq';
import { startPipeline, appYaml, cond, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { connectRedis } from '../../shared/redis.js';
import { hookJobId } from '../../shared/queues.js';
import { UNRUN_HOOK_ERROR } from '../../workers/status-writes.js';
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

const postOf = (st: unknown, i: number) => cond((st as BackupSession['status'])?.targets?.[i]?.conditions, 'PostBackupHookExecutionSucceeded');

test('a local post whose condition cannot be written: recorded False before the global post runs, which sees Failed', async () => {
  const ns = 'lpost-outage';
  let release!: () => void;
  p.sink.holdFor.set(`/${ns}/m0/post`, new Promise<void>((r) => (release = r)));
  await p.apply(appYaml(ns, 'a'));
  await p.apply(appYaml(ns, 'b').slice(appYaml(ns, 'b').indexOf('---') + 3));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: ${ns}}
spec:
  timeOut: 3m
  hooks:
    postBackup: ${sinkPost(p.sink, `/${ns}/global/post`)}
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: a}}
      hooks:
        postBackup: ${sinkPost(p.sink, `/${ns}/m0/post`)}
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: b}}
      hooks:
        postBackup: ${sinkPost(p.sink, `/${ns}/m1/post`)}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`);
  // Member 1's local post lands normally; member 0's runs, but every write fails from then on.
  await waitFor("member 0's post request", () => p.sink.requests.some((r) => r.path === `/${ns}/m0/post`));
  await waitFor("member 1's post condition", () => p.firstSeen('BackupSession', ns, 'batch-1', (st) => postOf(st, 1) !== undefined) !== undefined);
  await faults({ writeErrorRate: 1 });
  release();

  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const queue = new Queue('post-backup', { connection: client, prefix: p.prefix });
  try {
    const uid = (await p.getSession('BackupSession', ns, 'batch-1')).metadata.uid!;
    const id = hookJobId({ session: { kind: 'BackupSession', namespace: ns, name: 'batch-1', uid }, hook: 'postBackup', scope: 'local', targetIndex: 0 });
    await waitFor("member 0's post job to fail for good", async () => (await (await Job.fromId(queue, id))?.isFailed()) === true, 120_000);
  } finally {
    await queue.close();
    client.disconnect();
  }
  assert.not.ok(
    p.sink.requests.some((r) => r.path === `/${ns}/global/post`),
    'the global post did not run while a local post condition was missing',
  );
  await faults({ writeErrorRate: 0 });
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1', 60_000)) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(postOf(s.status, 0), {
    status: 'False',
    reason: 'FailedToExecutePostBackupHook',
    message: `Failed to execute postBackup hook. Reason: ${UNRUN_HOOK_ERROR}`,
  });
  assert.equal(postOf(s.status, 1), { status: 'True', reason: 'SuccessfullyExecutedPostBackupHook', message: 'Successfully executed postBackup hook.' });
  const globalPost = p.sink.requests.filter((r) => r.path === `/${ns}/global/post`);
  assert.equal(
    globalPost.map((r) => r.body),
    ['Failed'],
    'the global post ran once and saw Failed',
  );
  const m0Recorded = p.firstSeen('BackupSession', ns, 'batch-1', (st) => postOf(st, 0) !== undefined)!;
  assert.ok(m0Recorded < globalPost[0].at, "member 0's post condition existed before the global post ran");
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Global PostBackup hook has been executed successfully',
  });
  assert.equal(
    p.sink.requests
      .filter((r) => r.path.startsWith(`/${ns}/m`))
      .map((r) => r.path)
      .sort(),
    [`/${ns}/m0/post`, `/${ns}/m1/post`],
    'each local post hook ran once',
  );
});

test.run();
