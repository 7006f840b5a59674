// shared/session-state.ts: the pure reads the watcher, coordinator and hook workers share.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  deadlineOf,
  evaluatePolicy,
  finalPhase,
  hookSpec,
  isTargetComplete,
  isTargetFailed,
  isTerminal,
  kindOf,
  recordedHookCondition,
  targetRefs,
} from '../../shared/session-state.js';
import type { BackupBatch, BackupConfiguration, BackupSession, BackupTargetStatus, Condition, HostStats, RestoreSession } from '../../shared/resources.js';

const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });
const c = (type: string, status: 'True' | 'False'): Condition => ({ type, status, reason: 'r', message: 'm' });

function backup(targets: Array<Partial<BackupTargetStatus>> = [], conditions?: Condition[], extra: Partial<BackupSession['status']> = {}): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: 's', namespace: 'ns', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { invoker: { kind: 'BackupConfiguration', name: 'cfg' } },
    status: { targets: targets.map((t, i) => ({ ref: ref(`t${i}`), ...t })), ...(conditions ? { conditions } : {}), ...extra },
  };
}

function restore(status: RestoreSession['status'] = {}): RestoreSession {
  return {
    kind: 'RestoreSession',
    metadata: { name: 'r', namespace: 'ns', uid: 'u2', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { target: { ref: ref('app') } },
    status,
  };
}

const hosts = (...phases: HostStats['phase'][]): HostStats[] => phases.map((phase, i) => ({ hostname: `h${i}`, phase }));

test('evaluatePolicy: every policy × phase × retryLeft', () => {
  const rows: Array<[string | undefined, 'Succeeded' | 'Failed', number, boolean]> = [
    [undefined, 'Succeeded', 0, true],
    [undefined, 'Failed', 0, true],
    ['Always', 'Succeeded', 0, true],
    ['Always', 'Failed', 3, true],
    ['OnSuccess', 'Succeeded', 0, true],
    ['OnSuccess', 'Failed', 0, false],
    ['OnFailure', 'Succeeded', 0, false],
    ['OnFailure', 'Failed', 0, true],
    ['OnFailure', 'Failed', 2, true],
    ['OnFinalRetryFailure', 'Failed', 0, true],
    ['OnFinalRetryFailure', 'Failed', 1, false],
    ['OnFinalRetryFailure', 'Succeeded', 0, false],
    ['OnFinalRetryFailure', 'Succeeded', 1, false],
    ['Sometimes', 'Succeeded', 0, false],
  ];
  for (const [policy, phase, retryLeft, run] of rows) {
    const d = evaluatePolicy(policy, phase, retryLeft);
    assert.equal(d, run ? { run: true } : { run: false, policy: policy ?? 'Always', phase }, `${policy} ${phase} retryLeft=${retryLeft}`);
  }
});

test('isTargetComplete / isTargetFailed: backup target phases and restore host reports', () => {
  const rows: Array<[string, BackupSession | RestoreSession, number, boolean, boolean]> = [
    ['backup Pending', backup([{ phase: 'Pending' }]), 0, false, false],
    ['backup Running', backup([{ phase: 'Running' }]), 0, false, false],
    ['backup Succeeded', backup([{ phase: 'Succeeded' }]), 0, true, false],
    ['backup Failed', backup([{ phase: 'Failed' }]), 0, true, true],
    ['backup second target', backup([{ phase: 'Succeeded' }, { phase: 'Running' }]), 1, false, false],
    ['backup target not initiated', backup([]), 0, false, false],
    ['restore nothing yet', restore({}), 0, false, false],
    ['restore started', restore({ totalHosts: 2 }), 0, false, false],
    ['restore one of two hosts', restore({ totalHosts: 2, stats: hosts('Succeeded') }), 0, false, false],
    ['restore all hosts ok', restore({ totalHosts: 2, stats: hosts('Succeeded', 'Succeeded') }), 0, true, false],
    ['restore a host failed', restore({ totalHosts: 2, stats: hosts('Succeeded', 'Failed') }), 0, true, true],
    ['restore a host Unknown', restore({ totalHosts: 1, stats: hosts('Unknown') }), 0, true, true],
    ['restore zero hosts', restore({ totalHosts: 0, stats: [] }), 0, false, false],
  ];
  for (const [what, s, i, complete, failed] of rows) {
    assert.is(isTargetComplete(s, i), complete, `${what}: complete`);
    if (complete) assert.is(isTargetFailed(s, i), failed, `${what}: failed`);
  }
});

test('finalPhase: Failed on a failed target, a False hook condition or the deadline; else Succeeded', () => {
  const rows: Array<[string, BackupSession | RestoreSession, number, 'Succeeded' | 'Failed']> = [
    ['all targets Succeeded', backup([{ phase: 'Succeeded' }, { phase: 'Succeeded' }]), 2, 'Succeeded'],
    ['a target Failed', backup([{ phase: 'Succeeded' }, { phase: 'Failed' }]), 2, 'Failed'],
    ['a target never completed', backup([{ phase: 'Succeeded' }, { phase: 'Running' }]), 2, 'Failed'],
    ['fewer targets initiated than the invoker has', backup([{ phase: 'Succeeded' }]), 2, 'Failed'],
    ['a local post hook False', backup([{ phase: 'Succeeded', conditions: [c('PostBackupHookExecutionSucceeded', 'False')] }]), 1, 'Failed'],
    [
      'a True hook condition and an open gate',
      backup([{ phase: 'Succeeded', conditions: [c('PreBackupHookExecutionSucceeded', 'True'), c('ReadyForBackup', 'True')] }]),
      1,
      'Succeeded',
    ],
    ['a global post hook False', backup([{ phase: 'Succeeded' }], [c('GlobalPostBackupHookSucceeded', 'False')]), 1, 'Failed'],
    ['DeadlineExceeded', backup([{ phase: 'Succeeded' }], [c('DeadlineExceeded', 'True')]), 1, 'Failed'],
    ['restore Succeeded', restore({ totalHosts: 1, stats: hosts('Succeeded'), conditions: [c('ReadyForRestore', 'True')] }), 1, 'Succeeded'],
    ['restore host Failed', restore({ totalHosts: 1, stats: hosts('Failed') }), 1, 'Failed'],
    ['restore gate closed', restore({ conditions: [c('ReadyForRestore', 'False')] }), 1, 'Failed'],
    [
      'restore postRestore False',
      restore({ totalHosts: 1, stats: hosts('Succeeded'), conditions: [c('PostRestoreHookExecutionSucceeded', 'False')] }),
      1,
      'Failed',
    ],
    ['restore incomplete', restore({ totalHosts: 2, stats: hosts('Succeeded') }), 1, 'Failed'],
  ];
  for (const [what, s, n, phase] of rows) assert.is(finalPhase(s, n), phase, what);
});

test('deadlineOf: creation + spec.timeOut as written, else the default, formatted', () => {
  const created = Date.parse('2026-01-01T00:00:00Z');
  const s = backup();
  const cfg = (timeOut?: string): BackupConfiguration => ({
    kind: 'BackupConfiguration',
    metadata: { name: 'cfg' },
    spec: timeOut === undefined ? {} : { timeOut },
  });
  assert.equal(deadlineOf(s, cfg('30m'), 1000), { deadlineMs: created + 30 * 60_000, timeOut: '30m' });
  assert.equal(deadlineOf(s, cfg('1h30m'), 1000), { deadlineMs: created + 90 * 60_000, timeOut: '1h30m' });
  assert.equal(deadlineOf(s, cfg('2s'), 1000), { deadlineMs: created + 2000, timeOut: '2s' });
  assert.equal(deadlineOf(s, cfg(), 24 * 3_600_000), { deadlineMs: created + 24 * 3_600_000, timeOut: '24h' });
  assert.equal(deadlineOf(s, cfg('soon'), 120_000), { deadlineMs: created + 120_000, timeOut: '2m' }, 'an unparseable timeOut falls back');
  assert.equal(deadlineOf(s, cfg('0s'), 90_000), { deadlineMs: created + 90_000, timeOut: '90s' }, 'a zero timeOut falls back');
  assert.equal(deadlineOf(s, undefined, 60_000), { deadlineMs: created + 60_000, timeOut: '1m' });
  const r = restore();
  r.spec.timeOut = '10m';
  assert.equal(deadlineOf(r, r, 1000), { deadlineMs: created + 600_000, timeOut: '10m' }, 'a RestoreSession is its own invoker');
});

test('targets and hook specs of a BackupConfiguration, a BackupBatch and a RestoreSession', () => {
  const pre = { exec: { command: ['true'] } };
  const post = { httpGet: { host: 'x', port: 80 }, executionPolicy: 'OnFailure' as const };
  const cfg: BackupConfiguration = { kind: 'BackupConfiguration', metadata: { name: 'cfg' }, spec: { target: { ref: ref('app') }, hooks: { preBackup: pre } } };
  const batch: BackupBatch = {
    kind: 'BackupBatch',
    metadata: { name: 'b' },
    spec: {
      hooks: { postBackup: post },
      members: [{ target: { ref: { ...ref('a'), namespace: 'other' } } }, { target: { ref: ref('b') }, hooks: { preBackup: pre } }],
    },
  };
  const rs = restore();
  rs.spec.hooks = { postRestore: pre };
  assert.equal(targetRefs(cfg, 'ns'), [{ ...ref('app'), namespace: 'ns' }]);
  assert.equal(targetRefs(batch, 'ns'), [
    { ...ref('a'), namespace: 'other' },
    { ...ref('b'), namespace: 'ns' },
  ]);
  assert.equal(targetRefs(rs, 'ns'), [{ ...ref('app'), namespace: 'ns' }]);
  assert.equal(hookSpec(cfg, 'preBackup', 'local', 0), pre);
  assert.is(hookSpec(cfg, 'preBackup', 'global'), undefined, 'a BackupConfiguration has no global hooks');
  assert.equal(hookSpec(batch, 'postBackup', 'global'), post);
  assert.is(hookSpec(batch, 'preBackup', 'local', 0), undefined);
  assert.equal(hookSpec(batch, 'preBackup', 'local', 1), pre);
  assert.equal(hookSpec(rs, 'postRestore', 'local', 0), pre);
  assert.is(hookSpec(rs, 'preRestore', 'local', 0), undefined);
});

test('recorded hook conditions: local backup hooks on the target, global and restore hooks on the session', () => {
  const s = backup([{ conditions: [c('PreBackupHookExecutionSucceeded', 'True')] }, {}], [c('GlobalPreBackupHookSucceeded', 'False')]);
  assert.is(recordedHookCondition(s, 'preBackup', 'local', 0)?.status, 'True');
  assert.is(recordedHookCondition(s, 'preBackup', 'local', 1), undefined);
  assert.is(recordedHookCondition(s, 'preBackup', 'global')?.status, 'False');
  assert.is(recordedHookCondition(s, 'postBackup', 'global'), undefined);
  const r = restore({ conditions: [c('PreRestoreHookExecutionSucceeded', 'True')] });
  assert.is(recordedHookCondition(r, 'preRestore', 'local', 0)?.status, 'True');
});

test('isTerminal and kindOf', () => {
  for (const phase of ['Succeeded', 'Failed', 'Skipped'] as const) assert.ok(isTerminal(backup([], undefined, { phase })), phase);
  for (const phase of [undefined, 'Pending', 'Running'] as const) assert.not.ok(isTerminal(backup([], undefined, { phase })), String(phase));
  const { kind: _k, ...noKind } = backup();
  assert.is(kindOf(noKind as BackupSession), 'BackupSession', 'told apart by spec.invoker');
  const { kind: _r, ...noKindR } = restore();
  assert.is(kindOf(noKindR as RestoreSession), 'RestoreSession');
});

test.run();
