/**
 * The coordinator (DESIGN §6): consumes lifecycle events and the coordinator's own flow jobs.
 *
 * - *session observed* → build the session's two flows once (workers/flow-plan.ts).
 * - *target completed* → promote the target's delayed local post job so it runs now.
 * - *session deleted* → promote every post job so the flow drains instead of waiting a day.
 * - `release` (after the global pre hook, if any) → initiate targets, enqueue local pre hooks or
 *   open gates; a failed global pre settles the session at once; a global pre that ended without
 *   a condition is run again until the deadline, then fails the session saying why.
 * - `release-target` → the next member of a Sequential batch.
 * - `finalize` (after every post hook) → the final phase, `sessionDuration` and an Event.
 */
import { DelayedError, FlowProducer, Job, Worker } from 'bullmq';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { HOOK_QUEUE_OF, LifecycleEventType, QueueName, type LifecycleEvent } from '../shared/queues.js';
import { createRedisClient, bullPrefix, type RedisClient, type RedisTarget } from '../shared/redis.js';
import type { BackupBatch, Session } from '../shared/resources.js';
import {
  deadlineOf,
  finalPhase,
  hookSpec,
  isTargetComplete,
  isTerminal,
  kindOf,
  recordedHookCondition,
  targetRefs,
  type Invoker,
} from '../shared/session-state.js';
import {
  cappedBackoff,
  CoordinatorJob,
  CRASH_RECOVERY_OPTIONS,
  finalizeJobId,
  globalPreJob,
  globalPreJobId,
  localPostJobIds,
  localPreJob,
  postFlow,
  preFlow,
  releaseJobId,
  type CoordinatorJobData,
  type SessionPlan,
} from './flow-plan.js';
import { describeJob, promoteJob } from './promote.js';
import { validateInvoker } from '../shared/hook-spec.js';
import { QueueCache } from './queue-cache.js';
import { SessionStore } from './session-store.js';
import {
  failUnrunGlobalPre,
  globalPreFailed,
  initiateSession,
  markSessionDeadlineExceeded,
  openGate,
  recordUnrunPostHooks,
  setFinalPhase,
} from './status-writes.js';

export interface CoordinatorOptions {
  kubeConfig: KubeConfig;
  redis: RedisTarget;
  prefix: string;
  sessionTimeoutMs: number;
  /** Lifecycle and coordinator jobs processed at once. Default 20. */
  concurrency?: number;
  logger: Logger;
}

/** Thrown when an event arrived before the flow it refers to; BullMQ retries it with backoff. */
class NotYetError extends Error {}

/** A lifecycle job's data: the event, plus how often a *session observed* looked for its invoker. */
type LifecycleJobState = LifecycleEvent & { invokerChecks?: number };

/** Longest sleep between two looks for a missing invoker or a global pre condition. */
const MAX_RECHECK_MS = 5000;

export class Coordinator {
  private readonly opts: CoordinatorOptions;
  private readonly store: SessionStore;
  private readonly connections: RedisClient[] = [];
  private readonly queues: QueueCache;
  private readonly flows: FlowProducer;
  private readonly workers: Worker[] = [];
  private state: 'idle' | 'running' | 'closed' = 'idle';

  constructor(options: CoordinatorOptions) {
    this.opts = options;
    this.store = new SessionStore(options.kubeConfig);
    const producer = this.connection('stash-hooks-coordinator');
    this.queues = new QueueCache(producer, this.prefix, options.logger);
    this.flows = new FlowProducer({ connection: producer, prefix: this.prefix });
    this.flows.on('error', (err) => options.logger.warn({ err: err.message }, 'flow producer error'));
  }

  private get prefix(): string {
    return bullPrefix(this.opts.prefix, this.opts.redis);
  }

  private connection(name: string): RedisClient {
    const c = createRedisClient(this.opts.redis, { purpose: 'worker', connectionName: name });
    c.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'redis connection error (coordinator)'));
    this.connections.push(c);
    return c;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const concurrency = this.opts.concurrency ?? 20;
    const lifecycle = new Worker<LifecycleJobState>(QueueName.lifecycle, (job, token) => this.onLifecycle(job, token), {
      connection: this.connection('stash-hooks-lifecycle'),
      prefix: this.prefix,
      concurrency,
      ...CRASH_RECOVERY_OPTIONS,
    });
    const coordinator = new Worker<CoordinatorJobData>(QueueName.coordinator, (job, token) => this.onCoordinatorJob(job, token), {
      connection: this.connection('stash-hooks-coordinator-jobs'),
      prefix: this.prefix,
      concurrency,
      ...CRASH_RECOVERY_OPTIONS,
      settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) },
    });
    for (const w of [lifecycle, coordinator]) {
      w.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'coordinator worker error'));
      w.on('failed', (job, err) => {
        if (!(err instanceof NotYetError) && !(err instanceof DelayedError || err.name === 'DelayedError'))
          this.opts.logger.warn({ job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'coordinator job attempt failed; retrying');
      });
      this.workers.push(w);
    }
  }

  private async onLifecycle(job: Job<LifecycleJobState>, token?: string): Promise<string> {
    const event = job.data;
    switch (event.type) {
      case LifecycleEventType.SessionObserved:
        return this.buildFlows(event, job, token);
      case LifecycleEventType.TargetCompleted: {
        const post = event.session.kind === 'BackupSession' ? 'postBackup' : 'postRestore';
        const [id] = localPostJobIds(event.session, post, event.targetIndex + 1).slice(event.targetIndex);
        const r = await promoteJob(this.queues.get(HOOK_QUEUE_OF[post]), id, this.opts.logger);
        if (r === 'missing' && !(await Job.fromId(this.queues.get(QueueName.coordinator), finalizeJobId(event.session)))) {
          throw new NotYetError(`the flow of ${event.session.namespace}/${event.session.name} is not built yet`);
        }
        return r;
      }
      case LifecycleEventType.SessionDeleted: {
        const post = event.session.kind === 'BackupSession' ? 'postBackup' : 'postRestore';
        // Target count is unknown once the session is gone; promote until ids run out.
        for (let i = 0; ; i++) {
          const [id] = localPostJobIds(event.session, post, i + 1).slice(i);
          if ((await promoteJob(this.queues.get(HOOK_QUEUE_OF[post]), id)) === 'missing') break;
        }
        return 'drained';
      }
    }
  }

  private plan(session: Session, invoker: Invoker, observedAt?: number): SessionPlan {
    const ref = { kind: kindOf(session), namespace: session.metadata.namespace!, name: session.metadata.name!, uid: session.metadata.uid! };
    const backup = ref.kind === 'BackupSession';
    const targets = targetRefs(invoker, ref.namespace);
    const completed = new Set(targets.map((_t, i) => i).filter((i) => isTargetComplete(session, i)));
    const { deadlineMs, timeOut } = deadlineOf(session, invoker, this.opts.sessionTimeoutMs);
    return {
      session: ref,
      targets,
      pre: backup ? 'preBackup' : 'preRestore',
      post: backup ? 'postBackup' : 'postRestore',
      hasGlobalPre: backup && hookSpec(invoker, 'preBackup', 'global') !== undefined,
      hasGlobalPost: backup && hookSpec(invoker, 'postBackup', 'global') !== undefined,
      deadlineMs,
      timeOut,
      completed,
      observedAt,
    };
  }

  private async buildFlows(event: Extract<LifecycleEvent, { type: 'SessionObserved' }>, job: Job<LifecycleJobState>, token?: string): Promise<string> {
    // The two flows are two adds: a failure (or a crash) between them leaves only the post side,
    // and a retry that stopped at "finalize exists" stranded the session until its deadline.
    // So each side is checked, and added, on its own.
    const coordinatorQueue = this.queues.get(QueueName.coordinator);
    const [hasPost, hasPre] = await Promise.all([
      Job.fromId(coordinatorQueue, finalizeJobId(event.session)),
      Job.fromId(coordinatorQueue, releaseJobId(event.session)),
    ]);
    // A coordinator job that failed for good (an outage longer than its retry budget) is retried
    // when the session is observed again, rather than counted as a flow that exists.
    for (const job of [hasPost, hasPre]) if (job && (await job.isFailed())) await job.retry('failed');
    if (hasPost && hasPre) return 'flow exists';
    const session = await this.store.getSession(event.session);
    if (!session || isTerminal(session)) return 'nothing to do';
    const invoker = await this.store.getInvoker(session);
    if (!invoker) return this.waitForInvoker(session, job, token);
    // An invoker the flow cannot be planned from (no target, members not a list, a timeOut that is
    // no duration) used to throw here on every retry or silently fall back to the default deadline,
    // leaving the session Running with no message. Hook-level problems stay with each hook's condition.
    const invalid = validateInvoker(invoker).filter((m) => !/^spec\.(hooks|members\[\d+\]\.hooks)\./.test(m));
    if (invalid.length > 0) {
      const message = `${invoker.kind} ${event.session.namespace}/${invoker.metadata.name} is invalid: ${invalid.join('; ')}`;
      await this.store.updateStatus(event.session, (s) => setFinalPhase(s, 'Failed'));
      await this.store.emitEvent(event.session, 'Warning', 'SessionFailed', message);
      this.opts.logger.warn({ session: `${event.session.namespace}/${event.session.name}` }, message);
      return 'invoker invalid';
    }
    const plan = this.plan(session, invoker, event.observedAt);
    if (plan.targets.length === 0) {
      await this.store.updateStatus(event.session, (s) => setFinalPhase(s, 'Failed'));
      await this.store.emitEvent(
        event.session,
        'Warning',
        'SessionFailed',
        `${invoker.kind} ${event.session.namespace}/${invoker.metadata.name} has no target`,
      );
      return 'no target';
    }
    // Post side first: by the time any target completes, its post job exists.
    if (!hasPost) await this.flows.add(postFlow(plan, Date.now()));
    if (!hasPre) await this.flows.add(preFlow(plan));
    return hasPost || hasPre ? 'flow completed' : 'flow built';
  }

  /**
   * A BackupSession whose invoker does not exist (yet). Stash does not fail it: its BackupSession
   * controller returns the error (stash `pkg/controller/backup_session.go`, reading the invoker)
   * and its work queue re-adds the key with rate-limited backoff (kmodules
   * `tools/queue/worker.go`), so an invoker created just after its session is found. Here the job
   * looks again with backoff until the session's deadline (the default timeOut: the invoker's own
   * is unknown), with one Event saying so; then the session fails. An invoker reference that can
   * never resolve (no name, a kind that is no invoker) fails at once.
   */
  private async waitForInvoker(session: Session, job: Job<LifecycleJobState>, token?: string): Promise<string> {
    const ref = { kind: kindOf(session), namespace: session.metadata.namespace!, name: session.metadata.name!, uid: session.metadata.uid! };
    const inv = (session as { spec: { invoker?: { kind?: string; name?: string } } }).spec.invoker;
    if (!inv?.name || (inv.kind !== 'BackupConfiguration' && inv.kind !== 'BackupBatch')) return this.failWithoutInvoker(session);
    const { deadlineMs, timeOut } = deadlineOf(session, undefined, this.opts.sessionTimeoutMs);
    const what = `${inv.kind} ${ref.namespace}/${inv.name}`;
    if (Date.now() >= deadlineMs) {
      return this.failWithoutInvoker(
        session,
        `${what} not found: no hook can run (waited for it until the session's deadline, ${timeOut} after the session was created)`,
        timeOut,
      );
    }
    const checks = job.data.invokerChecks ?? 0;
    if (checks === 0) {
      const deadline = new Date(deadlineMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const err = await this.store.emitEvent(
        ref,
        'Warning',
        'InvokerNotFound',
        `${what} not found yet: waiting for it until the session's deadline (${deadline}), looking again with backoff`,
      );
      if (err) this.opts.logger.warn({ err: err.message }, 'could not record the Event');
      this.opts.logger.info({ session: `${ref.namespace}/${ref.name}`, invoker: what }, 'invoker not found yet; waiting for it');
    }
    await job.updateData({ ...job.data, invokerChecks: checks + 1 });
    await job.moveToDelayed(Math.min(deadlineMs, Date.now() + Math.min(MAX_RECHECK_MS, 250 * 2 ** checks)), token);
    throw new DelayedError();
  }

  private async failWithoutInvoker(session: Session, why?: string, timeOut?: string): Promise<string> {
    const ref = { kind: kindOf(session), namespace: session.metadata.namespace!, name: session.metadata.name!, uid: session.metadata.uid! };
    const inv = (session as { spec: { invoker?: { kind?: string; name?: string } } }).spec.invoker;
    const message = why ?? `${inv?.kind ?? 'invoker'} ${ref.namespace}/${inv?.name ?? '(none)'} not found: no hook can run`;
    await this.store.updateStatus(ref, (s) => {
      const late = timeOut !== undefined && markSessionDeadlineExceeded(s, timeOut);
      return setFinalPhase(s, 'Failed') || late;
    });
    await this.store.emitEvent(ref, 'Warning', 'SessionFailed', message);
    this.opts.logger.warn({ session: `${ref.namespace}/${ref.name}` }, message);
    return 'invoker missing';
  }

  private async onCoordinatorJob(job: Job<CoordinatorJobData>, token?: string): Promise<string> {
    const session = await this.store.getSession(job.data.session);
    if (session && isTerminal(session) && job.name === CoordinatorJob.release && globalPreFailed(session)) {
      // A retry of a release that wrote Failed and then died before draining: drain now, or the
      // post jobs stay parked until the deadline (DESIGN §6: a failed global pre settles at once).
      const invoker = await this.store.getInvoker(session);
      if (invoker) await this.drainPosts(this.plan(session, invoker));
      return 'settled: global pre failed';
    }
    if (!session || isTerminal(session)) return 'session gone or finished';
    const invoker = await this.store.getInvoker(session);
    if (!invoker) return this.failWithoutInvoker(session);
    const plan = this.plan(session, invoker, job.data.observedAt);
    switch (job.name) {
      case CoordinatorJob.release:
        return this.release(session, invoker, plan, job, token);
      case CoordinatorJob.releaseTarget:
        return this.releaseTarget(session, invoker, plan, job.data.targetIndex ?? 0);
      case CoordinatorJob.finalize:
        return this.finalize(session, invoker, plan);
      default:
        return `unknown job ${job.name}`;
    }
  }

  private async release(session: Session, invoker: Invoker, plan: SessionPlan, job: Job<CoordinatorJobData>, token?: string): Promise<string> {
    if (globalPreFailed(session)) {
      // DESIGN §5: no member is initiated, no post runs, the session ends Failed at once.
      await this.store.updateStatus(plan.session, (s) => setFinalPhase(s, 'Failed'));
      await this.store.emitEvent(plan.session, 'Warning', 'SessionFailed', 'The global preBackup hook failed; no target was backed up.');
      await this.drainPosts(plan);
      return 'settled: global pre failed';
    }
    if (plan.hasGlobalPre && recordedHookCondition(session, plan.pre, 'global')?.status !== 'True') return this.awaitGlobalPre(plan, job, token);
    const sequential = invoker.kind === 'BackupBatch' && (invoker as BackupBatch).spec.executionOrder === 'Sequential';
    const first = Date.now() >= plan.deadlineMs ? [] : sequential ? [0] : plan.targets.map((_t, i) => i);
    const withPre = first.filter((i) => hookSpec(invoker, plan.pre, 'local', i) !== undefined);
    const withoutPre = first.filter((i) => hookSpec(invoker, plan.pre, 'local', i) === undefined);
    // One status write initiates every target and opens the gates that need no pre hook, and one
    // addBulk enqueues the pre hooks: a 1,000-member batch used to take 1,000 sequential writes of
    // the whole (growing) session here (docs/performance.md).
    const updated = await this.store.updateStatus(plan.session, (s) => {
      let changed = initiateSession(s, plan.targets, plan.deadlineMs);
      for (const i of withoutPre) changed = openGate(s, i, false) || changed;
      return changed;
    });
    if (!updated) return 'session gone';
    if (withPre.length > 0) {
      await this.queues.get(HOOK_QUEUE_OF[plan.pre]).addBulk(withPre.map((i) => localPreJob(plan, plan.pre, i)));
    }
    return `released ${first.length} of ${plan.targets.length} targets`;
  }

  private async releaseTarget(session: Session, invoker: Invoker, plan: SessionPlan, i: number): Promise<string> {
    if (i >= plan.targets.length || Date.now() >= plan.deadlineMs) return 'nothing to release';
    if (hookSpec(invoker, plan.pre, 'local', i)) {
      const job = localPreJob(plan, plan.pre, i);
      await this.queues.get(HOOK_QUEUE_OF[plan.pre]).add(job.name, job.data, job.opts);
      return `enqueued ${plan.pre} of target ${i}`;
    }
    await this.store.updateStatus(plan.session, (s) => openGate(s, i, false));
    return `opened the gate of target ${i}`;
  }

  /**
   * `release` ran but the global pre hook has no condition: its job failed for good on
   * infrastructure faults (API 5xx, Redis) or Redis lost it. No member may be initiated until the
   * condition is True (DESIGN §5), so the hook is enqueued again whenever its last run ended
   * without one, and `release` looks again with backoff — until the deadline, when the session
   * fails with the global pre condition False saying why. It never goes on without the hook.
   */
  private async awaitGlobalPre(plan: SessionPlan, job: Job<CoordinatorJobData>, token?: string): Promise<string> {
    const queue = this.queues.get(HOOK_QUEUE_OF[plan.pre]);
    const runs = job.data.globalPreRuns ?? 0;
    if (Date.now() >= plan.deadlineMs) return this.failUnrunGlobalPre(plan, runs);
    const last = await Job.fromId(queue, globalPreJobId(plan.session, plan.pre, runs));
    const state = last ? await last.getState() : 'missing';
    let next = runs;
    if (state === 'failed' || state === 'completed' || state === 'missing' || state === 'unknown') {
      next = runs + 1;
      const again = globalPreJob(plan, next);
      // A run that executed the hook but could not record it kept its outcome on its job: the
      // next run records that outcome instead of running the hook a second time.
      // Its seal goes with it: the worker checks it (workers/outcome-seal.ts binds it to the hook, not the job).
      const { outcome: kept, outcomeSeal } = (last?.data ?? {}) as { outcome?: unknown; outcomeSeal?: unknown };
      await queue.add(again.name, kept ? { ...again.data, outcome: kept, outcomeSeal } : again.data, again.opts);
      this.opts.logger.warn(
        { session: `${plan.session.namespace}/${plan.session.name}`, run: next, previous: state, err: last?.failedReason },
        'the global pre hook ended without a condition; running it again',
      );
    }
    const checks = job.data.globalPreChecks ?? 0;
    await job.updateData({ ...job.data, globalPreRuns: next, globalPreChecks: checks + 1 });
    await job.moveToDelayed(Math.min(plan.deadlineMs, Date.now() + Math.min(MAX_RECHECK_MS, cappedBackoff(checks + 1))), token);
    throw new DelayedError();
  }

  /** The reason a global pre hook has no condition at the deadline, from its latest job. */
  private async unrunGlobalPreReason(plan: SessionPlan, runs?: number): Promise<string> {
    const n = runs ?? (await Job.fromId(this.queues.get(QueueName.coordinator), releaseJobId(plan.session)))?.data?.globalPreRuns ?? 0;
    const detail = await describeJob(this.queues.get(HOOK_QUEUE_OF[plan.pre]), globalPreJobId(plan.session, plan.pre, n));
    return `it could not complete before the session's deadline (timeOut ${plan.timeOut ?? '?'}): ${detail}`;
  }

  private async failUnrunGlobalPre(plan: SessionPlan, runs: number): Promise<string> {
    const why = await this.unrunGlobalPreReason(plan, runs);
    const written = await this.store.updateStatus(plan.session, (s) => failUnrunGlobalPre(s, why, plan.timeOut ?? '?'));
    if (written) {
      const err = await this.store.emitEvent(
        plan.session,
        'Warning',
        'SessionFailed',
        `The global preBackup hook did not run before the deadline; no target was backed up: ${why}`,
      );
      if (err) this.opts.logger.warn({ err: err.message }, 'could not record the Event');
    }
    this.opts.logger.warn({ session: `${plan.session.namespace}/${plan.session.name}`, why }, 'global pre hook never ran: session failed');
    await this.drainPosts(plan);
    return 'settled: global pre never ran';
  }

  private async drainPosts(plan: SessionPlan): Promise<void> {
    const q = this.queues.get(HOOK_QUEUE_OF[plan.post]);
    for (const id of localPostJobIds(plan.session, plan.post, plan.targets.length)) await promoteJob(q, id);
  }

  private async finalize(session: Session, invoker: Invoker, plan: SessionPlan): Promise<string> {
    let phase = 'Failed' as 'Succeeded' | 'Failed';
    // The post side drains at the deadline when the global pre never got a condition (its post
    // jobs find no member initiated): record why here, or the session would end without a reason.
    const preWhy = plan.hasGlobalPre && !recordedHookCondition(session, plan.pre, 'global') ? await this.unrunGlobalPreReason(plan) : undefined;
    let unrunPre = false;
    const written = await this.store.updateStatus(plan.session, (s) => {
      unrunPre = preWhy !== undefined && failUnrunGlobalPre(s, preWhy, plan.timeOut ?? '?');
      const recorded = recordUnrunPostHooks(s, invoker, plan.post, plan.targets.length) || unrunPre;
      phase = globalPreFailed(s) ? 'Failed' : finalPhase(s, plan.targets.length);
      return setFinalPhase(s, phase) || recorded;
    });
    if (written) {
      const what = plan.session.kind === 'BackupSession' ? 'Backup' : 'Restore';
      const message = unrunPre
        ? `The global preBackup hook did not run before the deadline; no target was backed up: ${preWhy}`
        : `${what} session ${phase === 'Succeeded' ? 'succeeded' : 'failed'} after ${written.status?.sessionDuration ?? '?'}.`;
      const err = await this.store.emitEvent(
        plan.session,
        phase === 'Succeeded' ? 'Normal' : 'Warning',
        phase === 'Succeeded' ? 'SessionSucceeded' : 'SessionFailed',
        message,
      );
      if (err) this.opts.logger.warn({ err: err.message }, 'could not record the Event');
    }
    this.opts.logger.info({ session: `${plan.session.namespace}/${plan.session.name}`, phase }, 'session finalized');
    return phase;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const steps: Array<() => Promise<unknown>> = [
      () => Promise.all(this.workers.map((w) => w.close())),
      () => this.flows.close(),
      () => this.queues.close(),
      () => Promise.all(this.connections.map((c) => c.quit())),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.opts.logger.warn({ err: errorMessage(err) }, 'coordinator close step failed');
      }
    }
  }
}
