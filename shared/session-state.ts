/**
 * Pure reads of a session's state that the watcher, the coordinator and the hook workers share
 * (DESIGN §4, §5): which targets a session has, which hooks apply to each, when a target is
 * complete, what an `executionPolicy` decides and what the final phase is. No I/O here.
 */
import { ConditionType, findCondition, hookConditionType, parseHookRunning, type HookName, type HookRunRecord, type HookScope } from './conditions.js';
import { parseDuration } from './duration.js';
import type {
  BackupBatch,
  BackupConfiguration,
  BackupHooks,
  BackupSession,
  Condition,
  Handler,
  PostHook,
  RestoreSession,
  Session,
  SessionKind,
  TargetRef,
} from './resources.js';

export type Invoker = BackupConfiguration | BackupBatch | RestoreSession;

const TERMINAL_PHASES = new Set(['Succeeded', 'Failed', 'Skipped']);

/** Sessions already `Succeeded`/`Failed`/`Skipped` are never touched (DESIGN §4). */
export function isTerminal(session: Session): boolean {
  return TERMINAL_PHASES.has(session.status?.phase ?? '');
}

export function kindOf(session: Session): SessionKind {
  if (session.kind === 'BackupSession' || session.kind === 'RestoreSession') return session.kind;
  return 'spec' in session && session.spec && 'invoker' in session.spec ? 'BackupSession' : 'RestoreSession';
}

export function isBatch(invoker: Invoker): invoker is BackupBatch {
  return invoker.kind === 'BackupBatch';
}

/** The targets of a session, in order: a BackupBatch's members, else the single target. */
export function targetRefs(invoker: Invoker, namespace: string): TargetRef[] {
  const withNs = (ref: TargetRef | undefined): TargetRef[] => (ref ? [{ ...ref, namespace: ref.namespace ?? namespace }] : []);
  if (invoker.kind === 'BackupBatch') return ((invoker as BackupBatch).spec.members ?? []).flatMap((m) => withNs(m.target?.ref));
  return withNs((invoker as BackupConfiguration | RestoreSession).spec.target?.ref);
}

/** The hook spec of `hook` for target `targetIndex`, or the global one (BackupBatch `spec.hooks`). */
export function hookSpec(invoker: Invoker, hook: HookName, scope: HookScope, targetIndex?: number): Handler | PostHook | undefined {
  if (invoker.kind === 'RestoreSession') {
    return scope === 'local' ? (invoker.spec.hooks as Record<string, Handler> | undefined)?.[hook] : undefined;
  }
  let hooks: BackupHooks | undefined;
  if (invoker.kind === 'BackupBatch') {
    const batch = invoker as BackupBatch;
    hooks = scope === 'global' ? batch.spec.hooks : batch.spec.members?.[targetIndex ?? 0]?.hooks;
  } else hooks = scope === 'local' ? (invoker as BackupConfiguration).spec.hooks : undefined;
  return (hooks as Record<string, Handler> | undefined)?.[hook];
}

/** The conditions list a hook records into: target conditions for local backup hooks, else the session's. */
export function conditionsOf(session: Session, scope: HookScope, targetIndex?: number): Condition[] | undefined {
  if (kindOf(session) === 'BackupSession' && scope === 'local') {
    return (session as BackupSession).status?.targets?.[targetIndex ?? 0]?.conditions;
  }
  return session.status?.conditions;
}

/** A hook's condition as it stands: its outcome, or `Unknown` (HookRunning) while it runs. */
export function hookConditionOf(session: Session, hook: HookName, scope: HookScope, targetIndex?: number): Condition | undefined {
  return findCondition(conditionsOf(session, scope, targetIndex), hookConditionType(hook, scope));
}

/** The recorded condition of a hook, if it ran (or was skipped) already: exactly-once per condition. */
export function recordedHookCondition(session: Session, hook: HookName, scope: HookScope, targetIndex?: number): Condition | undefined {
  const c = hookConditionOf(session, hook, scope, targetIndex);
  // `Unknown` says the hook is running (HookRunning), not that its outcome is recorded.
  return c?.status === 'Unknown' ? undefined : c;
}

/** Who runs the hook, when its condition says it is running (see `hookRunningCondition`). */
export function hookRunRecord(session: Session, hook: HookName, scope: HookScope, targetIndex?: number): HookRunRecord | undefined {
  return parseHookRunning(hookConditionOf(session, hook, scope, targetIndex));
}

/** A backup target is complete at `Succeeded`/`Failed`; a restore when every host reported. */
export function isTargetComplete(session: Session, targetIndex: number): boolean {
  if (kindOf(session) === 'RestoreSession') {
    const status = (session as RestoreSession).status;
    const total = status?.totalHosts;
    const stats = status?.stats ?? [];
    return total !== undefined && total > 0 && stats.length >= total && stats.every((h) => ['Succeeded', 'Failed', 'Unknown'].includes(h.phase));
  }
  const phase = (session as BackupSession).status?.targets?.[targetIndex]?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Whether the target (restore: any host) failed, as the executor or the deadline recorded it. */
export function isTargetFailed(session: Session, targetIndex: number): boolean {
  if (kindOf(session) === 'RestoreSession') return ((session as RestoreSession).status?.stats ?? []).some((h) => h.phase !== 'Succeeded');
  return (session as BackupSession).status?.targets?.[targetIndex]?.phase === 'Failed';
}

/** The session's deadline in epoch ms: creation + invoker `spec.timeOut`, else the default. */
export function deadlineOf(session: Session, invoker: Invoker | undefined, defaultTimeoutMs: number): { deadlineMs: number; timeOut: string } {
  const created = Date.parse(session.metadata.creationTimestamp ?? '') || Date.now();
  const raw = invoker?.spec.timeOut;
  const parsed = typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (parsed !== undefined && parsed > 0) return { deadlineMs: created + parsed, timeOut: raw as string };
  return { deadlineMs: created + defaultTimeoutMs, timeOut: formatTimeout(defaultTimeoutMs) };
}

function formatTimeout(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

export type PolicyDecision = { run: true } | { run: false; policy: string; phase: string };

/**
 * Stash's `executionPolicy` for post hooks: `Always` (default), `OnSuccess`, `OnFailure`, and for
 * backups `OnFinalRetryFailure` (phase Failed and `retryLeft == 0`).
 */
export function evaluatePolicy(policy: string | undefined, phase: 'Succeeded' | 'Failed', retryLeft: number): PolicyDecision {
  const p = policy ?? 'Always';
  let run: boolean;
  switch (p) {
    case 'Always':
      run = true;
      break;
    case 'OnSuccess':
      run = phase === 'Succeeded';
      break;
    case 'OnFailure':
      run = phase === 'Failed';
      break;
    case 'OnFinalRetryFailure':
      run = phase === 'Failed' && retryLeft <= 0;
      break;
    default:
      run = false;
  }
  return run ? { run: true } : { run: false, policy: p, phase };
}

/**
 * The final phase (DESIGN §5): `Failed` if any target failed, any hook condition is False or the
 * deadline passed, else `Succeeded`.
 */
export function finalPhase(session: Session, targetCount: number): 'Succeeded' | 'Failed' {
  const anyFalse = (cs: Condition[] | undefined) =>
    (cs ?? []).some((c) => c.status === 'False' && c.type !== ConditionType.ReadyForBackup && c.type !== ConditionType.ReadyForRestore);
  const status = session.status;
  if (anyFalse(status?.conditions)) return 'Failed';
  if (findCondition(status?.conditions, ConditionType.DeadlineExceeded)?.status === 'True') return 'Failed';
  if (kindOf(session) === 'RestoreSession') {
    const gate = findCondition(status?.conditions, ConditionType.ReadyForRestore);
    if (gate?.status === 'False') return 'Failed';
    return isTargetComplete(session, 0) && !isTargetFailed(session, 0) ? 'Succeeded' : 'Failed';
  }
  const targets = (session as BackupSession).status?.targets ?? [];
  if (targets.length < targetCount) return 'Failed';
  for (const t of targets) {
    if (t.phase !== 'Succeeded') return 'Failed';
    if (anyFalse(t.conditions)) return 'Failed';
  }
  return 'Succeeded';
}
