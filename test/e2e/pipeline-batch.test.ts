// BackupBatch end to end (DESIGN §5): the order of global and local hooks and backups, a failed
// global pre hook, a failed member, and Sequential execution. Order is read from the sink's
// arrival times and from a watch on the session (when each target was first seen Running or
// Succeeded).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, type Pipeline, type SinkRequest } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

const FAILED = { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': 'disk full' };

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

interface BatchOptions {
  order?: 'Parallel' | 'Sequential';
  timeOut?: string;
  globalPre?: boolean;
  globalPost?: boolean;
  /** executionPolicy of the global post hook. */
  globalPostPolicy?: string;
  members: Array<{ app: string; pre?: boolean; post?: boolean }>;
}

/** A BackupBatch `name` and its session `name-1`; every hook POSTs `{{ .Status.Phase }}` to `/<ns>/<where>/<phase>`. */
function batchYaml(ns: string, name: string, o: BatchOptions): string {
  const hooks = (indent: string, where: string, pre?: boolean, post?: boolean, policy?: string) => {
    const lines = [];
    if (pre) lines.push(`${indent}preBackup: ${sinkPost(p.sink, `/${ns}/${where}/pre`)}`);
    if (post) lines.push(`${indent}postBackup: ${sinkPost(p.sink, `/${ns}/${where}/post`, undefined, policy ? `executionPolicy: ${policy}` : '')}`);
    return lines.length ? `\n${indent.slice(2)}hooks:\n${lines.join('\n')}` : '';
  };
  const members = o.members
    .map((m, i) => `    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: ${m.app}}}${hooks('        ', `m${i}`, m.pre, m.post)}`)
    .join('\n');
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: ${name}, namespace: ${ns}}
spec:
  executionOrder: ${o.order ?? 'Parallel'}${o.timeOut ? `\n  timeOut: ${o.timeOut}` : ''}${hooks('    ', 'global', o.globalPre, o.globalPost, o.globalPostPolicy)}
  members:
${members}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: ${name}}
`;
}

async function apps(ns: string, names: string[], failing: string[] = []): Promise<void> {
  for (const [i, n] of names.entries()) {
    const yaml = appYaml(ns, n, failing.includes(n) ? { annotations: FAILED } : {});
    // appYaml starts with the Namespace document; apply it once.
    await p.apply(i === 0 ? yaml : yaml.slice(yaml.indexOf('---') + 3));
  }
}

function requestsOf(ns: string): SinkRequest[] {
  return p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`));
}

function at(ns: string, path: string): number {
  const r = requestsOf(ns).filter((q) => q.path === `/${ns}/${path}`);
  assert.is(r.length, 1, `one request to /${ns}/${path}, got ${r.length}`);
  return r[0].at;
}

const targetPhase = (i: number, phase: string) => (st: BackupSession['status']) => st?.targets?.[i]?.phase === phase;

test('batch order: global pre < each local pre < its backup < its local post < global post', async () => {
  const ns = 'border';
  await apps(ns, ['a', 'b', 'c']);
  await p.apply(batchYaml(ns, 'batch', { globalPre: true, globalPost: true, members: ['a', 'b', 'c'].map((app) => ({ app, pre: true, post: true })) }));
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));

  const gPre = at(ns, 'global/pre');
  const gPost = at(ns, 'global/post');
  for (let i = 0; i < 3; i++) {
    const pre = at(ns, `m${i}/pre`);
    const post = at(ns, `m${i}/post`);
    const running = p.firstSeen('BackupSession', ns, 'batch-1', targetPhase(i, 'Running'));
    const done = p.firstSeen('BackupSession', ns, 'batch-1', targetPhase(i, 'Succeeded'));
    assert.ok(running !== undefined && done !== undefined, `target ${i} seen Running and Succeeded`);
    assert.ok(gPre < pre, `global pre before local pre of member ${i}`);
    assert.ok(pre < running!, `local pre of member ${i} before its backup started`);
    assert.ok(running! <= done!, `member ${i} Running before Succeeded`);
    assert.ok(done! < post, `backup of member ${i} finished before its local post`);
    assert.ok(post < gPost, `local post of member ${i} before the global post`);
    const t = s.status!.targets![i];
    assert.is(t.phase, 'Succeeded');
    assert.equal(cond(t.conditions, 'PreBackupHookExecutionSucceeded'), {
      status: 'True',
      reason: 'SuccessfullyExecutedPreBackupHook',
      message: 'Successfully executed preBackup hook.',
    });
    assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), {
      status: 'True',
      reason: 'SuccessfullyExecutedPostBackupHook',
      message: 'Successfully executed postBackup hook.',
    });
    // Second-granular, so "not after" rather than "before".
    const localPostTime = t.conditions!.find((c) => c.type === 'PostBackupHookExecutionSucceeded')!.lastTransitionTime!;
    const globalPostTime = s.status!.conditions!.find((c) => c.type === 'GlobalPostBackupHookSucceeded')!.lastTransitionTime!;
    assert.ok(localPostTime <= globalPostTime, `${localPostTime} <= ${globalPostTime}`);
  }
  assert.equal(cond(s.status?.conditions, 'GlobalPreBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPreBackupHookExecutedSuccessfully',
    message: 'Global PreBackup hook has been executed successfully',
  });
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Global PostBackup hook has been executed successfully',
  });
  assert.is(requestsOf(ns).length, 8, 'each hook ran once');
});

test('a failed global pre hook: no member initiated, no post hook, the session Failed at once', async () => {
  const ns = 'gpfail';
  p.sink.statusFor.set(`/${ns}/global/pre`, 500);
  await apps(ns, ['a', 'b']);
  // A deadline far away: settling "at once" must not mean "at the deadline".
  await p.apply(
    batchYaml(ns, 'batch', { timeOut: '30s', globalPre: true, globalPost: true, members: ['a', 'b'].map((app) => ({ app, pre: true, post: true })) }),
  );
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(cond(s.status?.conditions, 'GlobalPreBackupHookSucceeded'), {
    status: 'False',
    reason: 'GlobalPreBackupHookExecutionFailed',
    message: `Failed to execute global PreBackup Hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${ns}/global/pre returned 500.`,
  });
  assert.is(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), undefined);
  assert.equal(s.status?.targets ?? [], [], 'no member initiated');
  assert.ok(!p.history.some((o) => o.namespace === ns && (o.status as BackupSession['status'])?.targets?.length), 'no target was ever initiated');
  assert.equal(
    requestsOf(ns).map((r) => r.path),
    [`/${ns}/global/pre`],
    'nothing but the global pre hook ran',
  );

  const failedAt = p.firstSeen('BackupSession', ns, 'batch-1', (st) => st?.phase === 'Failed')!;
  const settleMs = failedAt - at(ns, 'global/pre');
  if (process.env.VERBOSE) console.log(`global pre failure → session Failed in ${settleMs} ms`);
  assert.ok(settleMs < 10_000, `settled ${settleMs} ms after the failure, not at the 30s deadline`);
  // Nothing runs later either: the flow's remaining jobs are settled, not parked.
  await new Promise((r) => setTimeout(r, 500));
  assert.is(requestsOf(ns).length, 1);
});

test('a failed member: the global post hook still runs and sees the session Failed', async () => {
  const ns = 'mfail';
  await apps(ns, ['good', 'bad'], ['bad']);
  await p.apply(
    batchYaml(ns, 'batch', {
      globalPre: true,
      globalPost: true,
      members: [
        { app: 'good', post: true },
        { app: 'bad', post: true },
      ],
    }),
  );
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(
    s.status!.targets!.map((t) => t.phase),
    ['Succeeded', 'Failed'],
  );
  assert.equal(
    s.status!.targets![1].stats?.map((h) => h.error),
    ['disk full'],
  );
  const gPost = requestsOf(ns).filter((r) => r.path === `/${ns}/global/post`);
  assert.equal(
    gPost.map((r) => r.body),
    ['Failed'],
    'the global post hook saw the computed phase, not Running',
  );
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Global PostBackup hook has been executed successfully',
  });
  // Each member's local post saw its own outcome.
  assert.equal(
    requestsOf(ns)
      .filter((r) => /\/m\d\/post$/.test(r.path))
      .map((r) => `${r.path} ${r.body}`)
      .sort(),
    [`/${ns}/m0/post Succeeded`, `/${ns}/m1/post Failed`],
  );
});

test("Sequential: member i+1 starts (local pre) only after member i's local post", async () => {
  const ns = 'seq';
  await apps(ns, ['a', 'b', 'c']);
  await p.apply(batchYaml(ns, 'batch', { order: 'Sequential', members: ['a', 'b', 'c'].map((app) => ({ app, pre: true, post: true })) }));
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  for (let i = 0; i < 2; i++) {
    const post = at(ns, `m${i}/post`);
    const nextPre = at(ns, `m${i + 1}/pre`);
    const nextRunning = p.firstSeen('BackupSession', ns, 'batch-1', targetPhase(i + 1, 'Running'))!;
    assert.ok(post < nextPre, `member ${i}'s post (${post}) before member ${i + 1}'s pre (${nextPre})`);
    assert.ok(post < nextRunning, `member ${i}'s post before member ${i + 1}'s backup`);
  }
  assert.equal(
    requestsOf(ns).map((r) => r.path),
    [0, 1, 2].flatMap((i) => [`/${ns}/m${i}/pre`, `/${ns}/m${i}/post`]),
  );
});

test("a failed global post hook fails the session with Stash's global message", async () => {
  const ns = 'gpostfail';
  p.sink.statusFor.set(`/${ns}/global/post`, 500);
  await apps(ns, ['a']);
  await p.apply(batchYaml(ns, 'batch', { globalPre: true, globalPost: true, members: [{ app: 'a', post: true }] }));
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  assert.is(s.status!.targets![0].phase, 'Succeeded');
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'False',
    reason: 'GlobalPostBackupHookExecutionFailed',
    message: `Failed to execute global PostBackup Hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${ns}/global/post returned 500.`,
  });
  assert.equal(
    requestsOf(ns).map((r) => r.path),
    [`/${ns}/global/pre`, `/${ns}/m0/post`, `/${ns}/global/post`],
  );
});

test("the global post hook's executionPolicy is applied to the computed phase", async () => {
  const ns = 'gpolicy';
  await apps(ns, ['good', 'bad'], ['bad']);
  await p.apply(batchYaml(ns, 'ok', { globalPost: true, globalPostPolicy: 'OnFailure', members: [{ app: 'good' }] }));
  await p.apply(
    batchYaml(ns, 'ko', { globalPost: true, globalPostPolicy: 'OnSuccess', members: [{ app: 'good' }, { app: 'bad' }] }).replace(
      /\/gpolicy\/global/g,
      '/gpolicy/ko/global',
    ),
  );
  const [ok, ko] = (await Promise.all([p.waitForPhase('BackupSession', ns, 'ok-1'), p.waitForPhase('BackupSession', ns, 'ko-1')])) as BackupSession[];

  assert.equal([ok.status?.phase, ko.status?.phase], ['Succeeded', 'Failed']);
  assert.equal(cond(ok.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".',
  });
  assert.equal(cond(ko.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Skipping executing postBackup. Reason: executionPolicy is "OnSuccess" but phase is "Failed".',
  });
  assert.equal(requestsOf(ns), []);
});

test('a wide batch: eight members writing conditions into one session concurrently lose nothing', async () => {
  const ns = 'wide';
  const names = Array.from({ length: 8 }, (_v, i) => `app${i}`);
  await apps(ns, names);
  await p.apply(batchYaml(ns, 'batch', { globalPre: true, globalPost: true, members: names.map((app) => ({ app, pre: true, post: true })) }));
  const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(
    s.status!.targets!.map((t) => [
      t.phase,
      ...['PreBackupHookExecutionSucceeded', 'ReadyForBackup', 'PostBackupHookExecutionSucceeded'].map((type) => cond(t.conditions, type)?.status),
    ]),
    names.map(() => ['Succeeded', 'True', 'True', 'True']),
  );
  const counts = new Map<string, number>();
  for (const r of requestsOf(ns)) counts.set(r.path, (counts.get(r.path) ?? 0) + 1);
  assert.is(counts.size, 2 + 2 * names.length);
  assert.ok(
    [...counts.values()].every((n) => n === 1),
    JSON.stringify([...counts]),
  );
});

for (const order of ['Parallel', 'Sequential'] as const) {
  test(`${order}: a member's failed pre hook skips its backup and post; the others run; global post sees Failed`, async () => {
    const ns = `mprefail-${order.toLowerCase()}`;
    p.sink.statusFor.set(`/${ns}/m0/pre`, 500);
    await apps(ns, ['a', 'b']);
    await p.apply(batchYaml(ns, 'batch', { order, globalPost: true, members: ['a', 'b'].map((app) => ({ app, pre: true, post: true })) }));
    const s = (await p.waitForPhase('BackupSession', ns, 'batch-1')) as BackupSession;

    assert.is(s.status?.phase, 'Failed');
    const [t0, t1] = s.status!.targets!;
    assert.equal(cond(t0.conditions, 'ReadyForBackup'), { status: 'False', reason: 'PreHookFailed', message: 'Skipping backup: preBackup hook failed.' });
    assert.is(t0.phase, 'Failed');
    assert.is(p.firstSeen('BackupSession', ns, 'batch-1', targetPhase(0, 'Running')), undefined, 'member 0 was never backed up');
    assert.is(cond(t0.conditions, 'PostBackupHookExecutionSucceeded'), undefined);
    // A failed member does not stop the batch (a Sequential one releases the next member too).
    assert.is(t1.phase, 'Succeeded');
    assert.is(cond(t1.conditions, 'PostBackupHookExecutionSucceeded')?.status, 'True');
    const seen = requestsOf(ns).map((r) => `${r.path} ${r.body}`);
    assert.equal(
      seen.filter((x) => x.includes('/m0/')),
      [`/${ns}/m0/pre Succeeded`],
    );
    assert.equal(
      seen.filter((x) => x.includes('/m1/')),
      [`/${ns}/m1/pre Succeeded`, `/${ns}/m1/post Succeeded`],
    );
    assert.equal(
      seen.filter((x) => x.includes('/global/')),
      [`/${ns}/global/post Failed`],
    );
  });
}

test.run();
