import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upsertCondition, hookCondition, deadlineExceededCondition, gateCondition, hookConditionType, findCondition } from '../../shared/conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

test('upsert inserts a new condition with lastTransitionTime', () => {
  const { conditions, changed } = upsertCondition(undefined, { type: 'A', status: 'True', reason: 'R', message: 'm' }, t0);
  assert.ok(changed);
  assert.equal(conditions, [{ type: 'A', status: 'True', reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
});

test('rewriting an identical condition changes nothing and keeps lastTransitionTime', () => {
  const first = upsertCondition([], { type: 'A', status: 'True', reason: 'R', message: 'm' }, t0).conditions;
  const again = upsertCondition(first, { type: 'A', status: 'True', reason: 'R', message: 'm' }, t1);
  assert.not.ok(again.changed);
  assert.is(again.conditions[0].lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('a new message or reason with the same status moves lastTransitionTime (kmodules SetCondition)', () => {
  const first = upsertCondition([], { type: 'A', status: 'True', reason: 'R', message: 'm' }, t0).conditions;
  const message = upsertCondition(first, { type: 'A', status: 'True', reason: 'R', message: 'other' }, t1);
  assert.ok(message.changed);
  assert.equal(message.conditions[0], { type: 'A', status: 'True', reason: 'R', message: 'other', lastTransitionTime: '2026-01-01T00:05:00Z' });
  const reason = upsertCondition(first, { type: 'A', status: 'True', reason: 'R2', message: 'm' }, t1);
  assert.ok(reason.changed);
  assert.is(reason.conditions[0].lastTransitionTime, '2026-01-01T00:05:00Z');
});

test('a condition from an older observedGeneration does not replace a newer one', () => {
  const first = upsertCondition([], { type: 'A', status: 'True', reason: 'R', message: 'm', observedGeneration: 3 }, t0).conditions;
  const stale = upsertCondition(first, { type: 'A', status: 'False', reason: 'F', message: 'x', observedGeneration: 2 }, t1);
  assert.not.ok(stale.changed);
  assert.equal(stale.conditions, first);
  const newer = upsertCondition(first, { type: 'A', status: 'True', reason: 'R', message: 'm', observedGeneration: 4 }, t1);
  assert.ok(newer.changed);
  assert.is(newer.conditions[0].lastTransitionTime, '2026-01-01T00:05:00Z');
});

test('a status change moves lastTransitionTime; other conditions are untouched; input not mutated', () => {
  const input = [
    { type: 'B', status: 'True' as const, lastTransitionTime: '2025-01-01T00:00:00Z' },
    { type: 'A', status: 'True' as const, reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' },
  ];
  const snapshot = JSON.stringify(input);
  const next = upsertCondition(input, { type: 'A', status: 'False', reason: 'F', message: 'bad' }, t1);
  assert.ok(next.changed);
  assert.equal(next.conditions[1], { type: 'A', status: 'False', reason: 'F', message: 'bad', lastTransitionTime: '2026-01-01T00:05:00Z' });
  assert.equal(next.conditions[0], input[0]);
  assert.is(JSON.stringify(input), snapshot);
  assert.is(findCondition(next.conditions, 'A')?.status, 'False');
});

test("local hook conditions use Stash's exact strings", () => {
  assert.equal(hookCondition('preBackup', 'local', { kind: 'succeeded' }), {
    type: 'PreBackupHookExecutionSucceeded',
    status: 'True',
    reason: 'SuccessfullyExecutedPreBackupHook',
    message: 'Successfully executed preBackup hook.',
  });
  assert.equal(hookCondition('preBackup', 'local', { kind: 'failed', error: 'HTTP GET http://x/ returned 503' }), {
    type: 'PreBackupHookExecutionSucceeded',
    status: 'False',
    reason: 'FailedToExecutePreBackupHook',
    message: 'Failed to execute preBackup hook. Reason: HTTP GET http://x/ returned 503',
  });
  assert.equal(hookCondition('postBackup', 'local', { kind: 'skipped', policy: 'OnFailure', phase: 'Succeeded' }), {
    type: 'PostBackupHookExecutionSucceeded',
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".',
  });
  assert.equal(hookCondition('postRestore', 'local', { kind: 'failed', error: 'x' }).reason, 'FailedToExecutePostRestoreHook');
  assert.is(hookCondition('preRestore', 'local', { kind: 'succeeded' }).message, 'Successfully executed preRestore hook.');
  assert.is(hookConditionType('postRestore', 'local'), 'PostRestoreHookExecutionSucceeded');
});

test("global hook conditions use Stash's exact strings", () => {
  assert.equal(hookCondition('preBackup', 'global', { kind: 'succeeded' }), {
    type: 'GlobalPreBackupHookSucceeded',
    status: 'True',
    reason: 'GlobalPreBackupHookExecutedSuccessfully',
    message: 'Global PreBackup hook has been executed successfully',
  });
  assert.equal(hookCondition('postBackup', 'global', { kind: 'failed', error: 'exit 1' }), {
    type: 'GlobalPostBackupHookSucceeded',
    status: 'False',
    reason: 'GlobalPostBackupHookExecutionFailed',
    message: 'Failed to execute global PostBackup Hook. Reason: exit 1.',
  });
  assert.throws(() => hookConditionType('preRestore', 'global'), /no global preRestore hooks/);
});

test('deadline and gate conditions', () => {
  assert.equal(deadlineExceededCondition('backup', '30m'), {
    type: 'DeadlineExceeded',
    status: 'True',
    reason: 'FailedToCompleteWithinDeadline',
    message: 'Failed to complete backup within 30m0s.',
  });
  assert.is(deadlineExceededCondition('restore', '1h').message, 'Failed to complete restore within 1h0m0s.');
  assert.is(deadlineExceededCondition('backup', '90s').message, 'Failed to complete backup within 1m30s.');
  assert.is(deadlineExceededCondition('backup', '1.5h').message, 'Failed to complete backup within 1h30m0s.');
  assert.is(deadlineExceededCondition('backup', 'soon').message, 'Failed to complete backup within soon.');
  assert.equal(gateCondition('backup', true, 'PreHookSucceeded'), {
    type: 'ReadyForBackup',
    status: 'True',
    reason: 'PreHookSucceeded',
    message: 'Ready for backup: the pre-backup hook succeeded.',
  });
  assert.equal(gateCondition('restore', false, 'PreHookFailed', 'preRestore hook failed.'), {
    type: 'ReadyForRestore',
    status: 'False',
    reason: 'PreHookFailed',
    message: 'Skipping restore: preRestore hook failed.',
  });
});

test.run();
