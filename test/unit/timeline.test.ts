// shared/timeline.ts: a session's timeline from its conditions, target phases and stats and its
// BullMQ jobs — table-tested on the shapes the pipeline writes (conditions from shared/conditions.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildTimeline,
  barDurationMs,
  finalizeJobIdOf,
  timelineJobRefs,
  type SessionTimeline,
  type TimelineBar,
  type TimelineJob,
} from '../../shared/timeline.js';
import { gateCondition, hookCondition, hookRunningCondition } from '../../shared/conditions.js';
import { hookJobId, type HookJobResult } from '../../shared/queues.js';
import { finalizeJobId } from '../../workers/flow-plan.js';
import type { BackupSession, BackupTargetStatus, Condition, RestoreSession } from '../../shared/resources.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const stamp = (c: Condition, s: number): Condition => ({ ...c, lastTransitionTime: at(s) });
const ref = { kind: 'BackupSession', namespace: 'demo', name: 'databases-demo', uid: 'uid-1' } as const;
const sts = (name: string) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', name });

function batch(targets: Array<Partial<BackupTargetStatus>>, conditions: Condition[], extra: Partial<NonNullable<BackupSession['status']>> = {}): BackupSession {
  return {
    kind: 'BackupSession',
    metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid, creationTimestamp: at(0) },
    spec: { invoker: { kind: 'BackupBatch', name: 'databases' } },
    status: { targets: targets.map((t, i) => ({ ref: sts(`db-${i}`), ...t })), conditions, sessionDeadline: at(300), ...extra },
  };
}

const ok = (hook: 'preBackup' | 'postBackup', scope: 'global' | 'local', s: number) => stamp(hookCondition(hook, scope, { kind: 'succeeded' }), s);
const bad = (hook: 'preBackup' | 'postBackup', scope: 'global' | 'local', error: string, s: number) =>
  stamp(hookCondition(hook, scope, { kind: 'failed', error }), s);
const skipped = (s: number) => stamp(hookCondition('postBackup', 'local', { kind: 'skipped', policy: 'OnFailure', phase: 'Succeeded' }), s);
const gate = (s: number) => stamp(gateCondition('backup', true, 'PreHookSucceeded'), s);

/** The demo's failing batch as its conditions leave it once every job is gone. */
const finishedBatch = batch(
  [
    {
      phase: 'Succeeded',
      stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '1s' }],
      conditions: [ok('preBackup', 'local', 1), gate(1), ok('postBackup', 'local', 3)],
    },
    {
      phase: 'Failed',
      stats: [{ hostname: 'host-0', phase: 'Failed', duration: '1s', error: 'path not found' }],
      conditions: [ok('preBackup', 'local', 1), gate(1), bad('postBackup', 'local', 'POST http://x/alerts: 500', 3)],
    },
    { phase: 'Succeeded', stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '1s' }], conditions: [ok('preBackup', 'local', 1), gate(1), skipped(3)] },
  ],
  [ok('preBackup', 'global', 1), ok('postBackup', 'global', 4)],
  { phase: 'Failed', sessionDuration: '4s' },
);

const job = (queue: string, id: string, fields: Partial<TimelineJob>): [string, TimelineJob] => [id, { queue, id, ...fields }];
const result = (outcome: HookJobResult['outcome'], message: string, hosts: HookJobResult['hosts'] = [], durationMs = 10): HookJobResult => ({
  outcome,
  message,
  hosts,
  durationMs,
});
const bars = (t: SessionTimeline, rowId: string): TimelineBar[] => t.rows.find((r) => r.id === rowId)?.bars ?? [];
const brief = (b: TimelineBar) => `${b.label}:${b.outcome}`;

test('jobs removed: every hook, window and the final phase still show what the conditions say', () => {
  const t = buildTimeline({ session: finishedBatch, jobs: new Map(), nowMs: T0 + 60_000 });
  assert.equal(
    t.rows.map((r) => r.label),
    ['global preBackup', 'StatefulSet/db-0', 'StatefulSet/db-1', 'StatefulSet/db-2', 'global postBackup', 'finalize'],
  );
  const table: Array<[string, string[]]> = [
    ['global-pre', ['preBackup:succeeded']],
    ['t0', ['preBackup:succeeded', 'backup:succeeded', 'postBackup:succeeded']],
    ['t1', ['preBackup:succeeded', 'backup:failed', 'postBackup:failed']],
    ['t2', ['preBackup:succeeded', 'backup:succeeded', 'postBackup:skipped']],
    ['global-post', ['postBackup:succeeded']],
    ['finalize', ['finalize:failed']],
  ];
  for (const [row, want] of table) assert.equal(bars(t, row).map(brief), want, row);
  assert.is(bars(t, 't1')[1].message, 'host-0: Failed: path not found');
  assert.is(bars(t, 't1')[2].message, 'Failed to execute postBackup hook. Reason: POST http://x/alerts: 500');
  assert.is(bars(t, 't2')[2].message, 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".');
  // End-only marks at the condition's second; the window lasts what the executor reported.
  assert.equal([bars(t, 't0')[0].startMs, bars(t, 't0')[0].endMs, bars(t, 't0')[0].source], [T0 + 1000, T0 + 1000, 'condition']);
  assert.equal([bars(t, 't0')[1].startMs, bars(t, 't0')[1].endMs], [T0 + 1000, T0 + 2000]);
  assert.equal([bars(t, 'finalize')[0].endMs, bars(t, 'finalize')[0].message], [T0 + 4000, 'phase Failed after 4s']);
  assert.equal([t.fromMs, t.toMs, t.deadlineMs, t.phase], [T0, T0 + 4000, T0 + 300_000, 'Failed']);
});

test('with jobs: millisecond times, where it ran, per-host rows, the window up to the target-completed event', () => {
  const s = finishedBatch;
  const pre0 = hookJobId({ session: ref, hook: 'preBackup', scope: 'local', targetIndex: 0 });
  const jobs = new Map([
    job('pre-backup', pre0, {
      timestamp: T0 + 500,
      processedOn: T0 + 600,
      finishedOn: T0 + 700,
      returnvalue: result('succeeded', 'Successfully executed preBackup hook.', [
        { where: 'pod demo/db-0-0 container db', exitCode: 0, durationMs: 40 },
        { where: 'pod demo/db-0-1 container db', exitCode: 0, durationMs: 90 },
      ]),
    }),
    job('lifecycle', 'lc.TargetCompleted.uid-1.t0', { timestamp: T0 + 1750 }),
    job('post-backup', hookJobId({ session: ref, hook: 'postBackup', scope: 'global' }), {
      timestamp: T0,
      processedOn: T0 + 3900,
      finishedOn: T0 + 3950,
      returnvalue: result('succeeded', 'Global PostBackup hook has been executed successfully', [
        { where: 'http://127.0.0.9:28081/maintenance/off', statusCode: 200, durationMs: 30 },
      ]),
    }),
    job('coordinator', finalizeJobIdOf(ref.uid), { processedOn: T0 + 3960, finishedOn: T0 + 3990 }),
  ]);
  const t = buildTimeline({ session: s, jobs, nowMs: T0 + 60_000 });
  const [pre, win] = bars(t, 't0');
  assert.equal([pre.startMs, pre.endMs, pre.source, pre.job], [T0 + 600, T0 + 700, 'job', { queue: 'pre-backup', id: pre0, state: 'completed' }]);
  assert.is(pre.where, undefined, 'several hosts: no single place');
  assert.equal(
    t.rows.filter((r) => r.host).map((r) => [r.label, r.bars[0].endMs! - r.bars[0].startMs!]),
    [
      ['StatefulSet/db-0 · db-0-0', 40],
      ['StatefulSet/db-0 · db-0-1', 90],
    ],
  );
  assert.equal([win.startMs, win.endMs], [T0 + 700, T0 + 1750], 'gate opens when the pre hook ends; the window ends when the target completed');
  const gpost = bars(t, 'global-post')[0];
  assert.equal([gpost.where, barDurationMs(gpost, 0)], ['http://127.0.0.9:28081/maintenance/off', 50]);
  assert.equal([bars(t, 'finalize')[0].startMs, bars(t, 'finalize')[0].source], [T0 + 3960, 'job']);
});

test('maxRetry: each attempt is its own bar; earlier ones are estimated and marked so', () => {
  const s = batch([{ phase: 'Pending', conditions: [stamp(hookCondition('preBackup', 'local', { kind: 'failed', error: 'exit code 1' }), 9)] }], [], {
    phase: 'Running',
  });
  const id = hookJobId({ session: ref, hook: 'preBackup', scope: 'local', targetIndex: 0 });
  const jobs = new Map([job('pre-backup', id, { timestamp: T0, processedOn: T0 + 8000, finishedOn: T0 + 8100, data: { hookAttempts: 2 } })]);
  const t = buildTimeline({ session: s, jobs, nowMs: T0 + 10_000 });
  const pre = bars(t, 't0').filter((b) => b.label === 'preBackup');
  assert.equal(
    pre.map((b) => [b.attempt, b.outcome, Boolean(b.estimated)]),
    [
      [{ n: 1, of: 3 }, 'failed', true],
      [{ n: 2, of: 3 }, 'failed', true],
      [{ n: 3, of: 3 }, 'failed', false],
    ],
  );
  assert.ok(pre[1].endMs! <= pre[2].startMs!, 'attempts do not overlap');
  assert.is(pre[2].message, 'Failed to execute preBackup hook. Reason: exit code 1');
});

test('a failed pre hook: the window and the post hook did not run, and say why', () => {
  const s = batch(
    [
      {
        phase: 'Failed',
        conditions: [bad('preBackup', 'local', 'exit code 3', 2), stamp(gateCondition('backup', false, 'PreHookFailed', 'preBackup hook failed.'), 2)],
      },
    ],
    [],
    { phase: 'Failed', sessionDuration: '2s' },
  );
  const post = hookJobId({ session: ref, hook: 'postBackup', scope: 'local', targetIndex: 0 });
  const jobs = new Map([
    job('post-backup', post, {
      processedOn: T0 + 2100,
      finishedOn: T0 + 2110,
      returnvalue: result('skipped', 'the pre hook failed: the post hook does not run'),
    }),
  ]);
  const t = buildTimeline({ session: s, jobs, nowMs: T0 + 5000 });
  assert.equal(
    bars(t, 't0').map((b) => [b.label, b.outcome, b.message]),
    [
      ['preBackup', 'failed', 'Failed to execute preBackup hook. Reason: exit code 3'],
      ['backup', 'not-run', 'Skipping backup: preBackup hook failed.'],
      ['postBackup', 'not-run', 'the pre hook failed: the post hook does not run'],
    ],
  );
});

test('a hook the invoker does not have shows no bar; one not yet run shows as waiting', () => {
  const s = batch([{ phase: 'Running', conditions: [ok('preBackup', 'local', 1), gate(1)] }], [], { phase: 'Running' });
  const pre = hookJobId({ session: ref, hook: 'preBackup', scope: 'global' });
  const post = hookJobId({ session: ref, hook: 'postBackup', scope: 'local', targetIndex: 0 });
  const jobs = new Map([
    job('pre-backup', pre, { processedOn: T0 + 10, finishedOn: T0 + 12, returnvalue: result('skipped', 'no preBackup hook') }),
    job('post-backup', post, { timestamp: T0, state: 'delayed' }),
  ]);
  const t = buildTimeline({ session: s, jobs, nowMs: T0 + 1500 });
  assert.not.ok(t.rows.some((r) => r.id === 'global-pre'));
  assert.equal(bars(t, 't0').map(brief), ['preBackup:succeeded', 'backup:running', 'postBackup:waiting']);
  assert.is(bars(t, 't0')[2].startMs, undefined);
  assert.is(t.toMs, T0 + 1500, 'a running session reaches now');
  assert.is(barDurationMs(bars(t, 't0')[1], T0 + 1500), 500);
});

test('a running hook job has a start and no end', () => {
  const s = batch([{ phase: 'Pending' }], [], { phase: 'Running' });
  const id = hookJobId({ session: ref, hook: 'preBackup', scope: 'local', targetIndex: 0 });
  const t = buildTimeline({ session: s, jobs: new Map([job('pre-backup', id, { processedOn: T0 + 100 })]), nowMs: T0 + 400 });
  const [b] = bars(t, 't0');
  assert.equal([b.outcome, b.startMs, b.endMs, b.job?.state], ['running', T0 + 100, undefined, 'active']);
});

test('a hook whose job Redis lost but whose HookRunning condition says it runs: running since its start, on that worker', () => {
  const running = hookRunningCondition('preBackup', 'local', {
    worker: 'w-1/0a1b2c3d',
    attempt: 1,
    startedAt: new Date(T0 + 250).toISOString(),
    timeoutSeconds: 30,
  });
  const s = batch([{ phase: 'Pending', conditions: [stamp(running, 0)] }], [], { phase: 'Running' });
  const t = buildTimeline({ session: s, jobs: new Map(), nowMs: T0 + 900 });
  const [b] = bars(t, 't0');
  assert.equal([b.outcome, b.startMs, b.endMs, b.message], ['running', T0 + 250, undefined, 'running on worker w-1/0a1b2c3d (attempt 1)']);
});

test('a RestoreSession: session conditions, the restore window from its host stats, the deadline message', () => {
  const s: RestoreSession = {
    kind: 'RestoreSession',
    metadata: { name: 'app-restore', namespace: 'demo', uid: 'uid-r', creationTimestamp: at(0) },
    spec: { target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } } },
    status: {
      phase: 'Failed',
      totalHosts: 1,
      stats: [{ hostname: 'app-0', phase: 'Failed', duration: '2s', error: 'disk full' }],
      sessionDeadline: at(60),
      conditions: [
        stamp(hookCondition('preRestore', 'local', { kind: 'succeeded' }), 1),
        stamp(gateCondition('restore', true, 'PreHookSucceeded'), 1),
        stamp(hookCondition('postRestore', 'local', { kind: 'succeeded' }), 4),
        stamp({ type: 'DeadlineExceeded', status: 'True', reason: 'FailedToCompleteWithinDeadline', message: 'Failed to complete restore within 1m0s.' }, 60),
      ],
    },
  };
  const t = buildTimeline({ session: s, jobs: new Map(), nowMs: T0 + 90_000 });
  assert.equal(
    t.rows.map((r) => r.label),
    ['Deployment/app', 'finalize'],
  );
  assert.equal(bars(t, 't0').map(brief), ['preRestore:succeeded', 'restore:failed', 'postRestore:succeeded']);
  assert.equal([bars(t, 't0')[1].message, bars(t, 't0')[1].where, bars(t, 't0')[1].endMs], ['app-0: Failed: disk full', 'app-0', T0 + 3000]);
  assert.equal([t.deadlineMs, t.deadlineMessage], [T0 + 60_000, 'Failed to complete restore within 1m0s.']);
});

test('the job ids read are the ones the pipeline writes (flow-plan finalize id, hook ids per target)', () => {
  const refs = timelineJobRefs(finishedBatch);
  assert.is(finalizeJobIdOf(ref.uid), finalizeJobId(ref));
  assert.ok(refs.some((r) => r.queue === 'coordinator' && r.id === finalizeJobId(ref)));
  assert.ok(refs.some((r) => r.queue === 'post-backup' && r.id === hookJobId({ session: ref, hook: 'postBackup', scope: 'local', targetIndex: 2 })));
  assert.ok(refs.some((r) => r.queue === 'pre-backup' && r.id === hookJobId({ session: ref, hook: 'preBackup', scope: 'global' })));
  assert.ok(refs.some((r) => r.queue === 'lifecycle' && r.id === 'lc.TargetCompleted.uid-1.t1'));
  assert.is(refs.length, 2 + 3 * 3 + 1);
});

test.run();
