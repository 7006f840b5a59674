// shared/summary.ts: Stash's hook summary as a pure function, table-tested.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BackupBatch, BackupConfiguration, BackupSession, RestoreSession } from '../../shared/resources.js';
import { buildSummary } from '../../shared/summary.js';
import { finalPhase } from '../../shared/session-state.js';

const created = '2026-11-26T07:00:00Z';
const at = (s: number) => Date.parse(created) + s * 1000;
const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'stash-demo' };
const db = { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'mysql', namespace: 'data' };

function backupSession(status: BackupSession['status'], spec: BackupSession['spec'] = {}): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: 'deployment-backup-1646741400', namespace: 'demo', creationTimestamp: created },
    spec: { invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'deployment-backup' }, ...spec },
    status,
  };
}

const config: BackupConfiguration = {
  kind: 'BackupConfiguration',
  metadata: { name: 'deployment-backup', namespace: 'demo' },
  spec: { target: { ref: deploy } },
};
const batch: BackupBatch = {
  kind: 'BackupBatch',
  metadata: { name: 'nightly', namespace: 'demo' },
  spec: { members: [{ target: { ref: deploy } }, { target: { ref: db } }] },
};

test('a session with nothing failed: Succeeded, Go-style duration, invoker and target', () => {
  const s = buildSummary({ session: backupSession({ targets: [{ ref: deploy, phase: 'Succeeded' }] }), invoker: config, targetIndex: 0, now: at(65) });
  assert.equal(s, {
    name: 'deployment-backup-1646741400',
    namespace: 'demo',
    invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'deployment-backup' },
    target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'stash-demo', namespace: 'demo' },
    status: { phase: 'Succeeded', duration: '1m5s', error: '' },
    retryLeft: 0,
  });
});

test("the seed's example: a failed host gives Failed and the host's error", () => {
  const session = backupSession({
    targets: [{ ref: deploy, phase: 'Failed', stats: [{ hostname: 'host-0', phase: 'Failed', error: 'failed to backup host-0. Reason: path not found' }] }],
  });
  const s = buildSummary({ session, invoker: config, targetIndex: 0, now: at(10) });
  assert.equal(s.status, { phase: 'Failed', duration: '10s', error: 'failed to backup host-0. Reason: path not found' });
});

const cases: Array<[string, BackupSession['status'], number | undefined, string, string]> = [
  ['host without an error text', { targets: [{ ref: deploy, stats: [{ hostname: 'host-1', phase: 'Failed' }] }] }, 0, 'Failed', 'host host-1 failed'],
  [
    'a False target condition',
    {
      targets: [
        { ref: deploy, conditions: [{ type: 'PreBackupHookExecutionSucceeded', status: 'False', message: 'Failed to execute preBackup hook. Reason: boom' }] },
      ],
    },
    0,
    'Failed',
    'Failed to execute preBackup hook. Reason: boom',
  ],
  [
    'host error before condition message',
    {
      targets: [
        { ref: deploy, stats: [{ hostname: 'h', phase: 'Failed', error: 'host first' }], conditions: [{ type: 'X', status: 'False', message: 'cond' }] },
      ],
    },
    0,
    'Failed',
    'host first',
  ],
  [
    'a False session condition',
    { conditions: [{ type: 'GlobalPreBackupHookSucceeded', status: 'False', message: 'Failed to execute global PreBackup Hook. Reason: x.' }] },
    0,
    'Failed',
    'Failed to execute global PreBackup Hook. Reason: x.',
  ],
  [
    'deadline exceeded',
    { conditions: [{ type: 'DeadlineExceeded', status: 'True', message: 'Failed to complete backup within 30m.' }] },
    0,
    'Failed',
    'Failed to complete backup within 30m.',
  ],
  ['a Failed target without host errors', { targets: [{ ref: deploy, phase: 'Failed' }] }, 0, 'Failed', 'backup of Deployment stash-demo failed'],
  [
    'True conditions and succeeded hosts',
    { targets: [{ ref: deploy, stats: [{ hostname: 'h', phase: 'Succeeded' }], conditions: [{ type: 'X', status: 'True' }] }] },
    0,
    'Succeeded',
    '',
  ],
  [
    "another target's failure does not leak into a local summary",
    {
      targets: [
        { ref: deploy, phase: 'Succeeded' },
        { ref: db, phase: 'Failed', stats: [{ hostname: 'h', phase: 'Failed', error: 'db down' }] },
      ],
    },
    0,
    'Succeeded',
    '',
  ],
  [
    "a global summary sees every target's failure",
    {
      targets: [
        { ref: deploy, phase: 'Succeeded' },
        { ref: db, phase: 'Failed', stats: [{ hostname: 'h', phase: 'Failed', error: 'db down' }] },
      ],
    },
    undefined,
    'Failed',
    'db down',
  ],
];
for (const [name, status, index, phase, error] of cases) {
  test(`phase: ${name}`, () => {
    const s = buildSummary({ session: backupSession(status), invoker: batch, targetIndex: index, now: at(1) });
    assert.is(s.status.phase, phase);
    assert.is(s.status.error, error);
  });
}

test('targets: from status, else the batch member, with the namespace defaulted; global has none', () => {
  assert.equal(buildSummary({ session: backupSession({}), invoker: batch, targetIndex: 1, now: at(0) }).target, { ...db, namespace: 'data' });
  assert.equal(buildSummary({ session: backupSession({}), invoker: config, targetIndex: 0, now: at(0) }).target, { ...deploy, namespace: 'demo' });
  assert.equal(buildSummary({ session: backupSession({}), invoker: batch, now: at(0) }).target, { apiVersion: '', kind: '', name: '', namespace: '' });
});

test('retryLeft comes from the BackupSession; durations round like Go', () => {
  assert.is(buildSummary({ session: backupSession({}, { retryLeft: 2 }), now: at(0) }).retryLeft, 2);
  assert.is(buildSummary({ session: backupSession({}), now: at(3600) }).status.duration, '1h0m0s');
  assert.is(buildSummary({ session: backupSession({}), now: at(0.4) }).status.duration, '0s');
});

test('a RestoreSession is its own invoker; its host stats decide the phase', () => {
  const restore: RestoreSession = {
    kind: 'RestoreSession',
    metadata: { name: 'restore-db', namespace: 'demo', creationTimestamp: created },
    spec: { target: { ref: db } },
    status: { stats: [{ hostname: 'host-0', phase: 'Failed', error: 'restore failed: wrong password' }] },
  };
  const s = buildSummary({ session: restore, now: at(125) });
  assert.equal(s.invoker, { apiGroup: 'stash.appscode.com', kind: 'RestoreSession', name: 'restore-db' });
  assert.equal(s.target, { ...db, namespace: 'data' });
  assert.equal(s.status, { phase: 'Failed', duration: '2m5s', error: 'restore failed: wrong password' });
  assert.is(s.retryLeft, 0);
});

test('a restored host in phase Unknown fails the restore, as it fails the final phase', () => {
  const restore: RestoreSession = {
    kind: 'RestoreSession',
    metadata: { name: 'restore-db', namespace: 'demo', creationTimestamp: created },
    spec: { target: { ref: db } },
    status: {
      totalHosts: 2,
      stats: [
        { hostname: 'host-0', phase: 'Succeeded' },
        { hostname: 'host-1', phase: 'Unknown' },
      ],
    },
  };
  assert.equal(buildSummary({ session: restore, now: at(5) }).status, { phase: 'Failed', duration: '5s', error: 'host host-1 ended in phase Unknown' });
  assert.is(finalPhase(restore, 1), 'Failed');
});

test("a global summary goes target by target, each target's hosts then conditions (Stash getTargetBackupSummary)", () => {
  const status: BackupSession['status'] = {
    targets: [
      {
        ref: deploy,
        phase: 'Failed',
        conditions: [{ type: 'PreBackupHookExecutionSucceeded', status: 'False', message: 'Failed to execute preBackup hook. Reason: first target' }],
      },
      { ref: db, phase: 'Failed', stats: [{ hostname: 'h', phase: 'Failed', error: 'second target host' }] },
    ],
    conditions: [{ type: 'GlobalPreBackupHookSucceeded', status: 'False', message: 'session level' }],
  };
  assert.is(
    buildSummary({ session: backupSession(status), invoker: batch, now: at(1) }).status.error,
    'Failed to execute preBackup hook. Reason: first target',
  );
  assert.is(buildSummary({ session: backupSession(status), invoker: batch, targetIndex: 1, now: at(1) }).status.error, 'second target host');
  const targetsFine: BackupSession['status'] = {
    ...status,
    targets: [
      { ref: deploy, phase: 'Succeeded' },
      { ref: db, phase: 'Failed' },
    ],
  };
  assert.is(
    buildSummary({ session: backupSession(targetsFine), invoker: batch, now: at(1) }).status.error,
    'session level',
    'session conditions before our target-phase fallback',
  );
});

test('a restore reports the first host that is not Succeeded, in stats order (Stash checkRestoreFailureInHostStatus)', () => {
  const restore: RestoreSession = {
    kind: 'RestoreSession',
    metadata: { name: 'restore-db', namespace: 'demo', creationTimestamp: created },
    spec: { target: { ref: db } },
    status: {
      totalHosts: 3,
      stats: [
        { hostname: 'host-0', phase: 'Succeeded' },
        { hostname: 'host-1', phase: 'Unknown', error: 'lost track of host-1' },
        { hostname: 'host-2', phase: 'Failed', error: 'host-2 failed' },
      ],
      conditions: [{ type: 'PreRestoreHookExecutionSucceeded', status: 'False', message: 'hook' }],
    },
  };
  assert.is(buildSummary({ session: restore, now: at(1) }).status.error, 'lost track of host-1');
  restore.status!.stats = [{ hostname: 'host-0', phase: 'Succeeded' }];
  assert.is(buildSummary({ session: restore, now: at(1) }).status.error, 'hook');
});

test.run();
