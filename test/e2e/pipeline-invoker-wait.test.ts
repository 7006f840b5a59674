// A BackupSession whose invoker does not exist yet waits for it (DESIGN §5), as Stash's
// BackupSession controller requeues rather than failing: an invoker created a few seconds after
// its session is found and the session runs normally; one that never appears fails the session
// at its deadline (here the pipeline's default timeOut, 10 s) with a message naming it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

const TIMEOUT_MS = 10_000;

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE, sessionTimeoutMs: TIMEOUT_MS });
});
test.after(async () => {
  await p?.close();
});

const session = (ns: string, invoker: string) => `
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: s-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: ${invoker}}
`;

async function eventsOf(ns: string): Promise<string[]> {
  const events = await p.core.listNamespacedEvent({ namespace: ns });
  return events.items.filter((e) => e.involvedObject?.name === 's-1').map((e) => `${e.type} ${e.reason}: ${e.message}`);
}

test('an invoker created 3 s after its session: the session waits (an Event says so), then runs normally', async () => {
  const ns = 'invoker-late';
  await p.apply(appYaml(ns, 'app'));
  await p.apply(session(ns, 'cfg'));
  await waitFor('the waiting Event', async () => (await eventsOf(ns)).some((e) => e.startsWith('Warning InvokerNotFound: ')));
  const [waiting] = (await eventsOf(ns)).filter((e) => e.includes('InvokerNotFound'));
  assert.ok(waiting.startsWith(`Warning InvokerNotFound: BackupConfiguration ${ns}/cfg not found yet: waiting for it until the session's deadline (`), waiting);
  await new Promise((r) => setTimeout(r, 3000));
  assert.is((await p.getSession('BackupSession', ns, 's-1')).status?.phase, undefined, 'still waiting, not failed');

  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}
    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}
`);
  const s = (await p.waitForPhase('BackupSession', ns, 's-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.is(cond(s.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True');
  assert.is(cond(s.status!.targets![0].conditions, 'PostBackupHookExecutionSucceeded')?.status, 'True');
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => `${r.path} ${r.body}`),
    [`/${ns}/pre Succeeded`, `/${ns}/post Succeeded`],
  );
  assert.equal((await eventsOf(ns)).filter((e) => e.includes('InvokerNotFound')).length, 1, 'one Event for the wait, not one per look');
});

test('an invoker that never appears: the session fails at its deadline, not at once, with a message naming it', async () => {
  const ns = 'invoker-never';
  await p.apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`);
  await p.apply(session(ns, 'nope'));
  const s = (await p.waitForPhase('BackupSession', ns, 's-1', 30_000)) as BackupSession;
  const created = Date.parse(s.metadata.creationTimestamp!);
  const failedAt = p.firstSeen('BackupSession', ns, 's-1', (st) => st?.phase === 'Failed')!;

  assert.is(s.status?.phase, 'Failed');
  // creationTimestamp has whole seconds: the session is at most 1 s older than it says.
  assert.ok(failedAt - created >= TIMEOUT_MS - 1000, `failed ${failedAt - created} ms after creation, at the ${TIMEOUT_MS} ms deadline`);
  assert.ok(failedAt - created < TIMEOUT_MS + 8000, `failed ${failedAt - created} ms after creation, soon after the deadline`);
  assert.equal(cond(s.status?.conditions, 'DeadlineExceeded'), {
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete backup within 10s.',
  });
  const events = await eventsOf(ns);
  assert.ok(
    events.includes(
      `Warning SessionFailed: BackupConfiguration ${ns}/nope not found: no hook can run (waited for it until the session's deadline, 10s after the session was created)`,
    ),
    events.join('\n'),
  );
  assert.is(events.filter((e) => e.includes('InvokerNotFound')).length, 1);
});

test.run();
