/**
 * A session's timeline (DESIGN §9): which hooks ran where, in what order, how long each took and
 * how each ended, built from what the cluster and the queues already hold. Pure: the caller reads
 * the session and the jobs (dashboard/sessions-data.ts, cli/describe.ts) and passes them in.
 *
 * Conditions are the truth for outcomes and messages (DESIGN §5); BullMQ job timestamps give the
 * times to the millisecond. A session whose jobs were removed still shows what its conditions say,
 * at the second resolution of `lastTransitionTime`, as end-only bars.
 */
import { ConditionType, findCondition, hookConditionType, parseHookRunning, type HookName, type HookScope } from './conditions.js';
import { parseDuration } from './duration.js';
import { hookJobId, lifecycleJobId, QueueName, safeIdPart, HOOK_QUEUE_OF, type HookJobResult, type SessionRef } from './queues.js';
import type { BackupSession, Condition, HostStats, RestoreSession, Session, SessionKind } from './resources.js';

/** How a bar ended; `waiting` has no start yet, `running` no end, `not-run` means it will never run. */
export type TimelineOutcome = 'succeeded' | 'failed' | 'skipped' | 'running' | 'waiting' | 'not-run';

/** Where a bar's times come from: a BullMQ job (ms), a condition (s, end only), the executor, the session. */
export type TimelineSource = 'job' | 'condition' | 'executor' | 'session';

export interface TimelineBar {
  /** `preBackup`, `backup`, `restore`, `finalize`. */
  label: string;
  outcome: TimelineOutcome;
  /** Epoch ms; absent when unknown (a waiting hook). */
  startMs?: number;
  /** Epoch ms; absent while running or waiting. */
  endMs?: number;
  message?: string;
  /** The pod, host or URL it ran on. */
  where?: string;
  /** Present when the hook ran more than once (`maxRetry`): attempt n of `of`. */
  attempt?: { n: number; of: number };
  /** True when the times were estimated (earlier `maxRetry` attempts keep no timestamps). */
  estimated?: boolean;
  job?: { queue: string; id: string; state: string };
  source: TimelineSource;
}

export type TimelineRowGroup = 'global-pre' | 'target' | 'global-post' | 'finalize';

export interface TimelineRow {
  /** Stable within the session: `global-pre`, `t3`, `t3/db-0`, `global-post`, `finalize`. */
  id: string;
  group: TimelineRowGroup;
  label: string;
  targetIndex?: number;
  /** The host of a per-host sub-row (a hook that ran on several pods). */
  host?: string;
  bars: TimelineBar[];
}

export interface SessionTimeline {
  kind: SessionKind;
  namespace: string;
  name: string;
  uid: string;
  phase: string;
  createdMs?: number;
  deadlineMs?: number;
  /** `DeadlineExceeded` message, when the deadline passed. */
  deadlineMessage?: string;
  sessionDuration?: string;
  rows: TimelineRow[];
  /** The time axis: earliest start (or creation) to the latest end (or now while running). */
  fromMs: number;
  toMs: number;
}

/** A BullMQ job as the timeline needs it (`Job` has these fields; `state` from `getState()` or derived). */
export interface TimelineJob {
  queue: string;
  id: string;
  state?: string;
  timestamp?: number;
  processedOn?: number;
  finishedOn?: number;
  attemptsMade?: number;
  failedReason?: string;
  data?: unknown;
  returnvalue?: unknown;
}

export interface TimelineInput {
  session: Session;
  /** The session's jobs by id (see `timelineJobRefs`); missing ones are simply absent. */
  jobs: ReadonlyMap<string, TimelineJob>;
  nowMs: number;
}

/** The finalize job's id; the same as workers/flow-plan.ts `finalizeJobId` (a unit test holds them equal). */
export const finalizeJobIdOf = (uid: string) => `fin.${safeIdPart(uid)}`;

const PHASE_HOOKS: Record<SessionKind, { pre: HookName; post: HookName; work: string; gate: string }> = {
  BackupSession: { pre: 'preBackup', post: 'postBackup', work: 'backup', gate: ConditionType.ReadyForBackup },
  RestoreSession: { pre: 'preRestore', post: 'postRestore', work: 'restore', gate: ConditionType.ReadyForRestore },
};

function kindOf(session: Session): SessionKind {
  return session.kind === 'RestoreSession' ? 'RestoreSession' : 'BackupSession';
}

function refOf(session: Session): SessionRef {
  const m = session.metadata;
  return { kind: kindOf(session), namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
}

/** The session's targets as `Kind/name`, in order (a restore has one). */
export function timelineTargets(session: Session): string[] {
  if (kindOf(session) === 'RestoreSession') {
    const ref = (session as RestoreSession).spec?.target?.ref;
    return [ref ? `${ref.kind}/${ref.name}` : 'target'];
  }
  return ((session as BackupSession).status?.targets ?? []).map((t) => `${t.ref?.kind}/${t.ref?.name}`);
}

/** Every job that may belong to the session: `{queue, id}` pairs to read (deterministic ids, DESIGN §6). */
export function timelineJobRefs(session: Session): Array<{ queue: string; id: string }> {
  const ref = refOf(session);
  const { pre, post } = PHASE_HOOKS[ref.kind];
  const refs: Array<{ queue: string; id: string }> = [];
  const hook = (h: HookName, scope: HookScope, targetIndex?: number) =>
    refs.push({ queue: HOOK_QUEUE_OF[h], id: hookJobId({ session: ref, hook: h, scope, targetIndex }) });
  if (ref.kind === 'BackupSession') {
    hook(pre, 'global');
    hook(post, 'global');
  }
  timelineTargets(session).forEach((_t, i) => {
    hook(pre, 'local', i);
    hook(post, 'local', i);
    refs.push({ queue: QueueName.lifecycle, id: lifecycleJobId({ type: 'TargetCompleted', session: ref, targetIndex: i, observedAt: 0 }) });
  });
  refs.push({ queue: QueueName.coordinator, id: finalizeJobIdOf(ref.uid) });
  return refs;
}

const ms = (iso: string | undefined): number | undefined => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

function isHookResult(v: unknown): v is HookJobResult {
  return typeof v === 'object' && v !== null && typeof (v as HookJobResult).outcome === 'string';
}

function outcomeOfCondition(c: Condition): TimelineOutcome {
  if (c.status === 'False') return 'failed';
  return /^Skipping/.test(c.message ?? '') ? 'skipped' : 'succeeded';
}

function jobState(job: TimelineJob): string {
  if (job.state) return job.state;
  if (job.finishedOn) return job.failedReason ? 'failed' : 'completed';
  return job.processedOn ? 'active' : 'waiting';
}

/** The bars of one hook: its attempts (earlier `maxRetry` attempts estimated), per host where several. */
function hookBars(
  hook: HookName,
  recorded: Condition | undefined,
  job: TimelineJob | undefined,
): { bars: TimelineBar[]; hosts: Array<{ host: string; bar: TimelineBar }> } | undefined {
  // A HookRunning condition (status Unknown) is the hook in flight, not its outcome: it says who
  // runs it since when, which keeps the bar right after Redis lost the job.
  const run = parseHookRunning(recorded);
  const condition = run ? undefined : recorded;
  const result = isHookResult(job?.returnvalue) ? (job!.returnvalue as HookJobResult) : undefined;
  // A hook the invoker does not have: its job ends at once, "no <hook> hook", and records nothing.
  if (!condition && result?.outcome === 'skipped' && /^no \w+ hook$/.test(result.message)) return undefined;
  if (!condition && !job && !run) return undefined;
  const ref = job ? { queue: job.queue, id: job.id, state: jobState(job) } : undefined;
  let outcome: TimelineOutcome;
  let message: string | undefined = condition?.message;
  if (condition) outcome = outcomeOfCondition(condition);
  else if (result) {
    // The job ended without a condition: the hook did not run (its pre hook failed, the session ended).
    outcome = 'not-run';
    message = result.message;
  } else if (ref?.state === 'failed') {
    outcome = 'failed';
    message = job?.failedReason;
  } else if (run && ref?.state !== 'completed') {
    outcome = 'running';
    message = `running on worker ${run.worker} (attempt ${run.attempt})`;
  } else outcome = ref?.state === 'active' ? 'running' : 'waiting';

  const condEnd = ms(condition?.lastTransitionTime);
  let startMs = job?.processedOn ?? (run ? ms(run.startedAt) : undefined);
  let endMs = job?.finishedOn ?? (outcome === 'running' || outcome === 'waiting' ? undefined : condEnd);
  let source: TimelineSource = job?.processedOn ? 'job' : 'condition';
  if (outcome === 'waiting') startMs = undefined;
  if (startMs === undefined && endMs !== undefined) startMs = endMs; // conditions only: an end-only mark
  if (!job?.processedOn && condition) source = 'condition';
  if (result && startMs !== undefined && job?.finishedOn === undefined) endMs = startMs + result.durationMs;

  const hosts = result?.hosts ?? [];
  const where = hosts.length === 1 ? hosts[0].where : undefined;
  const retries =
    typeof (job?.data as { hookAttempts?: unknown } | undefined)?.hookAttempts === 'number' ? (job!.data as { hookAttempts: number }).hookAttempts : 0;
  const bars: TimelineBar[] = [];
  if (retries > 0 && startMs !== undefined) {
    // BullMQ keeps only the last activation's processedOn: earlier attempts are placed evenly
    // between the job's creation and the last attempt, and marked estimated.
    const from = Math.min(job?.timestamp ?? startMs, startMs);
    const slot = (startMs - from) / retries;
    for (let n = 1; n <= retries; n++) {
      bars.push({
        label: hook,
        outcome: 'failed',
        startMs: from + slot * (n - 1),
        endMs: from + slot * (n - 1) + slot / 2,
        message: `attempt ${n} failed; retried (maxRetry)`,
        attempt: { n, of: retries + 1 },
        estimated: true,
        ...(ref ? { job: ref } : {}),
        source: 'job',
      });
    }
  }
  const last: TimelineBar = {
    label: hook,
    outcome,
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs } : {}),
    ...(message ? { message } : {}),
    ...(where ? { where } : {}),
    ...(retries > 0 ? { attempt: { n: retries + 1, of: retries + 1 } } : {}),
    ...(ref ? { job: ref } : {}),
    source,
  };
  bars.push(last);
  const perHost =
    hosts.length > 1 && startMs !== undefined
      ? hosts.map((h) => ({
          host: h.where,
          bar: {
            label: hook,
            outcome: outcome === 'failed' && h.exitCode === 0 ? ('succeeded' as const) : outcome,
            startMs,
            endMs: startMs + h.durationMs,
            where: h.where,
            message:
              [h.exitCode !== undefined ? `exit code ${h.exitCode}` : '', h.statusCode !== undefined ? `HTTP ${h.statusCode}` : '']
                .filter(Boolean)
                .join(', ') || message,
            ...(ref ? { job: ref } : {}),
            source: 'job' as const,
          },
        }))
      : [];
  return { bars, hosts: perHost };
}

/** The backup/restore window the executor reported: from the open gate to the target's completion. */
function windowBar(
  work: string,
  gate: Condition | undefined,
  preEnd: number | undefined,
  phase: string | undefined,
  stats: HostStats[],
  completedAt: number | undefined,
): TimelineBar | undefined {
  if (!gate) return undefined;
  if (gate.status === 'False')
    return { label: work, outcome: 'not-run', message: gate.message, ...(preEnd ? { startMs: preEnd, endMs: preEnd } : {}), source: 'condition' };
  const startMs = preEnd ?? ms(gate.lastTransitionTime);
  const longest = Math.max(0, ...stats.map((h) => parseDuration(h.duration ?? '') ?? 0));
  const failed = stats.filter((h) => h.phase !== 'Succeeded');
  const done = phase === 'Succeeded' || phase === 'Failed';
  const message = failed.length
    ? failed.map((h) => `${h.hostname}: ${h.phase}${h.error ? `: ${h.error}` : ''}`).join('; ')
    : stats.length
      ? `${stats.length} host${stats.length > 1 ? 's' : ''} ${done ? 'succeeded' : 'reported'}`
      : undefined;
  const outcome: TimelineOutcome = done ? (phase === 'Failed' ? 'failed' : 'succeeded') : phase === 'Running' ? 'running' : 'waiting';
  const endMs = done ? (completedAt ?? (startMs !== undefined ? startMs + longest : undefined)) : undefined;
  return {
    label: work,
    outcome,
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs: Math.max(endMs, startMs ?? endMs) } : {}),
    ...(message ? { message } : {}),
    ...(stats.length === 1 ? { where: stats[0].hostname } : {}),
    source: 'executor',
  };
}

/** Builds the timeline of `session` from its conditions, target phases and stats, and its jobs. */
export function buildTimeline(input: TimelineInput): SessionTimeline {
  const { session, jobs, nowMs } = input;
  const ref = refOf(session);
  const { pre, post, work, gate } = PHASE_HOOKS[ref.kind];
  const restore = ref.kind === 'RestoreSession';
  const status = session.status ?? {};
  const sessionConds = status.conditions;
  const job = (queue: string, id: string) => {
    const j = jobs.get(id);
    return j && j.queue === queue ? j : undefined;
  };
  const hookJob = (h: HookName, scope: HookScope, targetIndex?: number) => job(HOOK_QUEUE_OF[h], hookJobId({ session: ref, hook: h, scope, targetIndex }));
  const rows: TimelineRow[] = [];

  if (!restore) {
    const g = hookBars(pre, findCondition(sessionConds, hookConditionType(pre, 'global')), hookJob(pre, 'global'));
    if (g) rows.push({ id: 'global-pre', group: 'global-pre', label: `global ${pre}`, bars: g.bars });
  }

  const targets = timelineTargets(session);
  targets.forEach((label, i) => {
    const t = restore ? undefined : (session as BackupSession).status?.targets?.[i];
    const conds = restore ? sessionConds : t?.conditions;
    const bars: TimelineBar[] = [];
    const hostRows: TimelineRow[] = [];
    const addHook = (h: HookName) => {
      const r = hookBars(h, findCondition(conds, hookConditionType(h, 'local')), hookJob(h, 'local', i));
      if (!r) return undefined;
      bars.push(...r.bars);
      for (const { host, bar } of r.hosts) {
        let row = hostRows.find((x) => x.host === host);
        if (!row) hostRows.push((row = { id: `t${i}/${host}`, group: 'target', label: `${label} · ${shortHost(host)}`, targetIndex: i, host, bars: [] }));
        row.bars.push(bar);
      }
      return r.bars.at(-1);
    };
    const preBar = addHook(pre);
    const stats = (restore ? (session as RestoreSession).status?.stats : t?.stats) ?? [];
    const phase = restore ? restorePhase(session as RestoreSession) : t?.phase;
    const completed = job(QueueName.lifecycle, lifecycleJobId({ type: 'TargetCompleted', session: ref, targetIndex: i, observedAt: 0 }))?.timestamp;
    const w = windowBar(work, findCondition(conds, gate), preBar?.endMs, phase, stats, completed);
    if (w) bars.push(w);
    addHook(post);
    rows.push({ id: `t${i}`, group: 'target', label, targetIndex: i, bars }, ...hostRows);
  });

  if (!restore) {
    const g = hookBars(post, findCondition(sessionConds, hookConditionType(post, 'global')), hookJob(post, 'global'));
    if (g) rows.push({ id: 'global-post', group: 'global-post', label: `global ${post}`, bars: g.bars });
  }

  const createdMs = ms(session.metadata.creationTimestamp);
  const fin = finalizeBar(session, job(QueueName.coordinator, finalizeJobIdOf(ref.uid)), createdMs);
  if (fin) rows.push({ id: 'finalize', group: 'finalize', label: 'finalize', bars: [fin] });

  const deadline = findCondition(sessionConds, ConditionType.DeadlineExceeded);
  const deadlineMs = ms(status.sessionDeadline);
  const times = rows.flatMap((r) => r.bars.flatMap((b) => [b.startMs, b.endMs])).filter((t): t is number => t !== undefined);
  const running = !['Succeeded', 'Failed', 'Skipped'].includes(status.phase ?? '');
  const starts = [createdMs, ...times].filter((t): t is number => t !== undefined);
  const fromMs = starts.length ? Math.min(...starts) : nowMs;
  const toMs = Math.max(fromMs, ...times, running ? nowMs : fromMs);
  return {
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    uid: ref.uid,
    phase: status.phase ?? 'Pending',
    ...(createdMs !== undefined ? { createdMs } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
    ...(deadline?.status === 'True' ? { deadlineMessage: deadline.message } : {}),
    ...(status.sessionDuration ? { sessionDuration: status.sessionDuration } : {}),
    rows,
    fromMs,
    toMs,
  };
}

/** `pod demo/db-0 container mysql` → `db-0`: the row label names the pod; the bar keeps the whole place. */
function shortHost(where: string): string {
  return where.replace(/^pod [^/]+\//, '').replace(/ container .*$/, '');
}

function restorePhase(session: RestoreSession): string | undefined {
  const s = session.status;
  const stats = s?.stats ?? [];
  if (s?.totalHosts && stats.length >= s.totalHosts) return stats.every((h) => h.phase === 'Succeeded') ? 'Succeeded' : 'Failed';
  return s?.totalHosts ? 'Running' : undefined;
}

/** Finalize: the coordinator's job, else the session's phase at creation + `sessionDuration`. */
function finalizeBar(session: Session, job: TimelineJob | undefined, createdMs: number | undefined): TimelineBar | undefined {
  const phase = session.status?.phase;
  const done = phase === 'Succeeded' || phase === 'Failed' || phase === 'Skipped';
  const outcome: TimelineOutcome =
    phase === 'Failed' ? 'failed' : phase === 'Skipped' ? 'skipped' : done ? 'succeeded' : job?.processedOn && !job.finishedOn ? 'running' : 'waiting';
  const message = done ? `phase ${phase}${session.status?.sessionDuration ? ` after ${session.status.sessionDuration}` : ''}` : undefined;
  const ref = job ? { queue: job.queue, id: job.id, state: jobState(job) } : undefined;
  if (job?.processedOn) {
    return {
      label: 'finalize',
      outcome,
      startMs: job.processedOn,
      ...(job.finishedOn ? { endMs: job.finishedOn } : {}),
      ...(message ? { message } : {}),
      job: ref!,
      source: 'job',
    };
  }
  if (done) {
    const took = parseDuration(session.status?.sessionDuration ?? '');
    const at = createdMs !== undefined && took !== undefined ? createdMs + took : undefined;
    return {
      label: 'finalize',
      outcome,
      ...(at !== undefined ? { startMs: at, endMs: at } : {}),
      ...(message ? { message } : {}),
      ...(ref ? { job: ref } : {}),
      source: 'session',
    };
  }
  return job ? { label: 'finalize', outcome: 'waiting', job: ref!, source: 'job' } : undefined;
}

/** A bar's duration in ms, when both ends are known (running bars: up to `nowMs`). */
export function barDurationMs(bar: TimelineBar, nowMs: number): number | undefined {
  if (bar.startMs === undefined) return undefined;
  if (bar.endMs !== undefined) return bar.endMs - bar.startMs;
  return bar.outcome === 'running' ? nowMs - bar.startMs : undefined;
}
