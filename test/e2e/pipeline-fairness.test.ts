// No tenant can starve the others (DESIGN §11): one namespace's hanging hooks hold at most half of
// a worker's slots, so another namespace's hook still runs at once; a hook in flight stops when
// its session is deleted (and its slot goes to the next hook) or when its session's deadline passes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Queue } from 'bullmq';
import { startPipeline, appYaml, applySinkSession, cond, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { hookJobId, QueueName, type SessionRef } from '../../shared/queues.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
let release: () => void = () => {};
const hung = new Promise<void>((r) => (release = r));

test.before(async () => {
  // Concurrency 10: a namespace may hold 5 slots by default.
  p = await startPipeline({ verbose: !!process.env.VERBOSE, concurrency: 10 });
  p.sink.holdFor.set('/hang/', hung);
});
test.after(async () => {
  release();
  await p?.close();
});

/** BackupConfiguration `name` (with `spec`) on Deployment app in `ns`, and its BackupSession `<name>-1`. */
function configYaml(ns: string, name: string, preBackup: string, extraSpec = ''): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: ${name}, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}${extraSpec}
  hooks:
    preBackup: ${preBackup}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: ${name}}
`;
}

const hang = (i: number | string) => `{timeoutSeconds: 120, httpPost: {host: 127.0.0.1, port: ${p.sink.port}, path: /hang/${i}, body: x}}`;
const arrived = (prefix: string) => p.sink.requests.filter((r) => r.path.startsWith(prefix)).length;

test("10 hanging hooks in one namespace; another namespace's hook reaches its sink within 5 s", async () => {
  await p.apply(appYaml('noisy', 'app'));
  for (let i = 0; i < 10; i++) await p.apply(configYaml('noisy', `cfg${i}`, hang(i)));
  await waitFor('the noisy namespace to fill its share of slots', () => arrived('/hang/') >= 5);
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(arrived('/hang/'), 5, 'one namespace holds half of the 10 slots, no more');

  const t0 = Date.now();
  await applySinkSession(p, 'quiet');
  const req = await waitFor("the quiet namespace's pre hook", () => p.sink.requests.find((r) => r.path === '/quiet/pre'), 10_000);
  assert.ok(req.at - t0 < 5000, `the quiet namespace waited ${req.at - t0} ms`);
  const quiet = (await p.waitForPhase('BackupSession', 'quiet', 'cfg-1')) as BackupSession;
  assert.is(quiet.status?.phase, 'Succeeded');
});

test('deleting a session stops its hook in flight, and the freed slot goes to the next hook', async () => {
  const s = (await p.getSession('BackupSession', 'noisy', 'cfg0-1')) as BackupSession;
  const ref: SessionRef = { kind: 'BackupSession', namespace: 'noisy', name: 'cfg0-1', uid: s.metadata.uid! };
  const before = arrived('/hang/');
  assert.ok(
    p.sink.requests.some((r) => r.path === '/hang/0'),
    "cfg0's hook is one of those in flight",
  );
  await p.custom.deleteNamespacedCustomObject({
    group: 'stash.appscode.com',
    version: 'v1beta1',
    namespace: 'noisy',
    plural: 'backupsessions',
    name: 'cfg0-1',
  });
  const queue = new Queue(QueueName.preBackup, { connection: p.redis.nodes[0], prefix: p.prefix });
  try {
    const job = await waitFor(
      "the deleted session's hook job to finish",
      async () => {
        const j = await queue.getJob(hookJobId({ session: ref, hook: 'preBackup', scope: 'local', targetIndex: 0 }));
        return j?.returnvalue ? j : undefined;
      },
      10_000,
    );
    assert.equal([job.returnvalue.outcome, job.returnvalue.message], ['skipped', 'the session was deleted while the hook ran; the hook was stopped']);
  } finally {
    await queue.close();
  }
  await waitFor('a waiting noisy hook to take the freed slot', () => arrived('/hang/') === before + 1, 10_000);
});

test("a pre hook in flight is stopped at its session's deadline, with a message saying so", async () => {
  await p.apply(appYaml('late', 'app'));
  await p.apply(configYaml('late', 'cfg', hang('late'), '\n  timeOut: 4s'));
  const s = (await p.waitForPhase('BackupSession', 'late', 'cfg-1', 20_000)) as BackupSession;
  assert.equal(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePreBackupHook',
    message: "Failed to execute preBackup hook. Reason: the hook was stopped at the session's deadline (timeOut 4s)",
  });
  assert.is(s.status?.phase, 'Failed');
});

test.run();
