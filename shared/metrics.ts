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
  /** Records one finished hook in the counter and the duration histogram together. */
  recordHook(labels: { phase: MetricPhase; scope: MetricScope; action: MetricAction; result: MetricResult }, durationSeconds: number): void;
  /** Records the time from `observedAtMs` (epoch ms, when the watcher saw the session) to now. */
  recordDispatch(labels: { phase: MetricPhase; scope: MetricScope }, observedAtMs: number, nowMs?: number): void;
  /** Replaces the queue-depth source (the queues usually exist only after the metrics). */
  setQueueDepthSource(source: QueueDepthSource | undefined): void;
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
    return counts.flatMap(({ queue, counts: byState }) =>
      Object.entries(byState).map(([state, count]) => ({ queue, state, count: Number(count) || 0 })),
    );
  };
}
