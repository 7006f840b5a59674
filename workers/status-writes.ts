/**
 * The status changes stash-hooks makes (DESIGN §4), as pure mutators of a session copy. Each
 * returns whether it changed anything, so `SessionStore.updateStatus` writes only real changes
 * and a retried job rewrites nothing it already wrote.
 */
import {
  ConditionType,
  deadlineExceededCondition,
  findCondition,
  gateCondition,
  hookCondition,
  hookConditionType,
  hookRunningCondition,
  upsertCondition,
  type HookName,
  type HookRunRecord,
  type HookScope,
} from '../shared/conditions.js';
import { formatDuration } from '../shared/duration.js';
import type { BackupSession, BackupTargetStatus, Condition, Session, TargetRef } from '../shared/resources.js';
import { hookRunRecord, hookSpec, kindOf, recordedHookCondition, type Invoker } from '../shared/session-state.js';

function isBackup(session: Session): session is BackupSession {
  return kindOf(session) === 'BackupSession';
}

function target(session: Session, i: number): BackupTargetStatus | undefined {
  return isBackup(session) ? session.status?.targets?.[i] : undefined;
}

/** Upserts into the target's conditions (local backup hooks, backup gates) or the session's. */
function upsertAt(session: Session, where: 'session' | number, condition: Condition, now: Date): boolean {
  if (where === 'session') {
    const r = upsertCondition(session.status?.conditions, condition, now);
    if (r.changed) (session.status ??= {}).conditions = r.conditions;
    return r.changed;
  }
  const t = target(session, where);
  if (!t) return false;
  const r = upsertCondition(t.conditions, condition, now);
  if (r.changed) t.conditions = r.conditions;
  return r.changed;
}

function hookLocation(session: Session, scope: HookScope, targetIndex: number | undefined): 'session' | number {
  return isBackup(session) && scope === 'local' ? (targetIndex ?? 0) : 'session';
}

/**
 * Records a hook's condition unless one of its type is already there (exactly once per
 * condition); a `HookRunning` (Unknown) condition is the hook in flight, which its outcome
 * replaces. Returns false when it was already recorded.
 */
export function recordHookCondition(
  session: Session,
  hook: HookName,
  scope: HookScope,
  targetIndex: number | undefined,
  condition: Condition,
  now = new Date(),
): boolean {
  if (recordedHookCondition(session, hook, scope, targetIndex)) return false;
  return upsertAt(session, hookLocation(session, scope, targetIndex), condition, now);
}

/**
 * The start of a hook's run, recorded before its action (docs/reliability.md "A record outside
 * Redis"). Written only if the hook's condition is still what the caller decided on: `seen` is the
 * run record it read (undefined: none). Returns 'started', or why not: the outcome is recorded
 * meanwhile, or another worker started it meanwhile.
 */
export function recordHookStart(
  session: Session,
  hook: HookName,
  scope: HookScope,
  targetIndex: number | undefined,
  run: HookRunRecord,
  seen: HookRunRecord | undefined,
  now = new Date(),
): 'started' | 'recorded' | 'taken' {
  if (recordedHookCondition(session, hook, scope, targetIndex)) return 'recorded';
  const running = hookRunRecord(session, hook, scope, targetIndex);
  if (running && !(seen && running.worker === seen.worker && running.startedAt === seen.startedAt)) return 'taken';
  upsertAt(session, hookLocation(session, scope, targetIndex), hookRunningCondition(hook, scope, run), now);
  return 'started';
}

/** Removes a hook's `HookRunning` condition if it is `worker`'s (its run ended without an outcome). */
export function clearHookStart(session: Session, hook: HookName, scope: HookScope, targetIndex: number | undefined, worker: string): boolean {
  if (hookRunRecord(session, hook, scope, targetIndex)?.worker !== worker) return false;
  const where = hookLocation(session, scope, targetIndex);
  const holder = (where === 'session' ? session.status : target(session, where))!;
  const type = hookConditionType(hook, scope);
  holder.conditions = holder.conditions!.filter((c) => c.type !== type);
  return true;
}

/**
 * Sets the gate the executor waits for: target `ReadyForBackup` (RestoreSession: session
 * `ReadyForRestore`). A closed gate on a backup target also marks the target Failed: its backup
 * is skipped (DESIGN §5).
 */
export function setGate(session: Session, targetIndex: number, gate: Condition, now = new Date()): boolean {
  if (!isBackup(session)) return upsertAt(session, 'session', gate, now);
  let changed = upsertAt(session, targetIndex, gate, now);
  if (gate.status === 'False') changed = markTargetFailed(session, targetIndex) || changed;
  return changed;
}

export function openGate(session: Session, targetIndex: number, hadPreHook: boolean, now = new Date()): boolean {
  const kind = isBackup(session) ? 'backup' : 'restore';
  return setGate(session, targetIndex, gateCondition(kind, true, hadPreHook ? 'PreHookSucceeded' : 'NoPreHook'), now);
}

export function closeGate(session: Session, targetIndex: number, detail: string, now = new Date()): boolean {
  const kind = isBackup(session) ? 'backup' : 'restore';
  return setGate(session, targetIndex, gateCondition(kind, false, 'PreHookFailed', detail), now);
}

export function markTargetFailed(session: Session, targetIndex: number): boolean {
  const t = target(session, targetIndex);
  if (!t || t.phase === 'Failed' || t.phase === 'Succeeded') return false;
  t.phase = 'Failed';
  return true;
}

/**
 * A failed local post hook fails its target even after the executor reported it Succeeded, as
 * Stash's `calculateBackupTargetPhase` does for a False `PostBackupHookExecutionSucceeded`
 * (DESIGN §5: "A failed post hook makes the target and the session Failed"). Host stats stand.
 */
export function failTargetAfterPostHook(session: Session, targetIndex: number): boolean {
  const t = target(session, targetIndex);
  if (!t || t.phase === 'Failed') return false;
  t.phase = 'Failed';
  return true;
}

/**
 * Initiates the targets (phase Pending) and moves the session to Running with its deadline
 * (DESIGN §4, first row). Targets already initiated keep their status.
 */
export function initiateSession(session: Session, refs: TargetRef[], deadlineMs: number): boolean {
  let changed = false;
  const status = (session.status ??= {});
  if (status.phase !== 'Running') {
    status.phase = 'Running';
    changed = true;
  }
  const deadline = new Date(deadlineMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (status.sessionDeadline !== deadline) {
    status.sessionDeadline = deadline;
    changed = true;
  }
  if (isBackup(session)) {
    const targets = (session.status!.targets ??= []);
    refs.forEach((ref, i) => {
      if (!targets[i]) {
        targets[i] = { ref, phase: 'Pending' };
        changed = true;
      }
    });
  }
  return changed;
}

/** The deadline passed before target i completed: `DeadlineExceeded` on the session, the target Failed. */
export function markDeadlineExceeded(session: Session, targetIndex: number, timeOut: string, now = new Date()): boolean {
  const kind = isBackup(session) ? 'backup' : 'restore';
  let changed = upsertAt(session, 'session', deadlineExceededCondition(kind, timeOut), now);
  changed = markTargetFailed(session, targetIndex) || changed;
  return changed;
}

/** `DeadlineExceeded` on the session alone (no target to fail: none was initiated). */
export function markSessionDeadlineExceeded(session: Session, timeOut: string, now = new Date()): boolean {
  return upsertAt(session, 'session', deadlineExceededCondition(isBackup(session) ? 'backup' : 'restore', timeOut), now);
}

/** Writes the final phase and `sessionDuration` (time since creation, Go style). */
export function setFinalPhase(session: Session, phase: 'Succeeded' | 'Failed', nowMs = Date.now()): boolean {
  const status = (session.status ??= {});
  if (status.phase === 'Succeeded' || status.phase === 'Failed' || status.phase === 'Skipped') return false;
  status.phase = phase;
  const created = Date.parse(session.metadata.creationTimestamp ?? '');
  status.sessionDuration = formatDuration(Number.isNaN(created) ? 0 : nowMs - created);
  return true;
}

/** Whether the global pre hook ran and failed (the batch settles at once). */
export function globalPreFailed(session: Session): boolean {
  return findCondition(session.status?.conditions, ConditionType.GlobalPreBackupHookSucceeded)?.status === 'False';
}

/**
 * Whether the batch has a global pre hook whose condition is not True (absent or False): no
 * member may be initiated, and no post hook runs (DESIGN §5, "No member is initiated until the
 * global pre condition is True").
 */
export function globalPreNotSucceeded(session: Session, invoker: Invoker): boolean {
  if (!isBackup(session) || !hookSpec(invoker, 'preBackup', 'global')) return false;
  return findCondition(session.status?.conditions, ConditionType.GlobalPreBackupHookSucceeded)?.status !== 'True';
}

/**
 * A global pre hook that could not run before the deadline: its condition False with `why`,
 * `DeadlineExceeded`, and the session Failed — in one write, so no reader sees the session
 * settled without the reason.
 */
export function failUnrunGlobalPre(session: Session, why: string, timeOut: string, now = new Date()): boolean {
  let changed = recordHookCondition(session, 'preBackup', 'global', undefined, hookCondition('preBackup', 'global', { kind: 'failed', error: why }), now);
  changed = markSessionDeadlineExceeded(session, timeOut, now) || changed;
  return setFinalPhase(session, 'Failed', now.getTime()) || changed;
}

/** Whether target i's pre hook failed (its gate is closed): its post hook does not run. */
export function preHookFailed(session: Session, targetIndex: number): boolean {
  if (!isBackup(session)) {
    return (
      findCondition(session.status?.conditions, ConditionType.ReadyForRestore)?.status === 'False' ||
      findCondition(session.status?.conditions, ConditionType.PreRestoreHookExecutionSucceeded)?.status === 'False'
    );
  }
  const t = target(session, targetIndex);
  return (
    findCondition(t?.conditions, ConditionType.ReadyForBackup)?.status === 'False' ||
    findCondition(t?.conditions, ConditionType.PreBackupHookExecutionSucceeded)?.status === 'False'
  );
}

/** Whether target i's gate is already set (open or closed). */
export function gateSet(session: Session, targetIndex: number): boolean {
  if (!isBackup(session)) return findCondition(session.status?.conditions, ConditionType.ReadyForRestore) !== undefined;
  return findCondition(target(session, targetIndex)?.conditions, ConditionType.ReadyForBackup) !== undefined;
}

/** The error recorded for a post hook whose job failed for good before it could record anything. */
export const UNRUN_HOOK_ERROR = 'the hook could not be run: its job failed for good (see the job on the dashboard)';

/**
 * At finalize, every post hook that should have run has a condition; one without (its job failed
 * for good on infrastructure errors) is recorded as failed, so the final phase cannot read
 * Succeeded over a hook that never ran. Hooks that legitimately do not run (pre failed, global
 * pre failed) are left alone.
 */
export function recordUnrunPostHooks(
  session: Session,
  invoker: Invoker,
  post: HookName,
  targetCount: number,
  now = new Date(),
  options: { global?: boolean } = {},
): boolean {
  if (globalPreFailed(session) || globalPreNotSucceeded(session, invoker)) return false;
  const failed = (scope: HookScope) => hookCondition(post, scope, { kind: 'failed', error: UNRUN_HOOK_ERROR });
  let changed = false;
  for (let i = 0; i < targetCount; i++) {
    if (!hookSpec(invoker, post, 'local', i) || preHookFailed(session, i)) continue;
    changed = recordHookCondition(session, post, 'local', i, failed('local'), now) || changed;
  }
  if ((options.global ?? true) && post === 'postBackup' && hookSpec(invoker, post, 'global'))
    changed = recordHookCondition(session, post, 'global', undefined, failed('global'), now) || changed;
  return changed;
}
