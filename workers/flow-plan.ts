/**
 * The session's flow (DESIGN §6), as pure data for BullMQ's FlowProducer:
 *
 *   finalize(session)                         coordinator queue
 *    └─ global post (batch with one)          post-backup
 *        └─ local post of target i            post-* queue, delayed until the session deadline
 *   release(session)                          coordinator queue: initiate targets, enqueue local pre / open gates
 *    └─ global pre (batch with one)           pre-backup
 *
 * Every id is deterministic, so building the flow twice (relist, Redis loss) adds nothing twice.
 * Children never strand their parent: a child that fails for good is ignored by it
 * (`ignoreDependencyOnFailure`); a hook's own failure is recorded and the job completes.
 */
import type { FlowJob, JobsOptions } from 'bullmq';
import { hookJobId, hookJobName, HOOK_QUEUE_OF, QueueName, safeIdPart, type HookJobData, type SessionRef } from '../shared/queues.js';
import type { TargetRef } from '../shared/resources.js';
import type { HookName } from '../shared/conditions.js';

/** Data of a coordinator-queue job. */
export interface CoordinatorJobData {
  session: SessionRef;
  targetIndex?: number;
  observedAt?: number;
  /** `release` only: how many times the global pre hook was enqueued again (see `globalPreJob`). */
  globalPreRuns?: number;
  /** `release` only: how many times it looked for the global pre condition and went back to sleep. */
  globalPreChecks?: number;
}

export const CoordinatorJob = { release: 'release', releaseTarget: 'release-target', finalize: 'finalize' } as const;

/** Infrastructure faults (API server, Redis) are retried with backoff; a hook's own failure is not. */
export const HOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Backoff type of coordinator jobs: exponential from 1 s, capped at a minute (see `cappedBackoff`). */
export const CAPPED_BACKOFF = 'capped-exponential';

/** Delay before retry `attemptsMade` of a coordinator job: 1 s, 2 s, 4 s … at most 60 s. */
export function cappedBackoff(attemptsMade: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * Coordinator jobs (release, release-target, finalize) own a session's progress: if one failed
 * for good the session would stay Running, so they retry for about 16 hours, at most a minute
 * apart, through any API-server or Redis outage.
 */
export const COORDINATOR_JOB_OPTIONS: JobsOptions = {
  ...HOOK_JOB_OPTIONS,
  attempts: 1000,
  backoff: { type: CAPPED_BACKOFF },
};

/**
 * Worker settings for jobs whose process dies (SIGKILL, OOM, node loss). The job is "stalled":
 * BullMQ's default (`maxStalledCount` 1) fails it for good on the second crash, and its
 * deterministic id then blocks re-publication, so the session sat Running until its deadline;
 * 20 crashes are survived. A dead process's job is noticed within `lockDuration` +
 * `stalledInterval` (BullMQ's defaults 30 s + 30 s; here 15 s + 5 s). A live worker renews its
 * locks every 7.5 s, however long its hook runs.
 */
export const CRASH_RECOVERY_OPTIONS = { maxStalledCount: 20, lockDuration: 15_000, stalledInterval: 5_000 } as const;

export const finalizeJobId = (s: SessionRef) => `fin.${safeIdPart(s.uid)}`;
export const releaseJobId = (s: SessionRef) => `rel.${safeIdPart(s.uid)}`;
export const releaseTargetJobId = (s: SessionRef, i: number) => `rel.${safeIdPart(s.uid)}.t${i}`;

export interface SessionPlan {
  session: SessionRef;
  targets: TargetRef[];
  pre: HookName;
  post: HookName;
  hasGlobalPre: boolean;
  hasGlobalPost: boolean;
  /** Epoch ms. */
  deadlineMs: number;
  /** The invoker's `spec.timeOut` as written (or the default's), for messages. */
  timeOut?: string;
  /** Targets already complete when the flow is built: their post jobs are not delayed. */
  completed: ReadonlySet<number>;
  observedAt?: number;
}

function hookNode(plan: SessionPlan, hook: HookName, scope: 'global' | 'local', targetIndex: number | undefined, opts: JobsOptions): FlowJob {
  const target = targetIndex === undefined ? undefined : plan.targets[targetIndex];
  const data: HookJobData = {
    session: plan.session,
    hook,
    scope,
    ...(targetIndex === undefined ? {} : { targetIndex }),
    ...(target ? { target: { kind: target.kind, name: target.name } } : {}),
    ...(plan.observedAt ? { observedAt: plan.observedAt } : {}),
  };
  return {
    name: hookJobName(data),
    queueName: HOOK_QUEUE_OF[hook],
    data,
    opts: { ...HOOK_JOB_OPTIONS, ...opts, jobId: hookJobId(data), ignoreDependencyOnFailure: true },
  };
}

/** The post side: finalize ← (global post ←) every local post, delayed until the deadline. */
export function postFlow(plan: SessionPlan, nowMs: number): FlowJob {
  const delay = Math.max(0, plan.deadlineMs - nowMs);
  const posts = plan.targets.map((_t, i) => hookNode(plan, plan.post, 'local', i, { delay: plan.completed.has(i) ? 0 : delay }));
  const children = plan.hasGlobalPost ? [{ ...hookNode(plan, plan.post, 'global', undefined, {}), children: posts }] : posts;
  const data: CoordinatorJobData = { session: plan.session };
  return {
    name: CoordinatorJob.finalize,
    queueName: QueueName.coordinator,
    data,
    opts: { ...COORDINATOR_JOB_OPTIONS, jobId: finalizeJobId(plan.session) },
    children,
  };
}

/** The pre side: release (← global pre). */
export function preFlow(plan: SessionPlan): FlowJob {
  const data: CoordinatorJobData = { session: plan.session, ...(plan.observedAt ? { observedAt: plan.observedAt } : {}) };
  return {
    name: CoordinatorJob.release,
    queueName: QueueName.coordinator,
    data,
    opts: { ...COORDINATOR_JOB_OPTIONS, jobId: releaseJobId(plan.session) },
    ...(plan.hasGlobalPre ? { children: [hookNode(plan, plan.pre, 'global', undefined, {})] } : {}),
  };
}

/** The local pre hook job of target i, enqueued when the target is released. */
export function localPreJob(
  plan: Pick<SessionPlan, 'session' | 'targets' | 'observedAt'>,
  hook: HookName,
  targetIndex: number,
): { name: string; data: HookJobData; opts: JobsOptions } {
  const node = hookNode(
    { ...plan, pre: hook, post: hook, hasGlobalPre: false, hasGlobalPost: false, deadlineMs: 0, completed: new Set() },
    hook,
    'local',
    targetIndex,
    {},
  );
  return { name: node.name, data: node.data as HookJobData, opts: node.opts! };
}

/** Ids of every local post job of a session, for promotion. */
export function localPostJobIds(session: SessionRef, post: HookName, targetCount: number): string[] {
  return Array.from({ length: targetCount }, (_v, i) => hookJobId({ session, hook: post, scope: 'local', targetIndex: i }));
}

/**
 * Id of run `run` of the session's global pre hook: run 0 is the child of `release` in the pre
 * flow; later runs are standalone jobs the `release` job enqueues when an earlier run ended
 * without a condition (DESIGN §5: retried until the deadline).
 */
export function globalPreJobId(session: SessionRef, hook: HookName, run: number): string {
  const id = hookJobId({ session, hook, scope: 'global' });
  return run === 0 ? id : `${id}.r${run}`;
}

/** Run `run` (≥ 1) of the global pre hook, a standalone job (see `globalPreJobId`). */
export function globalPreJob(plan: SessionPlan, run: number): { name: string; data: HookJobData; opts: JobsOptions } {
  const node = hookNode(plan, plan.pre, 'global', undefined, {});
  const { ignoreDependencyOnFailure: _ignored, ...opts } = node.opts!;
  return { name: node.name, data: node.data as HookJobData, opts: { ...opts, jobId: globalPreJobId(plan.session, plan.pre, run) } };
}
