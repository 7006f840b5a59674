// The pure pieces of DESIGN §5's global-hook rules under infrastructure failure: when a batch may
// not start (global pre not True), what is written when the global pre never ran by the deadline,
// which local posts the global post records before it runs, and the ids of global pre re-runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hookCondition } from '../../shared/conditions.js';
import type { BackupBatch, BackupSession, Condition } from '../../shared/resources.js';
import { globalPreJob, globalPreJobId, type SessionPlan } from '../../workers/flow-plan.js';
import { failUnrunGlobalPre, globalPreNotSucceeded, recordHookCondition, recordUnrunPostHooks, UNRUN_HOOK_ERROR } from '../../workers/status-writes.js';

const NOW = new Date('2026-01-01T00:01:05Z');
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'ns' });
const strip = (cs: Condition[] | undefined) => (cs ?? []).map(({ type, status, reason, message }) => ({ type, status, reason, message }));
const http = { httpGet: { host: 'h', port: 80 } };

function batch(globalPre: boolean): BackupBatch {
  return {
    kind: 'BackupBatch',
    metadata: { name: 'b', namespace: 'ns' },
    spec: {
      hooks: { ...(globalPre ? { preBackup: http } : {}), postBackup: http },
      members: [
        { target: { ref: ref('t0') }, hooks: { postBackup: http } },
        { target: { ref: ref('t1') }, hooks: { postBackup: http } },
      ],
    },
  };
}

function session(targets = 0): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: 's', namespace: 'ns', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { invoker: { kind: 'BackupBatch', name: 'b' } },
    status: {
      phase: 'Running',
      ...(targets ? { targets: Array.from({ length: targets }, (_v, i) => ({ ref: ref(`t${i}`), phase: 'Succeeded' as const })) } : {}),
    },
  };
}

test('globalPreNotSucceeded: only a batch with a global pre hook whose condition is not True', () => {
  assert.not.ok(globalPreNotSucceeded(session(), batch(false)), 'no global pre hook: nothing to wait for');
  const s = session();
  assert.ok(globalPreNotSucceeded(s, batch(true)), 'absent');
  recordHookCondition(s, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'succeeded' }), NOW);
  assert.not.ok(globalPreNotSucceeded(s, batch(true)), 'True');
  const f = session();
  recordHookCondition(f, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'failed', error: 'x' }), NOW);
  assert.ok(globalPreNotSucceeded(f, batch(true)), 'False');
});

test('failUnrunGlobalPre: the condition False with the reason, DeadlineExceeded and Failed in one change; a recorded condition is kept', () => {
  const s = session();
  assert.ok(failUnrunGlobalPre(s, "it could not complete before the session's deadline (timeOut 30s): its job failed for good", '30s', NOW));
  assert.equal(strip(s.status!.conditions), [
    {
      type: 'GlobalPreBackupHookSucceeded',
      status: 'False',
      reason: 'GlobalPreBackupHookExecutionFailed',
      message: "Failed to execute global PreBackup Hook. Reason: it could not complete before the session's deadline (timeOut 30s): its job failed for good.",
    },
    { type: 'DeadlineExceeded', status: 'True', reason: 'FailedToCompleteWithinDeadline', message: 'Failed to complete backup within 30s.' },
  ]);
  assert.is(s.status!.phase, 'Failed');
  assert.is(s.status!.sessionDuration, '1m5s');
  assert.not.ok(failUnrunGlobalPre(s, 'again', '30s', NOW), 'a second call changes nothing');
});

test('recordUnrunPostHooks for the global post: local posts only, and nothing while the global pre is not True', () => {
  const s = session(2);
  assert.not.ok(recordUnrunPostHooks(s, batch(true), 'postBackup', 2, NOW, { global: false }), 'global pre absent: no member ran, nothing to record');
  recordHookCondition(s, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'succeeded' }), NOW);
  recordHookCondition(s, 'postBackup', 'local', 1, hookCondition('postBackup', 'local', { kind: 'succeeded' }), NOW);
  assert.ok(recordUnrunPostHooks(s, batch(true), 'postBackup', 2, NOW, { global: false }));
  assert.equal(strip(s.status!.targets![0].conditions), strip([hookCondition('postBackup', 'local', { kind: 'failed', error: UNRUN_HOOK_ERROR })]));
  assert.is(strip(s.status!.targets![1].conditions)[0].status, 'True', 'a recorded local post is left alone');
  assert.ok(!s.status!.conditions!.some((c) => c.type === 'GlobalPostBackupHookSucceeded'), 'the global post is not recorded by itself');
});

test("global pre runs: run 0 is the flow child's id; later runs are standalone jobs with their own ids", () => {
  const ref0 = { kind: 'BackupSession' as const, namespace: 'ns', name: 'bs', uid: 'uid-1' };
  assert.is(globalPreJobId(ref0, 'preBackup', 0), 'hook.preBackup.global.uid-1');
  assert.is(globalPreJobId(ref0, 'preBackup', 2), 'hook.preBackup.global.uid-1.r2');
  const plan: SessionPlan = {
    session: ref0,
    targets: [ref('a')],
    pre: 'preBackup',
    post: 'postBackup',
    hasGlobalPre: true,
    hasGlobalPost: false,
    deadlineMs: 0,
    completed: new Set(),
  };
  const job = globalPreJob(plan, 1);
  assert.is(job.opts.jobId, 'hook.preBackup.global.uid-1.r1');
  assert.equal([job.data.hook, job.data.scope, job.data.targetIndex], ['preBackup', 'global', undefined]);
  assert.is(job.opts.ignoreDependencyOnFailure, undefined, 'no parent to ignore');
  assert.is(job.opts.attempts, 6);
});

test.run();
