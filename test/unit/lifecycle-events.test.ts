// producers/lifecycle-events.ts: which lifecycle events an observed session implies, and their
// job ids — the same observation always yields the same ids, so repeats are dropped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deriveLifecycleEvents, sessionRefOf, type WatchEventType } from '../../producers/lifecycle-events.js';
import { lifecycleJobId } from '../../shared/queues.js';
import type { BackupSession, BackupTargetStatus, RestoreSession, Session } from '../../shared/resources.js';

const AT = 1_700_000_000_000;
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });

function backup(phase: string | undefined, targets: Array<BackupTargetStatus['phase']> = []): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: 'bs', namespace: 'ns', uid: 'uid-1' },
    spec: { invoker: { kind: 'BackupConfiguration', name: 'cfg' } },
    status: { ...(phase ? { phase: phase as 'Running' } : {}), targets: targets.map((p, i) => ({ ref: ref(`t${i}`), phase: p })) },
  };
}

function restore(phase: string | undefined, status: RestoreSession['status'] = {}): RestoreSession {
  return {
    kind: 'RestoreSession',
    metadata: { name: 'rs', namespace: 'ns', uid: 'uid-2' },
    spec: { target: { ref: ref('app') } },
    status: { ...status, ...(phase ? { phase: phase as 'Running' } : {}) },
  };
}

/** Events as `Type[/target]` strings, for readable tables. */
function derive(type: WatchEventType, s: Session): string[] {
  return deriveLifecycleEvents(type, s, AT).map((e) => (e.type === 'TargetCompleted' ? `${e.type}/${e.targetIndex}` : e.type));
}

test('event table: a session observation → lifecycle events', () => {
  const rows: Array<[string, WatchEventType, Session, string[]]> = [
    ['new backup session', 'ADDED', backup(undefined), ['SessionObserved']],
    ['targets initiated', 'MODIFIED', backup('Running', ['Pending', 'Pending']), ['SessionObserved']],
    ['one target running, one done', 'MODIFIED', backup('Running', ['Running', 'Succeeded']), ['SessionObserved', 'TargetCompleted/1']],
    ['every target done, one failed', 'MODIFIED', backup('Running', ['Failed', 'Succeeded']), ['SessionObserved', 'TargetCompleted/0', 'TargetCompleted/1']],
    ['finished Succeeded', 'MODIFIED', backup('Succeeded', ['Succeeded']), []],
    ['finished Failed', 'MODIFIED', backup('Failed', ['Failed']), []],
    ['Skipped', 'ADDED', backup('Skipped'), []],
    ['deleted while running', 'DELETED', backup('Running', ['Running']), ['SessionDeleted']],
    ['deleted after finishing', 'DELETED', backup('Succeeded', ['Succeeded']), ['SessionDeleted']],
    ['new restore', 'ADDED', restore(undefined), ['SessionObserved']],
    ['restore running', 'MODIFIED', restore('Running', { totalHosts: 2, stats: [{ hostname: 'a', phase: 'Succeeded' }] }), ['SessionObserved']],
    [
      'restore every host reported',
      'MODIFIED',
      restore('Running', {
        totalHosts: 2,
        stats: [
          { hostname: 'a', phase: 'Succeeded' },
          { hostname: 'b', phase: 'Failed' },
        ],
      }),
      ['SessionObserved', 'TargetCompleted/0'],
    ],
    ['restore finished', 'MODIFIED', restore('Failed', { totalHosts: 1, stats: [{ hostname: 'a', phase: 'Failed' }] }), []],
  ];
  for (const [what, type, s, expected] of rows) assert.equal(derive(type, s), expected, what);
});

test('events carry the session reference and the observation time', () => {
  const [observed, completed] = deriveLifecycleEvents('MODIFIED', backup('Running', ['Succeeded']), AT);
  const session = { kind: 'BackupSession', namespace: 'ns', name: 'bs', uid: 'uid-1' };
  assert.equal(observed, { type: 'SessionObserved', session, observedAt: AT });
  assert.equal(completed, { type: 'TargetCompleted', session, targetIndex: 0, observedAt: AT });
});

test('an object without namespace, name or uid yields nothing', () => {
  for (const drop of ['namespace', 'name', 'uid'] as const) {
    const s = backup(undefined);
    delete s.metadata[drop];
    assert.is(sessionRefOf(s), undefined, drop);
    assert.equal(deriveLifecycleEvents('ADDED', s, AT), [], drop);
  }
});

test('the kind is inferred when a list item has none (client-node list items may lack kind)', () => {
  const { kind: _b, ...b } = backup(undefined);
  const { kind: _r, ...r } = restore(undefined);
  assert.is(sessionRefOf(b as Session)?.kind, 'BackupSession');
  assert.is(sessionRefOf(r as Session)?.kind, 'RestoreSession');
});

test('job ids: deterministic across observations, distinct per event, no ":"', () => {
  const first = deriveLifecycleEvents('MODIFIED', backup('Running', ['Succeeded', 'Failed']), AT).map(lifecycleJobId);
  const again = deriveLifecycleEvents('MODIFIED', backup('Running', ['Succeeded', 'Failed']), AT + 5000).map(lifecycleJobId);
  assert.equal(first, again, 'a relist or a second replica derives the same ids');
  assert.is(new Set(first).size, first.length);
  assert.equal(first, ['lc.SessionObserved.uid-1', 'lc.TargetCompleted.uid-1.t0', 'lc.TargetCompleted.uid-1.t1']);
  const odd = backup(undefined);
  odd.metadata.uid = 'a:b/c d';
  const [id] = deriveLifecycleEvents('ADDED', odd, AT).map(lifecycleJobId);
  assert.not.match(id, /:/);
  const deleted = deriveLifecycleEvents('DELETED', backup('Running'), AT).map(lifecycleJobId);
  assert.equal(deleted, ['lc.SessionDeleted.uid-1']);
});

test.run();
