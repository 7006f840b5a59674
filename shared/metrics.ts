/**
 * The Prometheus metrics every role exposes on `/metrics` (DESIGN §7, §9).
 *
 * One `createMetrics(registry)` per process: the CLI makes the registry, the roles record into the
 * returned handles, and the ops server serves the same registry. Nothing here is a module-level
 * singleton, so tests and `stash-hooks all` can hold several registries side by side.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

/** Every metric name starts with this, so a dashboard can select the product's series at once. */
export const METRIC_PREFIX = 'stash_hooks_';

export type MetricPhase = 'preBackup' | 'postBackup' | 'preRestore' | 'postRestore';
export type MetricScope = 'global' | 'local';
/** The action that decided the result; `none` when the hook failed before any action ran. */
export type MetricAction = 'exec' | 'httpGet' | 'httpPost' | 'tcpSocket' | 'none';
export type MetricResult = 'succeeded' | 'failed' | 'skipped';
/** Kubernetes watch event types, plus the relists the informer does on 410 Gone. */
export type WatcherEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | 'RELIST';

/** One sample of the queue-depth gauge: jobs of `queue` in BullMQ state `state`. */
export interface QueueDepthSample {
  queue: string;
  state: string;
  count: number;
}

/**
 * Reads the queue depths at scrape time (e.g. `Queue#getJobCounts` for each queue). Called once
 * per scrape; a rejection leaves the gauge empty for that scrape rather than failing `/metrics`.
 */
export type QueueDepthSource = () => Promise<QueueDepthSample[]>;

/** One sample of the oldest-waiting gauge: the age of the oldest job waiting in `queue`. */
export interface QueueAgeSample {
  queue: string;
  oldestWaitingSeconds: number;
}

/** Reads the oldest waiting job per queue at scrape time; a rejection leaves the gauge empty. */
export type QueueAgeSource = () => Promise<QueueAgeSample[]>;

/** What the session gauges are computed from: the sessions this replica's informers hold. */
export interface SessionSample {
  kind: string;
  phase?: string;
  /** `status.sessionDeadline`, RFC 3339. */
  deadline?: string;
}

/** The sessions known at scrape time (the watcher's informer cache; empty on a standby). */
export type SessionSource = () => SessionSample[];

export interface MetricsOptions {
  /** Where queue depths come from; can also be set later with `setQueueDepthSource`. */
  queueDepths?: QueueDepthSource;
  /** Also register prom-client's process metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
}

type HookLabels = 'phase' | 'scope' | 'action' | 'result';

/** The handles the roles record into. */
export interface Metrics {
  readonly registry: Registry;
  /** `stash_hooks_hooks_total{phase,scope,action,result}`. */
  readonly hooksTotal: Counter<HookLabels>;
  /** `stash_hooks_hook_duration_seconds{phase,scope,action,result}`: one hook run, all its hosts. */
  readonly hookDuration: Histogram<HookLabels>;
  /** `stash_hooks_dispatch_latency_seconds{phase,scope}`: session seen by the watcher → hook started. */
  readonly dispatchLatency: Histogram<'phase' | 'scope'>;
  /** `stash_hooks_queue_depth{queue,state}`, filled on scrape from the queue-depth source. */
  readonly queueDepth: Gauge<'queue' | 'state'>;
  /** `stash_hooks_watcher_events_total{type}`. */
  readonly watcherEvents: Counter<'type'>;
  /** `stash_hooks_watcher_restarts_total{reason}`: watches restarted (410 Gone, silence, error). */
  readonly watcherRestarts: Counter<'reason'>;
  /** `stash_hooks_leader`: 1 while this watcher replica holds the Lease, else 0. */
  readonly leader: Gauge;
  /** `stash_hooks_queue_oldest_waiting_seconds{queue}`: age of the oldest waiting job, read on scrape. */
  readonly queueOldestWaiting: Gauge<'queue'>;
  /** `stash_hooks_jobs_stalled_total{queue}`: jobs BullMQ found stalled (their worker died or froze). */
  readonly jobsStalled: Counter<'queue'>;
  /** `stash_hooks_hook_runs_waited_for_total{phase}`: times a job found its hook running on another live worker and waited instead of running it. */
  readonly hookRunsWaitedFor: Counter<'phase'>;
  /** `stash_hooks_sessions{kind,phase}`: sessions in the watcher's cache by phase, read on scrape. */
  readonly sessions: Gauge<'kind' | 'phase'>;
  /** `stash_hooks_sessions_past_deadline{kind}`: unfinished sessions whose `sessionDeadline` passed. */
  readonly sessionsPastDeadline: Gauge<'kind'>;
  /** Records one finished hook in the counter and the duration histogram together. */
  recordHook(labels: { phase: MetricPhase; scope: MetricScope; action: MetricAction; result: MetricResult }, durationSeconds: number): void;
  /** Records the time from `observedAtMs` (epoch ms, when the watcher saw the session) to now. */
  recordDispatch(labels: { phase: MetricPhase; scope: MetricScope }, observedAtMs: number, nowMs?: number): void;
  /** Replaces the queue-depth source (the queues usually exist only after the metrics). */
  setQueueDepthSource(source: QueueDepthSource | undefined): void;
  /** Replaces the oldest-waiting-job source. */
  setQueueAgeSource(source: QueueAgeSource | undefined): void;
  /** Replaces the session source (the watcher sets it). */
  setSessionSource(source: SessionSource | undefined): void;
}

// Hooks range from a TCP check (milliseconds) to a database dump (hours, bounded by timeoutSeconds).
const HOOK_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];
// Dispatch is queue hops plus, for post hooks, the wait for the backup itself.
const DISPATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200];

/** Defines the stash-hooks metrics on `registry` and returns their handles. */
export function createMetrics(registry: Registry, options: MetricsOptions = {}): Metrics {
  let queueDepthSource = options.queueDepths;
  const registers = [registry];

  const hooksTotal = new Counter({
    name: `${METRIC_PREFIX}hooks_total`,
    help: 'Hooks run, by phase, scope, deciding action and result.',
    labelNames: ['phase', 'scope', 'action', 'result'] as const,
    registers,
  });
  const hookDuration = new Histogram({
    name: `${METRIC_PREFIX}hook_duration_seconds`,
    help: 'Wall time of one hook run across all its hosts.',
    labelNames: ['phase', 'scope', 'action', 'result'] as const,
    buckets: HOOK_DURATION_BUCKETS,
    registers,
  });
  const dispatchLatency = new Histogram({
    name: `${METRIC_PREFIX}dispatch_latency_seconds`,
    help: 'Time from the watcher seeing the session to the hook starting.',
    labelNames: ['phase', 'scope'] as const,
    buckets: DISPATCH_BUCKETS,
    registers,
  });
  const queueDepth = new Gauge({
    name: `${METRIC_PREFIX}queue_depth`,
    help: 'Jobs in each queue by BullMQ state, read at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      // Reset first: a queue that disappeared must not keep reporting its last depth.
      this.reset();
      if (!queueDepthSource) return;
      let samples: QueueDepthSample[];
      try {
        samples = await queueDepthSource();
      } catch {
        return;
      }
      for (const s of samples) this.set({ queue: s.queue, state: s.state }, s.count);
    },
  });
  const watcherEvents = new Counter({
    name: `${METRIC_PREFIX}watcher_events_total`,
    help: 'Watch events received by the watcher, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  const watcherRestarts = new Counter({
    name: `${METRIC_PREFIX}watcher_restarts_total`,
    help: 'Watches restarted by the watcher, by reason (gone, silent, error).',
    labelNames: ['reason'] as const,
    registers,
  });
  const leader = new Gauge({
    name: `${METRIC_PREFIX}leader`,
    help: '1 while this watcher replica holds the leader Lease, else 0.',
    registers,
  });
  leader.set(0);
  let queueAgeSource: QueueAgeSource | undefined;
  let sessionSource: SessionSource | undefined;
  const queueOldestWaiting = new Gauge({
    name: `${METRIC_PREFIX}queue_oldest_waiting_seconds`,
    help: 'Age of the oldest job waiting in each queue (0 when none waits), read at scrape time.',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      this.reset();
      if (!queueAgeSource) return;
      try {
        for (const s of await queueAgeSource()) this.set({ queue: s.queue }, s.oldestWaitingSeconds);
      } catch {
        // Redis down: no sample this scrape (the queue-depth gauge behaves the same).
      }
    },
  });
  const jobsStalled = new Counter({
    name: `${METRIC_PREFIX}jobs_stalled_total`,
    help: 'Jobs found stalled by BullMQ (their worker stopped renewing the lock), by queue.',
    labelNames: ['queue'] as const,
    registers,
  });
  const hookRunsWaitedFor = new Counter({
    name: `${METRIC_PREFIX}hook_runs_waited_for_total`,
    help: 'Times a hook job found its hook running on another live worker (a HookRunning condition) and waited for that outcome instead of running the hook again.',
    labelNames: ['phase'] as const,
    registers,
  });
  // Both session gauges are computed from one read of the source per scrape.
  let sessionSnapshot: { at: number; samples: SessionSample[] } | undefined;
  const readSessions = (): SessionSample[] => {
    const now = Date.now();
    if (!sessionSnapshot || now - sessionSnapshot.at > 1000) sessionSnapshot = { at: now, samples: sessionSource ? sessionSource() : [] };
    return sessionSnapshot.samples;
  };
  const sessions = new Gauge({
    name: `${METRIC_PREFIX}sessions`,
    help: "BackupSessions and RestoreSessions in the watcher's cache, by kind and phase (the leader reports; standbys report none).",
    labelNames: ['kind', 'phase'] as const,
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, { kind: string; phase: string; n: number }>();
      for (const s of readSessions()) {
        const phase = s.phase || 'Pending';
        const key = `${s.kind}/${phase}`;
        const c = counts.get(key) ?? { kind: s.kind, phase, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set({ kind: c.kind, phase: c.phase }, c.n);
    },
  });
  const sessionsPastDeadline = new Gauge({
    name: `${METRIC_PREFIX}sessions_past_deadline`,
    help: 'Unfinished sessions whose status.sessionDeadline has passed: the pipeline should have ended them.',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      this.reset();
      if (!sessionSource) return;
      const now = Date.now();
      const byKind = new Map<string, number>([
        ['BackupSession', 0],
        ['RestoreSession', 0],
      ]);
      for (const s of readSessions()) {
        const deadline = s.deadline ? Date.parse(s.deadline) : NaN;
        if (['Succeeded', 'Failed', 'Skipped'].includes(s.phase ?? '') || !(deadline < now)) continue;
        byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + 1);
      }
      for (const [kind, n] of byKind) this.set({ kind }, n);
    },
  });

  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  return {
    registry,
    hooksTotal,
    hookDuration,
    dispatchLatency,
    queueDepth,
    watcherEvents,
    watcherRestarts,
    leader,
    queueOldestWaiting,
    jobsStalled,
    hookRunsWaitedFor,
    sessions,
    sessionsPastDeadline,
    recordHook(labels, durationSeconds) {
      hooksTotal.inc(labels);
      hookDuration.observe(labels, Math.max(0, durationSeconds));
    },
    recordDispatch(labels, observedAtMs, nowMs = Date.now()) {
      dispatchLatency.observe(labels, Math.max(0, (nowMs - observedAtMs) / 1000));
    },
    setQueueDepthSource(source) {
      queueDepthSource = source;
    },
    setQueueAgeSource(source) {
      queueAgeSource = source;
    },
    setSessionSource(source) {
      sessionSource = source;
      sessionSnapshot = undefined;
    },
  };
}

/** Anything that can report its job counts by state, e.g. a BullMQ `Queue`. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(): Promise<Record<string, number>>;
}

/** A `QueueDepthSource` reading `getJobCounts()` of each queue at scrape time. */
export function queueDepthsFrom(queues: readonly CountableQueue[]): QueueDepthSource {
  return async () => {
    const counts = await Promise.all(queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts() })));
    return counts.flatMap(({ queue, counts: byState }) => Object.entries(byState).map(([state, count]) => ({ queue, state, count: Number(count) || 0 })));
  };
}

/** Anything that can list its oldest waiting job, e.g. a BullMQ `Queue`. */
export interface AgedQueue {
  readonly name: string;
  getJobs(types: ['wait'], start: number, end: number, asc: boolean): Promise<Array<{ timestamp: number } | undefined>>;
}

/** A `QueueAgeSource` reading the oldest waiting job of each queue at scrape time. */
export function queueAgesFrom(queues: readonly AgedQueue[], now: () => number = Date.now): QueueAgeSource {
  return async () =>
    Promise.all(
      queues.map(async (q) => {
        const [oldest] = await q.getJobs(['wait'], 0, 0, true);
        return { queue: q.name, oldestWaitingSeconds: oldest ? Math.max(0, (now() - oldest.timestamp) / 1000) : 0 };
      }),
    );
}
