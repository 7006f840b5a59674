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

function firstFailedHost(stats: HostStats[] | undefined): string | undefined {
  const host = stats?.find((h) => h.phase === 'Failed');
  if (!host) return undefined;
  return host.error || `host ${host.hostname} failed`;
}

function firstUnknownHost(stats: HostStats[] | undefined): string | undefined {
  const host = stats?.find((h) => h.phase === 'Unknown');
  if (!host) return undefined;
  return host.error || `host ${host.hostname} ended in phase Unknown`;
}

function firstFalseCondition(conditions: Condition[] | undefined): string | undefined {
  const c = conditions?.find((x) => x.status === 'False');
  if (!c) return undefined;
  return c.message || c.reason || `condition ${c.type} is False`;
}

function deadlineMessage(conditions: Condition[] | undefined): string | undefined {
  const c = conditions?.find((x) => x.type === 'DeadlineExceeded' && x.status === 'True');
  return c ? c.message || 'deadline exceeded' : undefined;
}

/** The failure a hook should report, or undefined when nothing failed. Host errors come first, as in Stash. */
function failureOf(session: Session, targetIndex: number | undefined): string | undefined {
  const status = session.status;
  if (!status) return undefined;
  const sessionLevel = [firstFalseCondition(status.conditions), deadlineMessage(status.conditions)];
  if (isRestoreSession(session)) {
    // The same rule as the final phase (isTargetFailed): a restored host that is not Succeeded
    // (Failed, or Unknown as Stash reports a host it lost track of) fails the restore.
    return [firstFailedHost(session.status?.stats), firstUnknownHost(session.status?.stats), ...sessionLevel].find((x) => x !== undefined);
  }
  const targets = (session as BackupSession).status?.targets ?? [];
  const chosen = targetIndex === undefined ? targets : targets.slice(targetIndex, targetIndex + 1);
  const candidates: Array<string | undefined> = [];
  for (const t of chosen) candidates.push(firstFailedHost(t.stats));
  for (const t of chosen) candidates.push(firstFalseCondition(t.conditions));
  candidates.push(...sessionLevel);
  for (const t of chosen) {
    // A target marked Failed without a host error (deadline, executor crash) still fails the summary.
    if (t.phase === 'Failed') candidates.push(`backup of ${t.ref.kind} ${t.ref.name} failed`);
  }
  return candidates.find((x) => x !== undefined);
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
