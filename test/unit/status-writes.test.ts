// workers/status-writes.ts: the status changes stash-hooks makes, as pure mutators that say
// whether they changed anything (so a retried job rewrites nothing).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hookCondition, hookRunningCondition, parseHookRunning } from '../../shared/conditions.js';
import { hookRunRecord, recordedHookCondition } from '../../shared/session-state.js';
import {
  clearHookStart,
  closeGate,
  failTargetAfterPostHook,
  gateSet,
  globalPreFailed,
  initiateSession,
  markDeadlineExceeded,
  openGate,
  preHookFailed,
  recordHookCondition,
  recordHookStart,
  recordUnrunPostHooks,
  setFinalPhase,
  UNRUN_HOOK_ERROR,
} from '../../workers/status-writes.js';
import type { BackupBatch } from '../../shared/resources.js';
import type { BackupSession, BackupTargetStatus, Condition, RestoreSession } from '../../shared/resources.js';

const NOW = new Date('2026-01-01T00:01:05Z');
const STAMP = '2026-01-01T00:01:05Z';
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: 'ns' });
const strip = (cs: Condition[] | undefined) => (cs ?? []).map(({ type, status, reason, message }) => ({ type, status, reason, message }));

function backup(targets: Array<Partial<BackupTargetStatus>> = [{ phase: 'Pending' }, { phase: 'Pending' }]): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: 's', namespace: 'ns', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { invoker: { kind: 'BackupBatch', name: 'b' } },
    status: { phase: 'Running', targets: targets.map((t, i) => ({ ref: ref(`t${i}`), ...t })) },
  };
}

function restore(): RestoreSession {
  return {
    kind: 'RestoreSession',
    metadata: { name: 'r', namespace: 'ns', uid: 'u2', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { target: { ref: ref('app') } },
    status: {},
  };
}

test('recordHookCondition: local backup hooks on their target, global hooks on the session, once each', () => {
  const s = backup();
  const ok = hookCondition('preBackup', 'local', { kind: 'succeeded' });
  assert.ok(recordHookCondition(s, 'preBackup', 'local', 1, ok, NOW));
  assert.equal(s.status!.targets![0].conditions, undefined);
  assert.equal(s.status!.targets![1].conditions, [{ ...ok, lastTransitionTime: STAMP }]);
  // Exactly once per condition: a later, different outcome does not overwrite the first.
  const failed = hookCondition('preBackup', 'local', { kind: 'failed', error: 'boom' });
  assert.not.ok(recordHookCondition(s, 'preBackup', 'local', 1, failed, NOW));
  assert.is(s.status!.targets![1].conditions![0].status, 'True');

  const g = hookCondition('preBackup', 'global', { kind: 'failed', error: 'HTTP GET x returned 503' });
  assert.ok(recordHookCondition(s, 'preBackup', 'global', undefined, g, NOW));
  assert.equal(strip(s.status!.conditions), [
    {
      type: 'GlobalPreBackupHookSucceeded',
      status: 'False',
      reason: 'GlobalPreBackupHookExecutionFailed',
      message: 'Failed to execute global PreBackup Hook. Reason: HTTP GET x returned 503.',
    },
  ]);
  assert.not.ok(recordHookCondition(backup([]), 'postBackup', 'local', 0, ok, NOW), 'no such target: nothing written');
});

test('recordHookCondition: restore hooks on the session', () => {
  const r = restore();
  const c = hookCondition('postRestore', 'local', { kind: 'skipped', policy: 'OnFailure', phase: 'Succeeded' });
  assert.ok(recordHookCondition(r, 'postRestore', 'local', 0, c, NOW));
  assert.equal(strip(r.status!.conditions), [
    {
      type: 'PostRestoreHookExecutionSucceeded',
      status: 'True',
      reason: 'SuccessfullyExecutedPostRestoreHook',
      message: 'Skipping executing postRestore. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".',
    },
  ]);
});

test('gates: open with why, closed marks the backup target Failed; rewriting is a no-op', () => {
  const s = backup();
  assert.ok(openGate(s, 0, true, NOW));
  assert.ok(openGate(s, 1, false, NOW));
  assert.equal(strip(s.status!.targets![0].conditions), [
    { type: 'ReadyForBackup', status: 'True', reason: 'PreHookSucceeded', message: 'Ready for backup: the pre-backup hook succeeded.' },
  ]);
  assert.equal(strip(s.status!.targets![1].conditions), [
    { type: 'ReadyForBackup', status: 'True', reason: 'NoPreHook', message: 'Ready for backup: no pre-backup hook is set.' },
  ]);
  assert.not.ok(openGate(s, 0, true, NOW), 'same gate again: unchanged');
  assert.equal(
    s.status!.targets!.map((t) => t.phase),
    ['Pending', 'Pending'],
    'an open gate leaves the phase to the executor',
  );

  const c = backup();
  assert.ok(closeGate(c, 1, 'preBackup hook failed.', NOW));
  assert.equal(strip(c.status!.targets![1].conditions), [
    { type: 'ReadyForBackup', status: 'False', reason: 'PreHookFailed', message: 'Skipping backup: preBackup hook failed.' },
  ]);
  assert.equal(
    c.status!.targets!.map((t) => t.phase),
    ['Pending', 'Failed'],
  );
  assert.not.ok(closeGate(c, 1, 'preBackup hook failed.', NOW));
  assert.ok(gateSet(c, 1) && !gateSet(c, 0));
  assert.ok(preHookFailed(c, 1) && !preHookFailed(c, 0));

  const done = backup([{ phase: 'Succeeded' }]);
  closeGate(done, 0, 'x', NOW);
  assert.is(done.status!.targets![0].phase, 'Succeeded', "a finished target keeps the executor's word");

  const r = restore();
  assert.not.ok(gateSet(r, 0));
  assert.ok(closeGate(r, 0, 'preRestore hook failed.', NOW));
  assert.equal(strip(r.status!.conditions), [
    { type: 'ReadyForRestore', status: 'False', reason: 'PreHookFailed', message: 'Skipping restore: preRestore hook failed.' },
  ]);
  assert.ok(gateSet(r, 0) && preHookFailed(r, 0));
});

test('preHookFailed also reads a False pre hook condition whose gate is not written yet', () => {
  const s = backup([{ phase: 'Pending', conditions: [hookCondition('preBackup', 'local', { kind: 'failed', error: 'x' })] }]);
  assert.ok(preHookFailed(s, 0));
  const r = restore();
  r.status!.conditions = [hookCondition('preRestore', 'local', { kind: 'failed', error: 'x' })];
  assert.ok(preHookFailed(r, 0));
});

test('initiateSession: targets Pending, phase Running, the deadline; idempotent; initiated targets kept', () => {
  const s: BackupSession = { ...backup(), status: {} };
  const deadline = Date.parse('2026-01-01T00:30:00.500Z');
  assert.ok(initiateSession(s, [ref('a'), ref('b')], deadline));
  assert.equal(s.status, {
    phase: 'Running',
    sessionDeadline: '2026-01-01T00:30:00Z',
    targets: [
      { ref: ref('a'), phase: 'Pending' },
      { ref: ref('b'), phase: 'Pending' },
    ],
  });
  assert.not.ok(initiateSession(s, [ref('a'), ref('b')], deadline));
  s.status!.targets![0].phase = 'Running';
  assert.not.ok(initiateSession(s, [ref('a'), ref('b')], deadline));
  assert.is(s.status!.targets![0].phase, 'Running');

  const r = restore();
  assert.ok(initiateSession(r, [ref('app')], deadline));
  assert.equal(r.status, { phase: 'Running', sessionDeadline: '2026-01-01T00:30:00Z' });
});

test('markDeadlineExceeded: the condition with the timeOut as written, the target Failed; once', () => {
  const s = backup([{ phase: 'Running' }]);
  assert.ok(markDeadlineExceeded(s, 0, '2s', NOW));
  assert.equal(strip(s.status!.conditions), [
    { type: 'DeadlineExceeded', status: 'True', reason: 'FailedToCompleteWithinDeadline', message: 'Failed to complete backup within 2s.' },
  ]);
  assert.is(s.status!.targets![0].phase, 'Failed');
  assert.not.ok(markDeadlineExceeded(s, 0, '2s', NOW));
  const r = restore();
  assert.ok(markDeadlineExceeded(r, 0, '1h30m', NOW));
  assert.is(r.status!.conditions![0].message, 'Failed to complete restore within 1h30m0s.');
});

test('setFinalPhase: phase and sessionDuration once; a finished session is never touched', () => {
  const s = backup();
  assert.ok(setFinalPhase(s, 'Failed', NOW.getTime()));
  assert.equal([s.status!.phase, s.status!.sessionDuration], ['Failed', '1m5s']);
  assert.not.ok(setFinalPhase(s, 'Succeeded', NOW.getTime() + 60_000));
  assert.equal([s.status!.phase, s.status!.sessionDuration], ['Failed', '1m5s']);
  for (const phase of ['Succeeded', 'Skipped'] as const) {
    const done = backup();
    done.status!.phase = phase;
    assert.not.ok(setFinalPhase(done, 'Failed', NOW.getTime()), phase);
  }
  const noCreation = backup();
  delete noCreation.metadata.creationTimestamp;
  setFinalPhase(noCreation, 'Succeeded', NOW.getTime());
  assert.is(noCreation.status!.sessionDuration, '0s');
});

test('failTargetAfterPostHook: a failed local post hook fails even a Succeeded target; once; not a restore', () => {
  const s = backup([{ phase: 'Succeeded', stats: [{ hostname: 'h', phase: 'Succeeded' }] }, { phase: 'Succeeded' }]);
  assert.ok(failTargetAfterPostHook(s, 0));
  assert.equal(
    s.status!.targets!.map((t) => t.phase),
    ['Failed', 'Succeeded'],
  );
  assert.equal(s.status!.targets![0].stats, [{ hostname: 'h', phase: 'Succeeded' }], 'host stats stand');
  assert.not.ok(failTargetAfterPostHook(s, 0));
  assert.not.ok(failTargetAfterPostHook(s, 5), 'no such target');
  assert.not.ok(failTargetAfterPostHook(restore(), 0));
});

test('globalPreFailed reads the session condition', () => {
  const s = backup();
  assert.not.ok(globalPreFailed(s));
  recordHookCondition(s, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'succeeded' }), NOW);
  assert.not.ok(globalPreFailed(s));
  const f = backup();
  recordHookCondition(f, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'failed', error: 'x' }), NOW);
  assert.ok(globalPreFailed(f));
});

test('recordUnrunPostHooks: a post hook with a spec but no condition at finalize is recorded failed; others are left alone', () => {
  const batch: BackupBatch = {
    kind: 'BackupBatch',
    metadata: { name: 'b', namespace: 'ns' },
    spec: {
      hooks: { postBackup: { httpGet: { host: 'h', port: 80 } } },
      members: [
        { target: { ref: ref('t0') }, hooks: { postBackup: { httpGet: { host: 'h', port: 80 } } } },
        { target: { ref: ref('t1') }, hooks: { postBackup: { httpGet: { host: 'h', port: 80 } } } },
        { target: { ref: ref('t2') } },
      ],
    },
  };
  const s = backup([{ phase: 'Succeeded' }, { phase: 'Failed' }, { phase: 'Succeeded' }]);
  closeGate(s, 1, 'preBackup hook failed.', NOW);
  assert.ok(recordUnrunPostHooks(s, batch, 'postBackup', 3, NOW));
  const failed = hookCondition('postBackup', 'local', { kind: 'failed', error: UNRUN_HOOK_ERROR });
  assert.equal(strip(s.status!.targets![0].conditions), strip([failed]));
  assert.not.ok(
    s.status!.targets![1].conditions!.some((c) => c.type === 'PostBackupHookExecutionSucceeded'),
    'pre failed: its post legitimately did not run',
  );
  assert.is(s.status!.targets![2].conditions, undefined, 'no post hook: nothing recorded');
  assert.equal(strip(s.status!.conditions), strip([hookCondition('postBackup', 'global', { kind: 'failed', error: UNRUN_HOOK_ERROR })]));
  assert.not.ok(recordUnrunPostHooks(s, batch, 'postBackup', 3, NOW), 'a second call changes nothing');

  const settled = backup();
  recordHookCondition(settled, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'failed', error: 'x' }), NOW);
  assert.not.ok(recordUnrunPostHooks(settled, batch, 'postBackup', 2, NOW), 'a failed global pre runs no post hook');
});

// The record outside Redis (docs/reliability.md): a hook's run is recorded before its action.
const RUN = { worker: 'pod-a/0a1b2c3d', attempt: 1, startedAt: '2026-01-01T00:01:05.123Z', timeoutSeconds: 30 };

test('a HookRunning condition reads back as the run record, and is not an outcome', () => {
  const c = hookRunningCondition('preBackup', 'local', RUN);
  assert.equal(
    { status: c.status, reason: c.reason, message: c.message },
    {
      status: 'Unknown',
      reason: 'HookRunning',
      message: 'Running preBackup hook: worker pod-a/0a1b2c3d, attempt 1, started 2026-01-01T00:01:05.123Z, timeout 30s.',
    },
  );
  assert.equal(parseHookRunning(c), RUN);
  assert.equal(parseHookRunning(hookRunningCondition('postBackup', 'global', RUN)), RUN);
  assert.is(parseHookRunning(hookCondition('preBackup', 'local', { kind: 'succeeded' })), undefined);
  const s = backup();
  assert.is(recordHookStart(s, 'preBackup', 'local', 1, RUN, undefined, NOW), 'started');
  assert.equal(hookRunRecord(s, 'preBackup', 'local', 1), RUN);
  assert.is(recordedHookCondition(s, 'preBackup', 'local', 1), undefined, 'running is not recorded');
  assert.is(hookRunRecord(s, 'preBackup', 'local', 0), undefined);
});

test('recordHookStart: once per run — an outcome or another worker that started meanwhile wins', () => {
  const s = backup();
  const other = { ...RUN, worker: 'pod-b/ffff0000', startedAt: '2026-01-01T00:01:06.000Z' };
  assert.is(recordHookStart(s, 'preBackup', 'local', 0, RUN, undefined, NOW), 'started');
  // A second worker that read the session before the first record: it lost the race.
  assert.is(recordHookStart(s, 'preBackup', 'local', 0, other, undefined, NOW), 'taken');
  // One that judged this very record (its worker gone) takes it over.
  assert.is(recordHookStart(s, 'preBackup', 'local', 0, other, RUN, NOW), 'started');
  assert.equal(hookRunRecord(s, 'preBackup', 'local', 0), other);
  // The outcome replaces the record; after it nobody starts the hook.
  assert.ok(recordHookCondition(s, 'preBackup', 'local', 0, hookCondition('preBackup', 'local', { kind: 'succeeded' }), NOW));
  assert.is(recordedHookCondition(s, 'preBackup', 'local', 0)?.status, 'True');
  assert.is(recordHookStart(s, 'preBackup', 'local', 0, RUN, other, NOW), 'recorded');
  assert.is(s.status!.targets![0].conditions!.filter((c) => c.type === 'PreBackupHookExecutionSucceeded').length, 1);
});

test("clearHookStart removes only its own worker's record (a run that ended without an outcome)", () => {
  const r = restore();
  assert.is(recordHookStart(r, 'preRestore', 'local', undefined, RUN, undefined, NOW), 'started');
  assert.not.ok(clearHookStart(r, 'preRestore', 'local', undefined, 'pod-b/ffff0000'));
  assert.ok(hookRunRecord(r, 'preRestore', 'local'));
  assert.ok(clearHookStart(r, 'preRestore', 'local', undefined, RUN.worker));
  assert.is(hookRunRecord(r, 'preRestore', 'local'), undefined);
  assert.not.ok(clearHookStart(r, 'preRestore', 'local', undefined, RUN.worker));
});

test.run();
