/**
 * Queue names, job names and job payloads: the contract between producers/ and workers/
 * (DESIGN §6). Payloads carry references only — never rendered bodies, headers or secrets.
 */
import type { HookName, HookScope } from './conditions.js';
import type { SessionKind } from './resources.js';

export const QueueName = {
  lifecycle: 'lifecycle',
  coordinator: 'coordinator',
  preBackup: 'pre-backup',
  postBackup: 'post-backup',
  preRestore: 'pre-restore',
  postRestore: 'post-restore',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

/** The phase-specific hook queues, each consumable by its own worker pool. */
export const HOOK_QUEUES = [QueueName.preBackup, QueueName.postBackup, QueueName.preRestore, QueueName.postRestore] as const;
export type HookQueueName = (typeof HOOK_QUEUES)[number];

export const HOOK_QUEUE_OF: Record<HookName, HookQueueName> = {
  preBackup: QueueName.preBackup,
  postBackup: QueueName.postBackup,
  preRestore: QueueName.preRestore,
  postRestore: QueueName.postRestore,
};

export function isHookQueueName(name: string): name is HookQueueName {
  return (HOOK_QUEUES as readonly string[]).includes(name);
}

/** A session, by reference. `uid` keeps a re-created session with the same name apart. */
export interface SessionRef {
  kind: SessionKind;
  namespace: string;
  name: string;
  uid: string;
}

export const LifecycleEventType = {
  SessionObserved: 'SessionObserved',
  TargetCompleted: 'TargetCompleted',
  SessionDeleted: 'SessionDeleted',
} as const;
export type LifecycleEventType = (typeof LifecycleEventType)[keyof typeof LifecycleEventType];

export type LifecycleEvent =
  | { type: 'SessionObserved'; session: SessionRef; observedAt: number }
  | { type: 'TargetCompleted'; session: SessionRef; targetIndex: number; observedAt: number }
  | { type: 'SessionDeleted'; session: SessionRef; observedAt: number };

/** Data of a job on a hook queue. */
export interface HookJobData {
  session: SessionRef;
  hook: HookName;
  scope: HookScope;
  /** Index into the session's targets; absent for global hooks. */
  targetIndex?: number;
  /** For people reading the dashboard; not trusted for execution (the worker reads fresh). */
  target?: { kind: string; name: string };
  /** When the watcher saw the session, for the dispatch-latency metric. */
  observedAt?: number;
}

/** What a hook job returns, for the dashboard: short and redacted. */
export interface HookJobResult {
  outcome: 'succeeded' | 'failed' | 'skipped' | 'already-recorded';
  message: string;
  hosts: Array<{ where: string; statusCode?: number; exitCode?: number; durationMs: number; output?: string }>;
  durationMs: number;
}

/**
 * Job ids are deterministic so that a relist, a retry or a second replica adds nothing twice.
 * BullMQ forbids `:` in custom ids; Kubernetes names cannot contain `.`-free `:` either, but uids
 * and names are still passed through `safeIdPart` to keep that promise for any input.
 */
export function safeIdPart(part: string | number): string {
  return String(part).replace(/[^A-Za-z0-9._-]/g, '_');
}

export function hookJobId(data: Pick<HookJobData, 'session' | 'hook' | 'scope' | 'targetIndex'>): string {
  const target = data.scope === 'global' ? 'global' : `t${data.targetIndex ?? 0}`;
  return ['hook', data.hook, target, safeIdPart(data.session.uid)].join('.');
}

export function lifecycleJobId(event: LifecycleEvent): string {
  const base = ['lc', event.type, safeIdPart(event.session.uid)];
  if (event.type === 'TargetCompleted') base.push(`t${event.targetIndex}`);
  return base.join('.');
}

/** A job name a person can read on the dashboard: `preBackup demo/app-backup-1700000000 Deployment/app`. */
export function hookJobName(data: Pick<HookJobData, 'session' | 'hook' | 'scope' | 'target'>): string {
  const where = data.scope === 'global' ? 'global' : data.target ? `${data.target.kind}/${data.target.name}` : 'target';
  return `${data.hook} ${data.session.namespace}/${data.session.name} ${where}`;
}
