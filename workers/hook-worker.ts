/**
 * The hook worker pools (DESIGN §6): one BullMQ Worker per phase queue. Per job: read the session
 * and invoker fresh → stop if the hook's condition is already recorded (exactly once per
 * condition) → deadline and `executionPolicy` → run the hook (workers/execution) → write the
 * condition with optimistic concurrency → a short result for the dashboard.
 *
 * Retry is decided here, in one place: a hook's own failure is final unless `maxRetry`; an
 * infrastructure fault is thrown so BullMQ retries it with backoff, and on the last attempt it
 * is recorded as the hook's failure so that no hook ends without a condition.
 */
import { setMaxListeners } from 'node:events';
import { DelayedError, Job, Worker } from 'bullmq';
import type { KubeConfig } from '@kubernetes/client-node';
import { boundMessage, hookCondition, isPostHook, type HookOutcome, type HookRunRecord } from '../shared/conditions.js';
import { errorMessage, isHookOwnFailure } from '../shared/errors.js';
import { validateHandler } from '../shared/hook-spec.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics, MetricAction } from '../shared/metrics.js';
import { hookJobId, QueueName, type HookJobData, type HookJobResult, type HookQueueName } from '../shared/queues.js';
import { createRedisClient, bullPrefix, type RedisClient, type RedisTarget } from '../shared/redis.js';
import type { BackupBatch, BackupConfiguration, BackupSession, Handler, PostHook, Session } from '../shared/resources.js';
import {
  deadlineOf,
  evaluatePolicy,
  finalPhase,
  hookRunRecord,
  hookSpec,
  isTargetComplete,
  recordedHookCondition,
  targetRefs,
  type Invoker,
} from '../shared/session-state.js';
import { buildSummary } from '../shared/summary.js';
import { runHandler } from './execution/run-handler.js';
import { kubeAccessFromConfig, type ExecutionDeps, type HookResult } from './execution/types.js';
import { CoordinatorJob, COORDINATOR_JOB_OPTIONS, CRASH_RECOVERY_OPTIONS, releaseTargetJobId, type CoordinatorJobData } from './flow-plan.js';
import { InfraAddresses } from './execution/infra-addresses.js';
import { renderHandler } from './execution/render-handler.js';
import { RenderPool, type RenderLimits } from './execution/render-pool.js';
import { defaultNamespaceCap, hookTimeoutSeconds, HookStoppedReason, NAMESPACE_WAIT_MS, NamespaceSlots, SessionDeletions } from './hook-fairness.js';
import { QueueCache } from './queue-cache.js';
import { SessionStore } from './session-store.js';
import {
  clearHookStart,
  closeGate,
  failTargetAfterPostHook,
  globalPreFailed,
  globalPreNotSucceeded,
  markDeadlineExceeded,
  openGate,
  preHookFailed,
  recordHookCondition,
  recordHookStart,
  recordUnrunPostHooks,
} from './status-writes.js';
import { promoteJob } from './promote.js';
import { OutcomeSeal } from './outcome-seal.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';

export interface HookWorkerPoolOptions {
  kubeConfig: KubeConfig;
  redis: RedisTarget;
  prefix: string;
  queues: readonly HookQueueName[];
  concurrency: number;
  defaultHookTimeoutSeconds: number;
  sessionTimeoutMs: number;
  /** `--deny-cidrs`/`--allow-cidrs` (and a resolver, for tests); see network-guard.ts. */
  network?: ExecutionDeps['network'];
  /** `--protected-namespaces` (DESIGN §11); default `kube-system`. */
  protectedNamespaces?: readonly string[];
  /** Loopback reachable by hooks: `auto` (default) only when the API server is devcluster on loopback. */
  allowLoopback?: 'auto' | boolean;
  /** stash-hooks' namespace, whose pods hooks may not reach. */
  ownNamespace?: string;
  /** Caps on a hook's templates (render-pool.ts); defaults there. */
  renderLimits?: Partial<RenderLimits>;
  /** Hooks of one namespace run at once per queue; default half of `concurrency`, at least 1. */
  namespaceConcurrency?: number;
  /** Ceiling on any hook's `timeoutSeconds` (`--max-hook-timeout-seconds`); default 3600. */
  maxHookTimeoutSeconds?: number;
  /** This replica's name (`POD_NAME`): HTTP hooks say `User-Agent: stash-hooks (worker <identity>)`. */
  identity?: string;
  /** Namespace of the worker heartbeat Leases (`--lease-namespace`); default `default`. */
  leaseNamespace?: string;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Key of the HMAC that seals a kept hook outcome (`STASH_HOOKS_OUTCOME_KEY`); every worker must
   * have the same. Absent: a random key of this process (see workers/outcome-seal.ts).
   */
  outcomeKey?: string;
}

/**
 * What a hook job keeps between attempts: `hookAttempts` counts `maxRetry` runs; `outcome` is set
 * once the hook has run, before its condition is written, so an attempt after a failed or lost
 * write (a 5xx, a crash) records that outcome instead of running the hook a second time — if
 * `outcomeSeal` proves a worker kept it (DESIGN §11: Redis is not trusted for authority).
 */
type HookJobState = HookJobData & { hookAttempts?: number; outcome?: HookOutcome; outcomeSeal?: string };
type HookJob = Job<HookJobState, HookJobResult>;

/** A job whose hook another live worker runs looks again after this long (plus jitter). */
const RUNNING_ELSEWHERE_WAIT_MS = 3000;

/** How long a worker keeps trying to remove its `HookRunning` record after a run ended without an outcome. */
const CLEAR_RECORD_TRIES_MS = 5 * 60_000;

/** How long the outcome's save to Redis may hold up the condition write (Redis down: go on). */
const OUTCOME_SAVE_WAIT_MS = 2000;

const OUTPUT_IN_RESULT = 10 * 1024;

const DEFAULT_MAX_HOOK_TIMEOUT_SECONDS = 3600;

export class HookWorkerPool {
  private readonly opts: HookWorkerPoolOptions;
  private readonly store: SessionStore;
  private readonly exec: ExecutionDeps;
  private readonly producerConnection: RedisClient;
  private readonly workerConnections: RedisClient[] = [];
  private readonly workers: Worker[] = [];
  private readonly queues: QueueCache;
  private readonly abort = new AbortController();
  private readonly seal: OutcomeSeal;
  private readonly infra: InfraAddresses;
  private readonly renderPool: RenderPool;
  private readonly slots: NamespaceSlots;
  private readonly heartbeat: WorkerHeartbeat;
  /** Hooks this process is running (`hookJobId`s): a record naming this process is a live run only if listed. */
  private readonly running = new Set<string>();
  /** Outcomes of hooks this process ran whose condition write failed: a retry here records them even if Redis lost the job. */
  private readonly unrecorded = new Map<string, HookOutcome>();
  private heartbeatReady: Promise<void> | undefined;
  private deletions: SessionDeletions | undefined;
  private deletionsConnection: RedisClient | undefined;
  /** The network guard's infrastructure addresses and devcluster mode, read before the first hook runs. */
  private guardReady: Promise<void> | undefined;
  private rendersReady: Promise<void> | undefined;
  private state: 'idle' | 'running' | 'closed' = 'idle';

  constructor(options: HookWorkerPoolOptions) {
    this.opts = options;
    // One listener per hook in flight (removed when it ends): more than Node's warning level of 10
    // is normal at any concurrency above 10, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.store = new SessionStore(options.kubeConfig);
    this.seal = new OutcomeSeal(options.outcomeKey);
    this.infra = new InfraAddresses({ kubeConfig: options.kubeConfig, redis: options.redis, ownNamespace: options.ownNamespace, logger: options.logger });
    this.renderPool = new RenderPool({ limits: options.renderLimits });
    this.slots = new NamespaceSlots(options.namespaceConcurrency ?? defaultNamespaceCap(options.concurrency));
    this.heartbeat = new WorkerHeartbeat({
      kubeConfig: options.kubeConfig,
      namespace: options.leaseNamespace ?? 'default',
      podName: options.identity ?? 'worker',
      logger: options.logger,
    });
    this.exec = {
      kube: kubeAccessFromConfig(options.kubeConfig),
      render: (handler, summary) => this.renderPool.render(handler, summary),
      network: { ...options.network, allowLoopback: options.allowLoopback === true, infrastructure: () => this.infra.current() },
      protectedNamespaces: options.protectedNamespaces,
      defaultTimeoutSeconds: options.defaultHookTimeoutSeconds,
      ...(options.identity ? { userAgent: `stash-hooks (worker ${options.identity})` } : {}),
      log: (level, msg, fields) => options.logger[level]({ ...fields }, msg),
    };
    this.producerConnection = createRedisClient(options.redis, { purpose: 'worker', connectionName: 'stash-hooks-hook-worker-producer' });
    this.producerConnection.on('error', (err) => options.logger.warn({ err: err.message }, 'redis connection error (hook worker)'));
    this.queues = new QueueCache(this.producerConnection, bullPrefix(options.prefix, options.redis), options.logger);
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    if (this.seal.ephemeral) {
      this.opts.logger.warn(
        'STASH_HOOKS_OUTCOME_KEY is not set: a hook outcome kept on its job is trusted only by this process; another worker runs the hook again',
      );
    }
    this.guardReady = this.prepareGuard();
    this.rendersReady = this.renderPool.warm();
    this.heartbeatReady = this.heartbeat.start();
    this.deletionsConnection = createRedisClient(this.opts.redis, { purpose: 'worker', connectionName: 'stash-hooks-hook-worker-lifecycle-events' });
    this.deletionsConnection.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'redis connection error (hook worker)'));
    this.deletions = new SessionDeletions(this.deletionsConnection, bullPrefix(this.opts.prefix, this.opts.redis), this.opts.logger);
    for (const name of this.opts.queues) {
      const connection = createRedisClient(this.opts.redis, { purpose: 'worker', connectionName: `stash-hooks-${name}` });
      connection.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'redis connection error (hook worker)'));
      this.workerConnections.push(connection);
      const worker = new Worker<HookJobState, HookJobResult>(name, (job, token) => this.admit(name, job, token), {
        connection,
        prefix: bullPrefix(this.opts.prefix, this.opts.redis),
        concurrency: this.opts.concurrency,
        // A rerun after a crash is guarded by the recorded condition and the kept outcome.
        ...CRASH_RECOVERY_OPTIONS,
      });
      worker.on('error', (err) => this.opts.logger.warn({ queue: name, err: err.message }, 'worker error'));
      worker.on('stalled', () => this.opts.metrics?.jobsStalled.inc({ queue: name }));
      worker.on('failed', (job, err) => {
        if (err instanceof DelayedError || err.name === 'DelayedError') return;
        const final = job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1);
        this.opts.logger.warn(
          { queue: name, job: job?.name, attempts: job?.attemptsMade, err: err.message },
          final ? 'hook job failed for good (infrastructure)' : 'hook job attempt failed (infrastructure); retrying with backoff',
        );
      });
      this.workers.push(worker);
    }
  }

  private async prepareGuard(): Promise<void> {
    await this.infra.start();
    if (this.opts.allowLoopback === 'auto' || this.opts.allowLoopback === undefined) {
      const devcluster = await this.infra.isDevcluster();
      this.exec.network = { ...this.exec.network, allowLoopback: devcluster };
      this.opts.logger.info(
        { allowLoopback: devcluster },
        devcluster ? 'devcluster mode: hooks may reach loopback (its pods live there)' : 'hooks may not reach loopback',
      );
    }
  }

  /**
   * Resolves once the network guard knows the infrastructure addresses and the render threads
   * have loaded (seconds under tsx): until then the first hooks would wait. For `/readyz` and tests.
   */
  async ready(): Promise<void> {
    await Promise.all([this.guardReady, this.rendersReady, this.heartbeatReady]);
  }

  /** This process as a `HookRunning` condition names it (`<POD_NAME>/<random id>`). */
  get worker(): string {
    return this.heartbeat.worker;
  }

  /**
   * Runs the job if its namespace is under its cap on this queue; otherwise hands it back as
   * delayed, so it holds no slot and no attempt is counted (DESIGN §11).
   */
  private async admit(queue: HookQueueName, job: HookJob, token?: string): Promise<HookJobResult> {
    const release = this.slots.tryTake(queue, job.data.session.namespace);
    if (!release) {
      await job.moveToDelayed(Date.now() + NAMESPACE_WAIT_MS + Math.floor(Math.random() * NAMESPACE_WAIT_MS), token);
      throw new DelayedError();
    }
    try {
      return await this.process(job, token);
    } finally {
      release();
    }
  }

  /** Processes one hook job; exported through the class for tests of the retry rules. */
  async process(job: HookJob, token?: string): Promise<HookJobResult> {
    const started = Date.now();
    const data = job.data;
    const log = this.opts.logger.child({ job: job.name, jobId: job.id });
    if (data.observedAt && job.attemptsMade === 0) this.opts.metrics?.recordDispatch({ phase: data.hook, scope: data.scope }, data.observedAt);

    const session = await this.store.getSession(data.session);
    if (!session) return result('skipped', 'the session no longer exists', started);
    if (['Succeeded', 'Failed', 'Skipped'].includes(session.status?.phase ?? ''))
      return result('skipped', `the session is already ${session.status!.phase}`, started);
    const invoker = await this.store.getInvoker(session);
    if (!invoker) {
      const inv = (session as BackupSession).spec.invoker;
      return this.finish(
        job,
        session,
        undefined,
        { kind: 'failed', error: `${inv?.kind ?? 'invoker'} ${session.metadata.namespace}/${inv?.name ?? '?'} not found` },
        started,
        log,
      );
    }
    if (recordedHookCondition(session, data.hook, data.scope, data.targetIndex)) {
      // The condition is the truth (a retry, a rebuilt flow): make sure what follows it happened too.
      if (!isPostHook(data.hook) && data.scope === 'local') await this.settleGate(job, session);
      if (isPostHook(data.hook)) await this.afterLocalPost(job, invoker);
      return result('already-recorded', "the hook's condition is already recorded", started);
    }
    if (data.scope === 'global' && !isPostHook(data.hook) && Date.now() >= deadlineOf(session, invoker, this.opts.sessionTimeoutMs).deadlineMs) {
      // Past the deadline the coordinator settles the session with the reason (DESIGN §5).
      return result('skipped', 'the session deadline passed before the global pre hook could run', started);
    }
    const sealed = data.outcome && this.seal.verify(sealedFor(job), data.outcome, data.outcomeSeal);
    if (data.outcome && !sealed) {
      // Written by something that does not hold the key (another process without a shared key,
      // or a hand in Redis): running the hook again is safe, trusting it could open a gate.
      log.warn({ outcome: data.outcome.kind }, 'the hook outcome kept on this job does not carry a valid seal; ignoring it and running the hook');
    }
    // An earlier attempt ran the hook but its condition did not land: record, do not re-run. The
    // outcome is kept on the job, or (Redis lost the job) in this worker's memory if it ran it.
    const kept = data.outcome ? (sealed ? data.outcome : undefined) : this.unrecorded.get(runKeyOf(job));
    if (kept) {
      log.info({ outcome: kept.kind }, 'the hook ran in an earlier attempt; recording its outcome without running it again');
      const r = await this.finish(job, session, invoker, kept, started, log);
      this.unrecorded.delete(runKeyOf(job));
      if (isPostHook(data.hook)) await this.afterLocalPost(job, invoker);
      return r;
    }
    const spec = hookSpec(invoker, data.hook, data.scope, data.targetIndex);
    await (this.guardReady ??= this.prepareGuard());
    let phase: 'Succeeded' | 'Failed' | undefined;

    if (isPostHook(data.hook)) {
      const gate = await this.postPreconditions(job, token, session, invoker);
      if (gate.stop) {
        await this.afterLocalPost(job, invoker);
        return result('skipped', gate.why, started);
      }
      const current = gate.session;
      if (!spec) {
        await this.afterLocalPost(job, invoker);
        return result('skipped', `no ${data.hook} hook`, started);
      }
      phase =
        data.scope === 'global'
          ? finalPhase(current, targetRefs(invoker, current.metadata.namespace!).length)
          : buildSummary({ session: current, invoker: invokerForSummary(invoker), targetIndex: data.targetIndex, now: Date.now() }).status.phase;
      // A bad spec (a misspelt executionPolicy above all) fails the hook with the validator's
      // messages; it must not read as "skipped by policy".
      const problems = validateHandler(spec, data.hook, { hook: data.hook, scope: data.scope });
      if (problems.length > 0) {
        const r = await this.finish(job, current, invoker, { kind: 'failed', error: problems.join('; ') }, started, log);
        await this.afterLocalPost(job, invoker);
        return r;
      }
      const retryLeft = (current as BackupSession).spec?.retryLeft ?? 0;
      const decision = evaluatePolicy((spec as PostHook).executionPolicy, phase, retryLeft);
      if (!decision.run) {
        const r = await this.finish(job, current, invoker, { kind: 'skipped', policy: decision.policy, phase: decision.phase }, started, log);
        await this.afterLocalPost(job, invoker);
        return r;
      }
      return this.runAndRecord(job, token, current, invoker, spec, phase, started, log);
    }
    if (!spec) {
      await this.settleGate(job, session);
      return result('skipped', `no ${data.hook} hook`, started);
    }
    return this.runAndRecord(job, token, session, invoker, spec, undefined, started, log);
  }

  /**
   * Before a post hook runs its target must be complete. Not yet complete: before the deadline
   * the job goes back to sleep until it; after it, the deadline is recorded and the target fails.
   */
  private async postPreconditions(
    job: HookJob,
    token: string | undefined,
    session: Session,
    invoker: Invoker,
  ): Promise<{ stop: true; why: string } | { stop: false; session: Session }> {
    const data = job.data;
    if (globalPreFailed(session)) return { stop: true, why: 'the global pre hook failed: nothing else runs' };
    if (globalPreNotSucceeded(session, invoker)) {
      // No member was initiated (DESIGN §5). Woken before the deadline: sleep until it, when the
      // coordinator settles the session.
      const { deadlineMs } = deadlineOf(session, invoker, this.opts.sessionTimeoutMs);
      if (data.scope === 'local' && Date.now() < deadlineMs) {
        await job.moveToDelayed(deadlineMs, token);
        throw new DelayedError();
      }
      return { stop: true, why: 'the global pre hook did not succeed: no member ran' };
    }
    if (data.scope === 'global') {
      // Every member's local post condition exists before the global post runs (DESIGN §5): a
      // local post whose job failed for good is recorded False now, so this hook sees Failed.
      const n = targetRefs(invoker, session.metadata.namespace!).length;
      const current = await this.store.updateStatus(data.session, (s) => recordUnrunPostHooks(s, invoker, data.hook, n, new Date(), { global: false }));
      return current ? { stop: false, session: current } : { stop: true, why: 'the session no longer exists' };
    }
    const i = data.targetIndex ?? 0;
    if (preHookFailed(session, i)) return { stop: true, why: 'the pre hook failed: the post hook does not run' };
    if (isTargetComplete(session, i)) return { stop: false, session };
    const { deadlineMs, timeOut } = deadlineOf(session, invoker, this.opts.sessionTimeoutMs);
    if (Date.now() < deadlineMs) {
      await job.moveToDelayed(deadlineMs, token);
      throw new DelayedError();
    }
    const updated = await this.store.updateStatus(data.session, (s) => markDeadlineExceeded(s, i, timeOut));
    if (!updated) return { stop: true, why: 'the session no longer exists' };
    return { stop: false, session: updated };
  }

  private async runAndRecord(
    job: HookJob,
    token: string | undefined,
    session: Session,
    invoker: Invoker,
    spec: Handler,
    phase: 'Succeeded' | 'Failed' | undefined,
    started: number,
    log: Logger,
  ): Promise<HookJobResult> {
    const data = job.data;
    const ns = session.metadata.namespace!;
    const summary = buildSummary({
      session,
      invoker: invokerForSummary(invoker),
      targetIndex: data.scope === 'global' ? undefined : data.targetIndex,
      now: Date.now(),
    });
    if (phase === 'Failed' && summary.status.phase === 'Succeeded')
      summary.status = { ...summary.status, phase: 'Failed', error: summary.status.error || 'the session failed' };
    const target = data.scope === 'local' ? targetRefs(invoker, ns)[data.targetIndex ?? 0] : undefined;
    const claim = await this.claimRun(job, token, session, spec, log);
    if (claim.stop) {
      if (isPostHook(data.hook)) await this.afterLocalPost(job, invoker);
      return result(claim.stop, claim.why, started);
    }
    const runKey = runKeyOf(job);
    let outcome: HookOutcome;
    let run: HookResult | undefined;
    try {
      const action = await this.runAction(job, token, session, invoker, spec, summary, target, log);
      if (!('outcome' in action)) {
        this.running.delete(runKey);
        return result('skipped', action.skipped, started);
      }
      ({ outcome, run } = action);
    } catch (err) {
      // No outcome (an infrastructure fault, a shutdown, a maxRetry wait): nobody should wait for this run.
      this.running.delete(runKey);
      this.clearRunRecord(job, log);
      throw err;
    }
    // The action is over: the record stays until the outcome replaces it.
    try {
      this.unrecorded.set(runKey, outcome);
      await this.saveOutcome(job, outcome, log);
      // A failed write throws: BullMQ retries the job, which records the kept outcome. A job that
      // fails for good leaves the record to the pipeline's rules (an unrun post is recorded False).
      const r = await this.finish(job, session, invoker, outcome, started, log, run, claim.rerunOf);
      this.unrecorded.delete(runKey);
      if (isPostHook(data.hook)) await this.afterLocalPost(job, invoker);
      return r;
    } finally {
      this.running.delete(runKey);
    }
  }

  /** Runs `step` until it succeeds, with backoff from 1 s to 30 s, for CLEAR_RECORD_TRIES_MS or until the pool closes. */
  private retryInBackground(log: Logger, failure: string, step: () => Promise<void>): void {
    const until = Date.now() + CLEAR_RECORD_TRIES_MS;
    const attempt = async (delayMs: number): Promise<void> => {
      try {
        await step();
      } catch (err) {
        if (this.state === 'closed' || Date.now() > until) {
          log.warn({ err: errorMessage(err) }, `${failure}; other jobs of this hook wait until this worker stops`);
          return;
        }
        setTimeout(() => void attempt(Math.min(delayMs * 2, 30_000)), delayMs).unref();
      }
    };
    void attempt(1000);
  }

  /**
   * Records in the session, before the hook's action starts, that this worker runs it (a
   * `HookRunning` condition, docs/reliability.md). A run already recorded by a worker whose
   * heartbeat Lease is live is waited for, not repeated: after Redis lost a job, or while BullMQ
   * hands a job whose lock lapsed to a second worker, the first one is still running the hook. A
   * record by a worker that is gone is taken over, and the outcome's message says the hook ran again.
   */
  private async claimRun(
    job: HookJob,
    token: string | undefined,
    session: Session,
    spec: Handler,
    log: Logger,
  ): Promise<{ stop: false; rerunOf?: string } | { stop: HookJobResult['outcome']; why: string }> {
    const data = job.data;
    const runKey = runKeyOf(job);
    const seen = hookRunRecord(session, data.hook, data.scope, data.targetIndex);
    let rerunOf: string | undefined;
    if (seen) {
      const mine = seen.worker === this.worker;
      const alive = mine ? this.running.has(runKey) : await this.heartbeat.isAlive(seen.worker);
      if (alive) {
        log.info(
          { runningOn: seen.worker, startedAt: seen.startedAt },
          'another worker is running this hook (its heartbeat Lease is live): waiting for its outcome instead of running the hook again',
        );
        this.opts.metrics?.hookRunsWaitedFor.inc({ phase: data.hook });
        return this.waitForRun(job, token);
      }
      if (!mine) rerunOf = seen.worker;
    }
    if (!this.heartbeat.healthy) {
      // Other workers would take this worker's runs for stopped ones and run them again.
      throw new Error(`this worker's heartbeat Lease is not renewed (${this.heartbeat.problem}): it starts no hook until it is`);
    }
    const asked = spec.timeoutSeconds ?? this.opts.defaultHookTimeoutSeconds;
    const run: HookRunRecord = {
      worker: this.worker,
      attempt: (data.hookAttempts ?? 0) + 1,
      startedAt: new Date().toISOString(),
      timeoutSeconds: typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.floor(asked) : this.opts.defaultHookTimeoutSeconds,
    };
    let verdict = 'final' as ReturnType<typeof recordHookStart> | 'final';
    this.running.add(runKey);
    let written: Session | undefined;
    try {
      written = await this.store.updateStatus(
        data.session,
        (s) => (verdict = recordHookStart(s, data.hook, data.scope, data.targetIndex, run, seen)) === 'started',
        // The session was read at the start of this job: write over it rather than read it again.
        { base: session },
      );
    } catch (err) {
      this.running.delete(runKey);
      throw err;
    }
    if (verdict !== 'started') this.running.delete(runKey);
    if (!written) return { stop: 'skipped', why: 'the session no longer exists' };
    if (verdict === 'final') return { stop: 'skipped', why: `the session is already ${written.status?.phase ?? 'final'}` };
    if (verdict === 'recorded') return { stop: 'already-recorded', why: "the hook's condition is already recorded" };
    if (verdict === 'taken') return this.waitForRun(job, token);
    if (rerunOf) log.warn({ stoppedWorker: rerunOf }, 'the worker that was running this hook is gone (its heartbeat Lease expired): running the hook again');
    return { stop: false, rerunOf };
  }

  /** Looks again in a few seconds, without holding a slot or spending an attempt. */
  private async waitForRun(job: HookJob, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + RUNNING_ELSEWHERE_WAIT_MS + Math.floor(Math.random() * 1000), token);
    throw new DelayedError();
  }

  /**
   * Removes this worker's HookRunning record after a run that ended without an outcome, retrying
   * in the background (the API may be what failed) until it is gone or the pool closes — then the
   * heartbeat Lease is deleted and the record names a stopped worker anyway.
   */
  private clearRunRecord(job: HookJob, log: Logger): void {
    const data = job.data;
    this.retryInBackground(log, "could not remove this worker's HookRunning record", async () => {
      await this.store.updateStatus(data.session, (s) => clearHookStart(s, data.hook, data.scope, data.targetIndex, this.worker));
    });
  }

  /** Runs the hook's action: its outcome, or why it was stopped without one; throws to hand the job back. */
  private async runAction(
    job: HookJob,
    token: string | undefined,
    session: Session,
    invoker: Invoker,
    spec: Handler,
    summary: ReturnType<typeof buildSummary>,
    target: ReturnType<typeof targetRefs>[number] | undefined,
    log: Logger,
  ): Promise<{ skipped?: undefined; outcome: HookOutcome; run?: HookResult } | { skipped: string }> {
    const data = job.data;
    const ns = session.metadata.namespace!;
    let outcome: HookOutcome;
    let run: HookResult | undefined;
    // A signal per hook, linked to the pool's: got adds an abort listener to the signal it is
    // given and never removes it, so sharing the pool's signal leaked one listener (and the
    // request it closes over) per hook for the life of the worker.
    const hookAbort = new AbortController();
    const onPoolAbort = () => hookAbort.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) onPoolAbort();
    else this.abort.signal.addEventListener('abort', onPoolAbort, { once: true });
    const unwatch = this.deletions?.watch(data.session, hookAbort);
    const { runSpec, deps, stopDeadline } = this.boundTimeout(data.hook, spec, session, invoker, hookAbort, log);
    try {
      run = await runHandler(runSpec, { hookName: data.hook, scope: data.scope, namespace: ns, target, summary, signal: hookAbort.signal }, deps);
      outcome = { kind: 'succeeded' };
    } catch (err) {
      if (this.abort.signal.aborted) throw err; // shutting down: hand the job back, it is not the hook's failure
      const stopped = hookAbort.signal.reason instanceof HookStoppedReason ? hookAbort.signal.reason : undefined;
      if (stopped?.why === 'session-deleted') {
        log.info({}, 'the session was deleted while its hook ran; the hook was stopped');
        return { skipped: 'the session was deleted while the hook ran; the hook was stopped' };
      }
      if (stopped) {
        outcome = { kind: 'failed', error: stopped.message };
      } else if (isHookOwnFailure(err)) {
        const attempts = data.hookAttempts ?? 0;
        if (attempts < (spec.maxRetry ?? 0)) {
          log.info({ attempt: attempts + 1, maxRetry: spec.maxRetry, err: errorMessage(err) }, 'hook failed; retrying (maxRetry)');
          await job.updateData({ ...data, hookAttempts: attempts + 1 });
          await job.moveToDelayed(Date.now() + (spec.retryDelaySeconds ?? 0) * 1000, token);
          throw new DelayedError();
        }
        outcome = { kind: 'failed', error: errorMessage(err) };
      } else if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1) && !(data.scope === 'global' && !isPostHook(data.hook))) {
        // (A global pre is exempt: its job fails for good and the coordinator runs it again until
        // the deadline, DESIGN §5.)
        outcome = { kind: 'failed', error: `could not run after ${job.attemptsMade + 1} attempts: ${errorMessage(err)}` };
      } else {
        throw err;
      }
    } finally {
      this.abort.signal.removeEventListener('abort', onPoolAbort);
      unwatch?.();
      stopDeadline();
    }
    return { outcome, run };
  }

  /**
   * The hook's timeout clamped to `--max-hook-timeout-seconds` and, for a pre hook, to its
   * session's deadline (DESIGN §11). Actions still running at the deadline are stopped with a
   * message saying so; the timer starts once the templates are rendered, so a wait for a render
   * thread (infrastructure, not the hook) cannot by itself fail a hook at the deadline.
   * An invalid `timeoutSeconds` is left for the validator to report.
   */
  private boundTimeout(
    hook: HookJobData['hook'],
    spec: Handler,
    session: Session,
    invoker: Invoker,
    hookAbort: AbortController,
    log: Logger,
  ): { runSpec: Handler; deps: ExecutionDeps; stopDeadline: () => void } {
    const unbounded = { runSpec: spec, deps: this.exec, stopDeadline: () => {} };
    const asked = spec.timeoutSeconds ?? this.opts.defaultHookTimeoutSeconds;
    if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1) return unbounded;
    const { deadlineMs, timeOut } = deadlineOf(session, invoker, this.opts.sessionTimeoutMs);
    const bound = hookTimeoutSeconds(asked, this.opts.maxHookTimeoutSeconds ?? DEFAULT_MAX_HOOK_TIMEOUT_SECONDS, {
      pre: !isPostHook(hook),
      deadlineMs,
      now: Date.now(),
    });
    if (bound.timeoutSeconds === asked) return unbounded;
    log.info({ askedSeconds: asked, timeoutSeconds: bound.timeoutSeconds, clampedBy: bound.clampedBy }, 'hook timeout clamped');
    const runSpec = { ...spec, timeoutSeconds: bound.timeoutSeconds };
    const at = bound.deadlineMs;
    if (at === undefined) return { ...unbounded, runSpec };
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (Date.now() >= at) return; // the actions start after the deadline: not cut, like a hook started after it
      timer = setTimeout(
        () => hookAbort.abort(new HookStoppedReason('session-deadline', `the hook was stopped at the session's deadline (timeOut ${timeOut})`)),
        at - Date.now(),
      );
    };
    const render = this.exec.render;
    const deps: ExecutionDeps = {
      ...this.exec,
      render: async (h, summary) => {
        const rendered = render ? await render(h, summary) : renderHandler(h, summary);
        arm();
        return rendered;
      },
    };
    return { runSpec, deps, stopDeadline: () => clearTimeout(timer) };
  }

  /**
   * Keeps the outcome on the job before the condition is written (see `HookJobState`). Best
   * effort: a Redis that is down or lost the job must not hold up the write, which is the truth.
   */
  private async saveOutcome(job: HookJob, outcome: HookOutcome, log: Logger): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const save = job.updateData({ ...job.data, outcome, outcomeSeal: this.seal.seal(sealedFor(job), outcome) }).then(
      () => true,
      (err: unknown) => (log.warn({ err: errorMessage(err) }, "could not keep the hook's outcome on its job; writing the condition anyway"), true),
    );
    const waited = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), OUTCOME_SAVE_WAIT_MS)));
    if (!(await Promise.race([save, waited])))
      log.warn({ waitedMs: OUTCOME_SAVE_WAIT_MS }, "Redis is slow to keep the hook's outcome on its job; writing the condition anyway");
    clearTimeout(timer);
  }

  /** Writes the hook's condition (and for a pre hook, the gate), an Event and metrics. */
  private async finish(
    job: HookJob,
    session: Session,
    invoker: Invoker | undefined,
    outcome: HookOutcome,
    started: number,
    log: Logger,
    run?: HookResult,
    rerunOf?: string,
  ): Promise<HookJobResult> {
    const data = job.data;
    const condition = hookCondition(data.hook, data.scope, outcome);
    if (rerunOf) condition.message = boundMessage(`${condition.message ?? ''} (re-run: worker ${rerunOf} stopped while the hook was running)`);
    const i = data.targetIndex ?? 0;
    const pre = !isPostHook(data.hook);
    const written = await this.store.updateStatus(data.session, (s) => {
      // A global pre hook's success that lands after the deadline (a write retried through an API
      // outage) must not be recorded: the session is failing for the deadline, and the coordinator
      // records the condition False with the reason (DESIGN §5).
      if (
        pre &&
        data.scope === 'global' &&
        outcome.kind === 'succeeded' &&
        invoker &&
        Date.now() >= deadlineOf(s, invoker, this.opts.sessionTimeoutMs).deadlineMs
      ) {
        return false;
      }
      let changed = recordHookCondition(s, data.hook, data.scope, data.targetIndex, condition);
      if (pre && data.scope === 'local') {
        changed = (outcome.kind === 'failed' ? closeGate(s, i, `${data.hook} hook failed.`) : openGate(s, i, true)) || changed;
      } else if (!pre && data.scope === 'local' && outcome.kind === 'failed' && changed) {
        changed = failTargetAfterPostHook(s, i) || changed;
      }
      return changed;
    });
    if (pre && outcome.kind === 'failed' && data.scope === 'local' && invoker) {
      // Its post hook will not run: let the post job settle now rather than at the deadline.
      await promoteJob(this.queues.get(postQueueOf(data.hook)), postJobIdOf(job, i), log);
    }
    const eventReason = outcome.kind === 'succeeded' ? 'HookSucceeded' : outcome.kind === 'failed' ? 'HookFailed' : 'HookSkipped';
    if (written) {
      const eventErr = await this.store.emitEvent(data.session, outcome.kind === 'failed' ? 'Warning' : 'Normal', eventReason, condition.message ?? '');
      if (eventErr) log.warn({ err: eventErr.message }, 'could not record the Event');
    }
    const action: MetricAction = run?.actions.at(-1) ?? 'none';
    const durationMs = Date.now() - started;
    this.opts.metrics?.recordHook({ phase: data.hook, scope: data.scope, action, result: outcome.kind }, durationMs / 1000);
    log.info({ outcome: outcome.kind, message: condition.message }, 'hook finished');
    return {
      outcome: outcome.kind,
      message: condition.message ?? '',
      hosts: (run?.hosts ?? []).map((h) => ({
        where: h.where,
        statusCode: h.statusCode,
        exitCode: h.exitCode,
        durationMs: h.durationMs,
        output: h.output.slice(0, OUTPUT_IN_RESULT),
      })),
      durationMs,
    };
  }

  /** A pre hook's condition is recorded but its gate may not be (a crash between): set it. */
  private async settleGate(job: HookJob, session: Session): Promise<void> {
    const i = job.data.targetIndex ?? 0;
    const recorded = recordedHookCondition(session, job.data.hook, 'local', i);
    await this.store.updateStatus(job.data.session, (s) =>
      recorded?.status === 'False' ? closeGate(s, i, `${job.data.hook} hook failed.`) : openGate(s, i, recorded !== undefined),
    );
  }

  /** In a Sequential batch, member i+1 is released only after member i's local post (DESIGN §5). */
  private async afterLocalPost(job: HookJob, invoker: Invoker): Promise<void> {
    const data = job.data;
    if (data.scope !== 'local' || invoker.kind !== 'BackupBatch' || (invoker as BackupBatch).spec.executionOrder !== 'Sequential') return;
    const next = (data.targetIndex ?? 0) + 1;
    if (next >= ((invoker as BackupBatch).spec.members?.length ?? 0)) return;
    const payload: CoordinatorJobData = { session: data.session, targetIndex: next };
    await this.queues
      .get(QueueName.coordinator)
      .add(CoordinatorJob.releaseTarget, payload, { ...COORDINATOR_JOB_OPTIONS, jobId: releaseTargetJobId(data.session, next) });
  }

  /**
   * Drains: stops taking jobs, lets running hooks finish for `graceMs`, then aborts them so their
   * jobs go back to the queue (a hook cut short is retried, never recorded as failed).
   */
  async close(graceMs = 30_000): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const timer = setTimeout(() => this.abort.abort(new Error('worker shutting down')), graceMs);
    const steps: Array<() => Promise<unknown>> = [
      () => Promise.all(this.workers.map((w) => w.close())),
      async () => clearTimeout(timer),
      // After the hooks finished or were handed back: a run left unfinished is free to run again.
      () => this.heartbeat.close(),
      async () => this.infra.close(),
      async () => this.deletions?.close(),
      async () => this.deletionsConnection?.quit(),
      () => this.renderPool.close(),
      () => this.queues.close(),
      () => Promise.all(this.workerConnections.map((c) => c.quit())),
      () => this.producerConnection.quit(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.opts.logger.warn({ err: errorMessage(err) }, 'hook worker close step failed');
      }
    }
  }
}

/** The hook a job runs, the same for every job of it (a job rebuilt after Redis loss included). */
function runKeyOf(job: HookJob): string {
  return hookJobId(job.data);
}

function sealedFor(job: HookJob) {
  return { data: job.data };
}

function result(outcome: HookJobResult['outcome'], message: string, started: number): HookJobResult {
  return { outcome, message, hosts: [], durationMs: Date.now() - started };
}

function invokerForSummary(invoker: Invoker): BackupConfiguration | BackupBatch | undefined {
  return invoker.kind === 'RestoreSession' ? undefined : (invoker as BackupConfiguration | BackupBatch);
}

function postQueueOf(pre: HookJobData['hook']): HookQueueName {
  return pre === 'preRestore' ? QueueName.postRestore : QueueName.postBackup;
}

function postJobIdOf(job: HookJob, i: number): string {
  const post = job.data.hook === 'preRestore' ? 'postRestore' : 'postBackup';
  return hookJobId({ session: job.data.session, hook: post, scope: 'local', targetIndex: i });
}
