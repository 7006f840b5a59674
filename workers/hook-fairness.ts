/**
 * No tenant can starve the others (DESIGN §11): the pieces the hook worker uses to share its
 * slots between namespaces and to stop hooks that no longer have a reason to run.
 *
 * - {@link NamespaceSlots}: per queue, at most `cap` hooks of one namespace run at once in this
 *   process. A job over its namespace's cap is handed back as delayed (BullMQ `moveToDelayed` +
 *   `DelayedError`, which neither holds the slot nor counts an attempt) and tried again shortly.
 * - {@link hookTimeoutSeconds}: a hook's timeout, clamped to the cluster-wide maximum and, for a
 *   pre hook, to what is left of its session's deadline.
 * - {@link SessionDeletions}: in-flight hooks are aborted when the watcher publishes *session
 *   deleted* for their session (the lifecycle queue's `added` event for that job id).
 */
import { QueueEvents } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import { lifecycleJobId, QueueName, type SessionRef } from '../shared/queues.js';
import type { RedisClient } from '../shared/redis.js';

/** Concurrency per namespace when not configured: half the slots, at least one. */
export function defaultNamespaceCap(concurrency: number): number {
  return Math.max(1, Math.floor(concurrency / 2));
}

/** How long a job over its namespace's cap waits before it is tried again (plus jitter). */
export const NAMESPACE_WAIT_MS = 1000;

/** Counts the hooks running per queue and namespace in this process. */
export class NamespaceSlots {
  private readonly running = new Map<string, number>();

  constructor(readonly cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`namespace concurrency must be an integer ≥ 1, got ${cap}`);
  }

  /** Takes a slot for `namespace` on `queue`, or returns undefined when its cap is reached; call the release once. */
  tryTake(queue: string, namespace: string): (() => void) | undefined {
    const key = `${queue}/${namespace}`;
    const n = this.running.get(key) ?? 0;
    if (n >= this.cap) return undefined;
    this.running.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(key) ?? 1) - 1;
      if (left <= 0) this.running.delete(key);
      else this.running.set(key, left);
    };
  }

  /** Hooks of `namespace` running on `queue` now (metrics, tests). */
  count(queue: string, namespace: string): number {
    return this.running.get(`${queue}/${namespace}`) ?? 0;
  }
}

/** The timeout a hook runs with, and why it is lower than asked when it is. */
export interface HookTimeout {
  timeoutSeconds: number;
  /** Set when the session's deadline, not the hook's own timeout, ends the hook. */
  deadlineMs?: number;
  clampedBy?: 'max-hook-timeout' | 'session-deadline';
}

/**
 * `asked` (the hook's `timeoutSeconds`, else the default) clamped to `maxSeconds`; a pre hook is
 * also clamped to the time left before `deadlineMs`. Post hooks are what runs at a session's
 * deadline (DESIGN §5, §10 "deadline runs post hooks"), so the deadline does not cut them.
 */
export function hookTimeoutSeconds(asked: number, maxSeconds: number, opts: { pre: boolean; deadlineMs?: number; now: number }): HookTimeout {
  let timeout: HookTimeout = asked > maxSeconds ? { timeoutSeconds: maxSeconds, clampedBy: 'max-hook-timeout' } : { timeoutSeconds: asked };
  if (opts.pre && opts.deadlineMs !== undefined && opts.deadlineMs > opts.now) {
    const left = Math.max(1, Math.ceil((opts.deadlineMs - opts.now) / 1000));
    if (left < timeout.timeoutSeconds) timeout = { timeoutSeconds: left, deadlineMs: opts.deadlineMs, clampedBy: 'session-deadline' };
  }
  return timeout;
}

/** Why a hook was stopped before it finished; the abort reason of its signal. */
export class HookStoppedReason extends Error {
  constructor(
    readonly why: 'session-deleted' | 'session-deadline',
    message: string,
  ) {
    super(message);
    this.name = 'HookStoppedReason';
  }
}

/** Aborts the in-flight hooks of a session when the watcher publishes its deletion. */
export class SessionDeletions {
  private readonly events: QueueEvents;
  private readonly inFlight = new Map<string, Set<AbortController>>();

  constructor(connection: RedisClient, prefix: string, logger: Logger) {
    this.events = new QueueEvents(QueueName.lifecycle, { connection, prefix, autorun: true });
    this.events.on('error', (err) => logger.warn({ err: err.message }, 'lifecycle events error (hook worker)'));
    const onJob = ({ jobId }: { jobId: string }) => {
      const controllers = this.inFlight.get(jobId);
      if (!controllers) return;
      for (const c of controllers) c.abort(new HookStoppedReason('session-deleted', 'the session was deleted while the hook ran'));
      logger.info({ lifecycleJob: jobId, hooks: controllers.size }, 'session deleted: stopping its hooks in flight');
    };
    this.events.on('added', onJob);
    this.events.on('duplicated', onJob);
  }

  /** Registers a hook of `session` in flight; returns the deregistration. */
  watch(session: SessionRef, controller: AbortController): () => void {
    const id = lifecycleJobId({ type: 'SessionDeleted', session, observedAt: 0 });
    const set = this.inFlight.get(id) ?? new Set<AbortController>();
    set.add(controller);
    this.inFlight.set(id, set);
    return () => {
      set.delete(controller);
      if (set.size === 0 && this.inFlight.get(id) === set) this.inFlight.delete(id);
    };
  }

  /** Resolves once the event stream is being read: a deletion published after this is seen. */
  waitUntilReady(): Promise<unknown> {
    return this.events.waitUntilReady();
  }

  close(): Promise<void> {
    return this.events.close();
  }
}
