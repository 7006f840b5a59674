// workers/flow-plan.ts: the session's flows as pure data — shape, queues, deterministic ids,
// delays until the deadline, and children that never strand their parent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FlowJob } from 'bullmq';
import { finalizeJobId, localPostJobIds, localPreJob, postFlow, preFlow, releaseJobId, releaseTargetJobId, type SessionPlan } from '../../workers/flow-plan.js';

const NOW = 1_700_000_000_000;
const session = { kind: 'BackupSession' as const, namespace: 'ns', name: 'bs', uid: 'uid-1' };
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'ns' });

function plan(over: Partial<SessionPlan> = {}): SessionPlan {
  return {
    session,
    targets: [ref('a'), ref('b')],
    pre: 'preBackup',
    post: 'postBackup',
    hasGlobalPre: false,
    hasGlobalPost: false,
    deadlineMs: NOW + 60_000,
    completed: new Set(),
    ...over,
  };
}

/** The tree as `queue id delay` lines, indented by depth: the whole shape at a glance. */
function outline(job: FlowJob, depth = 0): string[] {
  const line = `${'  '.repeat(depth)}${job.queueName} ${job.opts?.jobId} delay=${job.opts?.delay ?? 0}`;
  return [line, ...(job.children ?? []).flatMap((c) => outline(c, depth + 1))];
}

function nodes(job: FlowJob): FlowJob[] {
  return [job, ...(job.children ?? []).flatMap(nodes)];
}

test('post flow of a batch: finalize ← global post ← local posts delayed until the deadline', () => {
  assert.equal(outline(postFlow(plan({ hasGlobalPost: true }), NOW)), [
    'coordinator fin.uid-1 delay=0',
    '  post-backup hook.postBackup.global.uid-1 delay=0',
    '    post-backup hook.postBackup.t0.uid-1 delay=60000',
    '    post-backup hook.postBackup.t1.uid-1 delay=60000',
  ]);
});

test('post flow without a global post; a target already complete is not delayed; a past deadline delays nothing', () => {
  assert.equal(outline(postFlow(plan({ completed: new Set([1]) }), NOW)), [
    'coordinator fin.uid-1 delay=0',
    '  post-backup hook.postBackup.t0.uid-1 delay=60000',
    '  post-backup hook.postBackup.t1.uid-1 delay=0',
  ]);
  assert.equal(
    outline(postFlow(plan({ deadlineMs: NOW - 5 }), NOW)).map((l) => l.split(' delay=')[1]),
    ['0', '0', '0'],
  );
});

test('restore flows use the restore queues', () => {
  const r = plan({ session: { ...session, kind: 'RestoreSession' }, targets: [ref('app')], pre: 'preRestore', post: 'postRestore' });
  assert.equal(outline(postFlow(r, NOW)), ['coordinator fin.uid-1 delay=0', '  post-restore hook.postRestore.t0.uid-1 delay=60000']);
  assert.equal(localPreJob(r, 'preRestore', 0).opts.jobId, 'hook.preRestore.t0.uid-1');
});

test('every hook node ignores its own failure for the parent (no stranded finalize) and retries infrastructure', () => {
  for (const n of nodes(postFlow(plan({ hasGlobalPost: true }), NOW)).slice(1)) {
    assert.is(n.opts?.ignoreDependencyOnFailure, true, String(n.opts?.jobId));
    assert.ok((n.opts?.attempts ?? 1) > 1, String(n.opts?.jobId));
  }
  const [, globalPre] = nodes(preFlow(plan({ hasGlobalPre: true })));
  assert.is(globalPre.opts?.ignoreDependencyOnFailure, true);
});

test('pre flow: release, with the global pre hook as its child when there is one', () => {
  assert.equal(outline(preFlow(plan())), ['coordinator rel.uid-1 delay=0']);
  assert.equal(outline(preFlow(plan({ hasGlobalPre: true, observedAt: NOW }))), [
    'coordinator rel.uid-1 delay=0',
    '  pre-backup hook.preBackup.global.uid-1 delay=0',
  ]);
  assert.equal(preFlow(plan({ observedAt: NOW })).data, { session, observedAt: NOW });
});

test('hook job data carries references only, and a readable name', () => {
  const job = localPreJob(plan({ observedAt: NOW }), 'preBackup', 1);
  assert.equal(job.data, { session, hook: 'preBackup', scope: 'local', targetIndex: 1, target: { kind: 'Deployment', name: 'b' }, observedAt: NOW });
  assert.is(job.name, 'preBackup ns/bs Deployment/b');
  assert.is(job.opts.jobId, 'hook.preBackup.t1.uid-1');
  const [, globalPost] = nodes(postFlow(plan({ hasGlobalPost: true }), NOW));
  assert.equal(globalPost.data, { session, hook: 'postBackup', scope: 'global' });
  assert.is(globalPost.name, 'postBackup ns/bs global');
});

test('ids: deterministic, one per job, no ":" even for odd uids', () => {
  const odd = { ...session, uid: 'a:b/c' };
  const p = plan({ session: odd, hasGlobalPre: true, hasGlobalPost: true });
  const ids = [...nodes(postFlow(p, NOW)), ...nodes(preFlow(p))].map((n) => String(n.opts?.jobId));
  ids.push(releaseTargetJobId(odd, 1), localPreJob(p, 'preBackup', 0).opts.jobId!);
  assert.is(new Set(ids).size, ids.length);
  for (const id of ids) assert.not.match(id, /:/, id);
  assert.equal(
    [...nodes(postFlow(p, NOW))].map((n) => n.opts?.jobId),
    [...nodes(postFlow(p, NOW + 999))].map((n) => n.opts?.jobId),
  );
  assert.equal([finalizeJobId(session), releaseJobId(session), releaseTargetJobId(session, 2)], ['fin.uid-1', 'rel.uid-1', 'rel.uid-1.t2']);
  assert.equal(localPostJobIds(session, 'postBackup', 3), ['hook.postBackup.t0.uid-1', 'hook.postBackup.t1.uid-1', 'hook.postBackup.t2.uid-1']);
  assert.equal(
    localPostJobIds(session, 'postBackup', 2),
    nodes(postFlow(plan(), NOW))
      .slice(1)
      .map((n) => n.opts?.jobId),
    'the ids the coordinator promotes are the ids the flow created',
  );
});

test.run();
