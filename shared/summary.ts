/**
 * The summary a hook's templates see (DESIGN §5 "Templating"): Stash's `Summary`, with its JSON
 * field names. A pure function of the session, its invoker, the target index and the clock, so
 * the worker, the dashboard and the tests compute the same thing.
 */
import { formatDuration } from './duration.js';
import type {
  BackupBatch,
  BackupConfiguration,
  BackupSession,
  BackupTargetStatus,
  Condition,
  HostStats,
  RestoreSession,
  Session,
  TargetRef,
} from './resources.js';
import { STASH_GROUP } from './resources.js';

/** Stash's hook summary, JSON names. Every field is a string (empty when unknown) or a number. */
export interface Summary {
  name: string;
  namespace: string;
  invoker: { apiGroup: string; kind: string; name: string };
  target: { apiVersion: string; kind: string; name: string; namespace: string };
  status: { phase: 'Succeeded' | 'Failed'; duration: string; error: string };
  retryLeft: number;
}

/** Inputs of {@link buildSummary}. */
export interface SummaryInput {
  session: Session;
  /** The BackupConfiguration or BackupBatch; unused for a RestoreSession (its own invoker). */
  invoker?: BackupConfiguration | BackupBatch;
  /**
   * Index of the target in `status.targets` (BackupBatch: also `spec.members`). Absent for a
   * global hook, which sees every target's failures and an empty `target`.
   */
  targetIndex?: number;
  /** Milliseconds since the epoch. */
  now: number;
}

function isRestoreSession(s: Session): s is RestoreSession {
  if (s.kind) return s.kind === 'RestoreSession';
  return 'target' in (s.spec ?? {}) || 'hooks' in (s.spec ?? {});
}

/** A host's error, or a sentence naming it when the executor left none (Stash would give ""). */
function hostError(host: HostStats, what: string): string {
  return host.error || `host ${host.hostname} ${what}`;
}

/** stashed/apimachinery `checkFailureInConditions`: the first False condition's message. */
function firstFalseCondition(conditions: Condition[] | undefined): string | undefined {
  const c = conditions?.find((x) => x.status === 'False');
  if (!c) return undefined;
  return c.message || c.reason || `condition ${c.type} is False`;
}

function deadlineMessage(conditions: Condition[] | undefined): string | undefined {
  const c = conditions?.find((x) => x.type === 'DeadlineExceeded' && x.status === 'True');
  return c ? c.message || 'deadline exceeded' : undefined;
}

/**
 * stashed/apimachinery `pkg/invoker/backup_invoker.go` `checkBackupFailureInTargetStatus`: the
 * target's first Failed host, then its first False condition.
 */
function targetFailure(t: BackupTargetStatus): string | undefined {
  const host = t.stats?.find((h) => h.phase === 'Failed');
  return host ? hostError(host, 'failed') : firstFalseCondition(t.conditions);
}

/**
 * The failure a hook reports, in Stash's order, or undefined when nothing failed.
 * - Backup (stashed/apimachinery `pkg/invoker/backup_invoker.go` `getTargetBackupSummary`): the
 *   hook's own target — or, for a global hook, each target in turn — hosts then conditions;
 *   then the session's first False condition.
 * - Restore (`pkg/invoker/restoresession.go`, `checkRestoreFailureInHostStatus`): the first host
 *   that is not Succeeded (Failed, or Unknown as Stash reports a host it lost track of); then the
 *   session's first False condition.
 * After Stash's sources come two it has no words for: the deadline, and a target marked Failed
 * without a host error (deadline, executor crash).
 */
function failureOf(session: Session, targetIndex: number | undefined): string | undefined {
  const status = session.status;
  if (!status) return undefined;
  const candidates: Array<() => string | undefined> = [];
  if (isRestoreSession(session)) {
    const host = session.status?.stats?.find((h) => h.phase === 'Failed' || h.phase === 'Unknown');
    candidates.push(() => (host ? hostError(host, host.phase === 'Failed' ? 'failed' : 'ended in phase Unknown') : undefined));
    candidates.push(
      () => firstFalseCondition(status.conditions),
      () => deadlineMessage(status.conditions),
    );
  } else {
    const targets = (session as BackupSession).status?.targets ?? [];
    const chosen = targetIndex === undefined ? targets : targets.slice(targetIndex, targetIndex + 1);
    for (const t of chosen) candidates.push(() => targetFailure(t));
    candidates.push(
      () => firstFalseCondition(status.conditions),
      () => deadlineMessage(status.conditions),
    );
    for (const t of chosen) candidates.push(() => (t.phase === 'Failed' ? `backup of ${t.ref.kind} ${t.ref.name} failed` : undefined));
  }
  for (const c of candidates) {
    const found = c();
    if (found !== undefined) return found;
  }
  return undefined;
}

function targetRefOf(input: SummaryInput): TargetRef | undefined {
  const { session, invoker, targetIndex } = input;
  if (isRestoreSession(session)) return session.spec.target?.ref;
  if (targetIndex === undefined) return undefined;
  const fromStatus = (session as BackupSession).status?.targets?.[targetIndex]?.ref;
  if (fromStatus) return fromStatus;
  if (!invoker) return undefined;
  if (invoker.kind === 'BackupBatch' || 'members' in invoker.spec) {
    return (invoker as BackupBatch).spec.members?.[targetIndex]?.target?.ref;
  }
  return targetIndex === 0 ? (invoker as BackupConfiguration).spec.target?.ref : undefined;
}

/**
 * Builds the summary of `session` for the hook of target `targetIndex` (or the global hook).
 * Phase is `Failed` when a host failed, a condition is False or the deadline passed (with `error`
 * the first such message), else `Succeeded`; `duration` is `now − creationTimestamp`.
 */
export function buildSummary(input: SummaryInput): Summary {
  const { session, now } = input;
  const meta = session.metadata;
  const namespace = meta.namespace ?? '';
  const restore = isRestoreSession(session);
  const invokerRef = restore
    ? { apiGroup: STASH_GROUP, kind: 'RestoreSession', name: meta.name ?? '' }
    : {
        apiGroup: (session as BackupSession).spec.invoker?.apiGroup ?? STASH_GROUP,
        kind: (session as BackupSession).spec.invoker?.kind ?? input.invoker?.kind ?? '',
        name: (session as BackupSession).spec.invoker?.name ?? input.invoker?.metadata.name ?? '',
      };
  const ref = targetRefOf(input);
  const created = meta.creationTimestamp ? Date.parse(meta.creationTimestamp) : NaN;
  const error = failureOf(session, restore ? undefined : input.targetIndex);
  return {
    name: meta.name ?? '',
    namespace,
    invoker: invokerRef,
    target: {
      apiVersion: ref?.apiVersion ?? '',
      kind: ref?.kind ?? '',
      name: ref?.name ?? '',
      namespace: ref ? (ref.namespace ?? namespace) : '',
    },
    status: {
      phase: error === undefined ? 'Succeeded' : 'Failed',
      duration: Number.isNaN(created) ? '0s' : formatDuration(now - created),
      error: error ?? '',
    },
    retryLeft: restore ? 0 : ((session as BackupSession).spec.retryLeft ?? 0),
  };
}
