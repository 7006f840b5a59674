/**
 * The watcher (DESIGN §6 producers/): informers on BackupSessions and RestoreSessions turn every
 * observation into lifecycle events on the `lifecycle` queue. Handlers only derive and buffer
 * events (sample-controller's rule); a flush loop publishes them with `addBulk` and deterministic
 * job ids, retrying while Redis is down, so nothing observed is lost and nothing is added twice.
 *
 * Robustness: an informer that reports an error is restarted with backoff; a watchdog restarts
 * one that has been silent for `watchdogSeconds`; a periodic resync re-publishes every unfinished
 * session, which is how a Redis that lost everything gets its work back (DESIGN §6 "Recovery");
 * the leader also keeps a marker key in Redis and re-publishes at once when it vanishes, so a
 * Redis restarted empty costs seconds, not a resync interval.
 * Only the Lease holder runs informers; standbys wait.
 */
import { CustomObjectsApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { lifecycleJobId, QueueName, type LifecycleEvent } from '../shared/queues.js';
import { createRedisClient, bullPrefix, type RedisClient, type RedisTarget } from '../shared/redis.js';
import { STASH_GROUP, STASH_VERSION, StashResource, type Session } from '../shared/resources.js';
import { isTerminal } from '../shared/session-state.js';
import { deriveLifecycleEvents, type WatchEventType } from './lifecycle-events.js';
import { LeaseElector } from './lease-elector.js';

export interface WatcherOptions {
  kubeConfig: KubeConfig;
  redis: RedisTarget;
  prefix: string;
  /** Empty: every namespace. */
  namespaces: string[];
  watchdogSeconds: number;
  /** Re-publish every unfinished session this often (ms). Default 60 000. */
  resyncIntervalMs?: number;
  /** How often the leader checks that Redis still has its data (ms; see `checkRedisKeptData`). Default 2000. */
  redisCheckIntervalMs?: number;
  /** Leader election; absent: this replica always watches (tests, `all` without a Lease). */
  lease?: { name: string; namespace: string; identity: string; leaseDurationSeconds?: number; renewIntervalMs?: number; retryIntervalMs?: number };
  logger: Logger;
  metrics?: Metrics;
}

type SessionInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

interface WatchedInformer {
  key: string;
  informer: SessionInformer;
  lastActivityMs: number;
  restartTimer?: NodeJS.Timeout;
  failures: number;
  synced: boolean;
}

/** How long completed lifecycle jobs are kept: their ids are what makes a re-publish a no-op. */
export const LIFECYCLE_JOB_RETENTION_SECONDS = 24 * 3600;

export class Watcher {
  private readonly opts: WatcherOptions;
  private readonly connection: RedisClient;
  private readonly queue: Queue;
  private readonly informers: WatchedInformer[] = [];
  private readonly elector?: LeaseElector;
  private readonly pending = new Map<string, LifecycleEvent>();
  /**
   * Ids this process already published. Every status write of a session is a watch event, and
   * each re-derives *target completed* for every finished target: without this memo a 1,000-member
   * batch re-added up to 1,000 duplicate jobs per write (O(members²) Redis work). Redis still
   * drops repeats (other replicas, restarts); the periodic resync bypasses the memo so that a
   * Redis that lost everything gets its work back.
   */
  private readonly published = new Map<string, Set<string>>();
  private state: 'idle' | 'running' | 'closed' = 'idle';
  private watching = false;
  private flushing: Promise<void> | undefined;
  private flushTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private redisCheckTimer?: NodeJS.Timeout;
  /** Redis key whose disappearance means Redis lost its data (see `checkRedisKeptData`). */
  private readonly markerKey: string;
  private markerPlaced = false;
  private publishFailures = 0;

  constructor(options: WatcherOptions) {
    this.opts = options;
    this.connection = createRedisClient(options.redis, { purpose: 'producer', connectionName: 'stash-hooks-watcher' });
    this.connection.on('error', (err) => options.logger.warn({ err: err.message }, 'redis connection error (watcher)'));
    this.queue = new Queue(QueueName.lifecycle, { connection: this.connection, prefix: bullPrefix(options.prefix, options.redis) });
    this.markerKey = `${bullPrefix(options.prefix, options.redis)}:watcher:data-marker`;
    // Connected, or reconnected after Redis restarted: check the marker at once.
    this.connection.on('ready', () => {
      if (this.watching) void this.checkRedisKeptData();
    });
    this.queue.on('error', (err) => options.logger.warn({ err: err.message }, 'lifecycle queue error'));
    if (options.lease) {
      this.elector = new LeaseElector({
        kubeConfig: options.kubeConfig,
        ...options.lease,
        logger: options.logger,
        onStartedLeading: () => this.startWatching(),
        onStoppedLeading: () => this.stopWatching(),
      });
    }
  }

  /** True while this replica runs informers (it is the leader, or there is no election). */
  get isWatching(): boolean {
    return this.watching;
  }

  /** True once every informer has listed (the readiness of the watcher role). */
  get synced(): boolean {
    return !this.watching || this.informers.every((i) => i.synced);
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.watching;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    if (this.elector) this.elector.start();
    else void this.startWatching();
  }

  private paths(plural: string): Array<{ key: string; path: string; list: () => Promise<unknown> }> {
    const api = this.opts.kubeConfig.makeApiClient(CustomObjectsApi);
    const base = `/apis/${STASH_GROUP}/${STASH_VERSION}`;
    if (this.opts.namespaces.length === 0) {
      return [{ key: plural, path: `${base}/${plural}`, list: () => api.listClusterCustomObject({ group: STASH_GROUP, version: STASH_VERSION, plural }) }];
    }
    return this.opts.namespaces.map((namespace) => ({
      key: `${namespace}/${plural}`,
      path: `${base}/namespaces/${namespace}/${plural}`,
      list: () => api.listNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace, plural }),
    }));
  }

  private async startWatching(): Promise<void> {
    if (this.state !== 'running' || this.watching) return;
    this.watching = true;
    this.opts.metrics?.leader.set(1);
    for (const plural of [StashResource.BackupSession, StashResource.RestoreSession]) {
      for (const { key, path, list } of this.paths(plural)) {
        const informer = makeInformer(this.opts.kubeConfig, path, list as never) as SessionInformer;
        const watched: WatchedInformer = { key, informer, lastActivityMs: Date.now(), failures: 0, synced: false };
        const on = (type: WatchEventType) => (obj: KubernetesObject) => {
          watched.lastActivityMs = Date.now();
          watched.failures = 0;
          this.opts.metrics?.watcherEvents.inc({ type });
          this.observe(type, obj as unknown as Session);
        };
        informer.on('add', on('ADDED'));
        informer.on('update', on('MODIFIED'));
        informer.on('delete', on('DELETED'));
        informer.on('connect', () => {
          watched.lastActivityMs = Date.now();
        });
        informer.on('error', (err: unknown) => this.restartInformer(watched, 'error', err));
        this.informers.push(watched);
        this.startInformer(watched);
      }
    }
    this.watchdogTimer = setInterval(() => this.watchdog(), Math.min(5000, this.opts.watchdogSeconds * 250));
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncIntervalMs ?? 60_000);
    this.markerPlaced = false;
    void this.checkRedisKeptData();
    this.redisCheckTimer = setInterval(() => void this.checkRedisKeptData(), this.opts.redisCheckIntervalMs ?? 2000);
    this.opts.logger.info({ namespaces: this.opts.namespaces.length ? this.opts.namespaces : 'all' }, 'watching sessions');
  }

  private startInformer(watched: WatchedInformer): void {
    watched.lastActivityMs = Date.now();
    watched.informer.start().then(
      () => {
        watched.synced = true;
      },
      (err: unknown) => this.restartInformer(watched, 'error', err),
    );
  }

  private restartInformer(watched: WatchedInformer, reason: 'error' | 'silence', err?: unknown): void {
    if (!this.watching || watched.restartTimer) return;
    watched.failures++;
    const delay = reason === 'silence' ? 0 : Math.min(30_000, 500 * 2 ** Math.min(watched.failures - 1, 6));
    this.opts.metrics?.watcherRestarts.inc({ reason });
    this.opts.logger.warn({ informer: watched.key, reason, delayMs: delay, err: err instanceof Error ? err.message : err }, 'restarting watch');
    void watched.informer.stop();
    watched.restartTimer = setTimeout(() => {
      watched.restartTimer = undefined;
      if (this.watching) this.startInformer(watched);
    }, delay);
  }

  private watchdog(): void {
    const limit = this.opts.watchdogSeconds * 1000;
    for (const w of this.informers) {
      if (!w.restartTimer && Date.now() - w.lastActivityMs > limit) this.restartInformer(w, 'silence');
    }
  }

  /** The sessions the informers hold (none on a standby), for the session gauges of /metrics. */
  sessions(): Session[] {
    return this.informers.flatMap((w) => w.informer.list() as unknown as Session[]);
  }

  private resync(): void {
    const now = Date.now();
    for (const w of this.informers) {
      for (const obj of w.informer.list()) this.observe('MODIFIED', obj as unknown as Session, now, true);
    }
  }

  /**
   * `SET marker NX`: the first call places the marker; a later call that places it again means
   * Redis lost its data (restarted empty, failed over to an empty replica, flushed) and with it
   * the flows of every unfinished session, so they are all re-published now. Runs every
   * `redisCheckIntervalMs` and whenever the connection becomes ready.
   */
  private async checkRedisKeptData(): Promise<void> {
    try {
      const placed = (await this.connection.set(this.markerKey, String(Date.now()), 'NX')) === 'OK';
      if (placed && this.markerPlaced && this.watching) {
        this.opts.logger.warn({ key: this.markerKey }, 'Redis lost its data (the marker key is gone): re-publishing every unfinished session now');
        this.published.clear();
        this.resync();
      }
      this.markerPlaced = true;
    } catch {
      // Redis is down or failing over: the connection error is logged where it happens, and
      // the check runs again on the next tick and when the connection is ready again.
    }
  }

  private observe(type: WatchEventType, session: Session, now = Date.now(), resync = false): void {
    let added = false;
    for (const event of deriveLifecycleEvents(type, session, now)) {
      const id = lifecycleJobId(event);
      if (this.pending.has(id) || (!resync && this.published.get(event.session.uid)?.has(id))) continue;
      this.pending.set(id, event);
      added = true;
    }
    if (type === 'DELETED' || isTerminal(session)) this.forget(session);
    if (added) this.scheduleFlush(0);
  }

  /** A finished or deleted session derives nothing more (a deletion is derived once): drop its ids. */
  private forget(session: Session): void {
    const uid = session.metadata?.uid;
    if (uid) this.published.delete(uid);
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushTimer || this.state === 'closed') return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.size > 0) this.scheduleFlush(this.publishFailures ? Math.min(10_000, 200 * 2 ** this.publishFailures) : 0);
      });
    }, delayMs);
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending.entries()].slice(0, 500);
    if (batch.length === 0) return;
    try {
      await this.queue.addBulk(
        batch.map(([id, event]) => ({
          name: event.type,
          data: event,
          // A failed event is removed: it can always be derived again, and a kept failure would
          // make every later publish of its id a no-op (the session would never get a flow).
          opts: {
            jobId: id,
            removeOnComplete: { age: LIFECYCLE_JOB_RETENTION_SECONDS },
            removeOnFail: true,
            attempts: 10,
            backoff: { type: 'exponential', delay: 500 },
          },
        })),
      );
      // Bounded: forgetting only costs a duplicate add that Redis drops.
      if (this.published.size > 100_000) this.published.clear();
      for (const [id, event] of batch) {
        this.pending.delete(id);
        let ids = this.published.get(event.session.uid);
        if (!ids) this.published.set(event.session.uid, (ids = new Set()));
        ids.add(id);
      }
      this.publishFailures = 0;
    } catch (err) {
      this.publishFailures++;
      this.opts.logger.warn({ err: (err as Error).message, pending: this.pending.size }, 'publishing lifecycle events failed; will retry');
    }
  }

  private async stopWatching(): Promise<void> {
    if (!this.watching) return;
    this.watching = false;
    this.opts.metrics?.leader.set(0);
    clearInterval(this.watchdogTimer);
    clearInterval(this.resyncTimer);
    clearInterval(this.redisCheckTimer);
    for (const w of this.informers.splice(0)) {
      clearTimeout(w.restartTimer);
      await w.informer.stop();
    }
  }

  /** Stops informers, hands the Lease over, publishes what is still buffered, closes Redis. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const steps: Array<() => Promise<unknown>> = [
      async () => (this.elector ? this.elector.close() : this.stopWatching()),
      async () => this.stopWatching(),
      async () => {
        clearTimeout(this.flushTimer);
        await this.flushing;
        if (this.pending.size > 0) await this.flush();
      },
      async () => this.queue.close(),
      async () => this.connection.quit(),
    ];
    this.state = 'closed';
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'watcher close step failed');
      }
    }
  }
}
