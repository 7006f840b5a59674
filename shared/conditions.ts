/**
 * Stash's exact condition types, reasons and messages (DESIGN §5), and the upsert that writes them.
 *
 * The strings here are part of the product's contract: users' alerting matches on them, so they
 * are copied from Stash (`apis/stash/v1beta1/constants.go`, `pkg/conditions`) and never reworded.
 */
import { goDurationString, parseDurationNs } from './duration.js';
import type { Condition, ConditionStatus } from './resources.js';

export const HookName = {
  preBackup: 'preBackup',
  postBackup: 'postBackup',
  preRestore: 'preRestore',
  postRestore: 'postRestore',
} as const;
export type HookName = (typeof HookName)[keyof typeof HookName];

export const HOOK_NAMES: readonly HookName[] = Object.values(HookName);

export function isPostHook(hook: HookName): hook is 'postBackup' | 'postRestore' {
  return hook === 'postBackup' || hook === 'postRestore';
}

export const ConditionType = {
  PreBackupHookExecutionSucceeded: 'PreBackupHookExecutionSucceeded',
  PostBackupHookExecutionSucceeded: 'PostBackupHookExecutionSucceeded',
  PreRestoreHookExecutionSucceeded: 'PreRestoreHookExecutionSucceeded',
  PostRestoreHookExecutionSucceeded: 'PostRestoreHookExecutionSucceeded',
  GlobalPreBackupHookSucceeded: 'GlobalPreBackupHookSucceeded',
  GlobalPostBackupHookSucceeded: 'GlobalPostBackupHookSucceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  /** The gate (DESIGN §4): a target may be backed up. */
  ReadyForBackup: 'ReadyForBackup',
  /** The gate of a RestoreSession. */
  ReadyForRestore: 'ReadyForRestore',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ConditionReason = {
  SuccessfullyExecutedPreBackupHook: 'SuccessfullyExecutedPreBackupHook',
  FailedToExecutePreBackupHook: 'FailedToExecutePreBackupHook',
  SuccessfullyExecutedPostBackupHook: 'SuccessfullyExecutedPostBackupHook',
  FailedToExecutePostBackupHook: 'FailedToExecutePostBackupHook',
  SuccessfullyExecutedPreRestoreHook: 'SuccessfullyExecutedPreRestoreHook',
  FailedToExecutePreRestoreHook: 'FailedToExecutePreRestoreHook',
  SuccessfullyExecutedPostRestoreHook: 'SuccessfullyExecutedPostRestoreHook',
  FailedToExecutePostRestoreHook: 'FailedToExecutePostRestoreHook',
  GlobalPreBackupHookExecutedSuccessfully: 'GlobalPreBackupHookExecutedSuccessfully',
  GlobalPreBackupHookExecutionFailed: 'GlobalPreBackupHookExecutionFailed',
  GlobalPostBackupHookExecutedSuccessfully: 'GlobalPostBackupHookExecutedSuccessfully',
  GlobalPostBackupHookExecutionFailed: 'GlobalPostBackupHookExecutionFailed',
  FailedToCompleteWithinDeadline: 'FailedToCompleteWithinDeadline',
  /** Gate reasons (ours: Stash has no explicit gate). */
  PreHookSucceeded: 'PreHookSucceeded',
  NoPreHook: 'NoPreHook',
  PreHookFailed: 'PreHookFailed',
} as const;

const LOCAL_HOOK: Record<HookName, { type: ConditionType; ok: string; failed: string }> = {
  preBackup: {
    type: ConditionType.PreBackupHookExecutionSucceeded,
    ok: ConditionReason.SuccessfullyExecutedPreBackupHook,
    failed: ConditionReason.FailedToExecutePreBackupHook,
  },
  postBackup: {
    type: ConditionType.PostBackupHookExecutionSucceeded,
    ok: ConditionReason.SuccessfullyExecutedPostBackupHook,
    failed: ConditionReason.FailedToExecutePostBackupHook,
  },
  preRestore: {
    type: ConditionType.PreRestoreHookExecutionSucceeded,
    ok: ConditionReason.SuccessfullyExecutedPreRestoreHook,
    failed: ConditionReason.FailedToExecutePreRestoreHook,
  },
  postRestore: {
    type: ConditionType.PostRestoreHookExecutionSucceeded,
    ok: ConditionReason.SuccessfullyExecutedPostRestoreHook,
    failed: ConditionReason.FailedToExecutePostRestoreHook,
  },
};

const GLOBAL_HOOK = {
  preBackup: {
    type: ConditionType.GlobalPreBackupHookSucceeded,
    ok: ConditionReason.GlobalPreBackupHookExecutedSuccessfully,
    failed: ConditionReason.GlobalPreBackupHookExecutionFailed,
    label: 'PreBackup',
  },
  postBackup: {
    type: ConditionType.GlobalPostBackupHookSucceeded,
    ok: ConditionReason.GlobalPostBackupHookExecutedSuccessfully,
    failed: ConditionReason.GlobalPostBackupHookExecutionFailed,
    label: 'PostBackup',
  },
} as const;

/**
 * The longest condition message, in bytes: `metav1.Condition`'s `message` has maxLength 32768
 * (apimachinery `pkg/apis/meta/v1/types.go`), and our CRDs say the same. A longer message would
 * make the status write fail, and the session would never finish.
 */
export const MAX_CONDITION_MESSAGE_BYTES = 32 * 1024;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, with a marker saying how much was left out.
 * Never splits a character.
 */
export function boundMessage(text: string, maxBytes = MAX_CONDITION_MESSAGE_BYTES): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const marker = ` … (${bytes} bytes, cut to ${maxBytes})`;
  const markerBytes = Buffer.byteLength(marker);
  if (markerBytes >= maxBytes) return utf8Prefix(text, maxBytes);
  return utf8Prefix(text, maxBytes - markerBytes) + marker;
}

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes that ends on a whole character. */
function utf8Prefix(text: string, maxBytes: number): string {
  // A cut through a character decodes as U+FFFD: drop it, and anything still over.
  let head = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  while (head.length > 0 && (Buffer.byteLength(head) > maxBytes || head.endsWith('\uFFFD'))) head = head.slice(0, -1);
  return head;
}

export type HookScope = 'global' | 'local';
export type HookOutcome = { kind: 'succeeded' } | { kind: 'failed'; error: string } | { kind: 'skipped'; policy: string; phase: string };

/** The condition type a hook records its result under. Global hooks exist for backups only. */
export function hookConditionType(hook: HookName, scope: HookScope): ConditionType {
  if (scope === 'global') return globalHook(hook).type;
  return LOCAL_HOOK[hook].type;
}

function globalHook(hook: HookName) {
  if (hook !== 'preBackup' && hook !== 'postBackup') {
    throw new RangeError(`there are no global ${hook} hooks (global hooks belong to BackupBatch backups)`);
  }
  return GLOBAL_HOOK[hook];
}

/**
 * The condition (without timestamps) that records a hook's outcome, with Stash's exact strings.
 * A post hook skipped by its `executionPolicy` records the success reason with a "Skipping" message.
 */
export function hookCondition(hook: HookName, scope: HookScope, outcome: HookOutcome): Condition {
  if (scope === 'global') {
    const g = globalHook(hook);
    switch (outcome.kind) {
      case 'succeeded':
        return { type: g.type, status: 'True', reason: g.ok, message: `Global ${g.label} hook has been executed successfully` };
      case 'failed':
        return {
          type: g.type,
          status: 'False',
          reason: g.failed,
          message: boundMessage(`Failed to execute global ${g.label} Hook. Reason: ${outcome.error}.`),
        };
      case 'skipped':
        return { type: g.type, status: 'True', reason: g.ok, message: skippingMessage(hook, outcome.policy, outcome.phase) };
    }
  }
  const l = LOCAL_HOOK[hook];
  switch (outcome.kind) {
    case 'succeeded':
      return { type: l.type, status: 'True', reason: l.ok, message: `Successfully executed ${hook} hook.` };
    case 'failed':
      return { type: l.type, status: 'False', reason: l.failed, message: boundMessage(`Failed to execute ${hook} hook. Reason: ${outcome.error}`) };
    case 'skipped':
      return { type: l.type, status: 'True', reason: l.ok, message: skippingMessage(hook, outcome.policy, outcome.phase) };
  }
}

function skippingMessage(hook: HookName, policy: string, phase: string): string {
  return `Skipping executing ${hook}. Reason: executionPolicy is "${policy}" but phase is "${phase}".`;
}

/**
 * `DeadlineExceeded` on the session (stashed/apimachinery `pkg/conditions/backupsession.go`
 * `SetBackupDeadlineExceededConditionToTrue`: `Failed to complete backup within %s.`). Stash
 * holds `spec.timeOut` as a `metav1.Duration`, so the message shows Go's `Duration.String()`:
 * `30m` reads `30m0s`. A `timeOut` that is not a Go duration is shown as written.
 */
export function deadlineExceededCondition(kind: 'backup' | 'restore', timeOut: string): Condition {
  const ns = parseDurationNs(timeOut);
  return {
    type: ConditionType.DeadlineExceeded,
    status: 'True',
    reason: ConditionReason.FailedToCompleteWithinDeadline,
    message: `Failed to complete ${kind} within ${ns === undefined ? timeOut : goDurationString(ns)}.`,
  };
}

/**
 * The gate the executor waits for: target `ReadyForBackup` (RestoreSession: session
 * `ReadyForRestore`). False carries why the backup or restore must not run.
 */
export function gateCondition(kind: 'backup' | 'restore', open: true, reason: 'PreHookSucceeded' | 'NoPreHook'): Condition;
export function gateCondition(kind: 'backup' | 'restore', open: false, reason: 'PreHookFailed', detail: string): Condition;
export function gateCondition(kind: 'backup' | 'restore', open: boolean, reason: string, detail?: string): Condition {
  const type = kind === 'backup' ? ConditionType.ReadyForBackup : ConditionType.ReadyForRestore;
  if (open) {
    const why = reason === ConditionReason.NoPreHook ? 'no pre-' + kind + ' hook is set' : 'the pre-' + kind + ' hook succeeded';
    return { type, status: 'True', reason, message: `Ready for ${kind}: ${why}.` };
  }
  return { type, status: 'False', reason, message: boundMessage(`Skipping ${kind}: ${detail}`) };
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Inserts or replaces the condition of `next.type` by kmodules' rule (kmodules/client-go
 * `api/v1/conditions.go` `SetCondition`, which Stash uses for every session condition): a
 * condition whose status, reason, message and observedGeneration are all unchanged is left as it
 * is, `lastTransitionTime` included; any difference writes it with a new `lastTransitionTime`;
 * one based on an older observedGeneration than the recorded one is ignored.
 * Returns a new array and whether anything changed; the input is not modified.
 */
export function upsertCondition(
  conditions: readonly Condition[] | undefined,
  next: Condition,
  now: Date = new Date(),
): { conditions: Condition[]; changed: boolean } {
  const list = conditions ? [...conditions] : [];
  const i = list.findIndex((c) => c.type === next.type);
  const stamp = next.lastTransitionTime ?? now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (i < 0) {
    list.push({ ...next, lastTransitionTime: stamp });
    return { conditions: list, changed: true };
  }
  const prev = list[i];
  const same =
    prev.status === next.status &&
    (prev.reason ?? '') === (next.reason ?? '') &&
    (prev.message ?? '') === (next.message ?? '') &&
    (prev.observedGeneration ?? 0) === (next.observedGeneration ?? 0);
  if (same || (next.observedGeneration ?? 0) < (prev.observedGeneration ?? 0)) return { conditions: list, changed: false };
  list[i] = { ...next, lastTransitionTime: stamp };
  return { conditions: list, changed: true };
}

export function isConditionStatus(value: unknown): value is ConditionStatus {
  return value === 'True' || value === 'False' || value === 'Unknown';
}

/** The reason of a hook condition that says the hook is running (status `Unknown`). Ours, not Stash's. */
export const HOOK_RUNNING_REASON = 'HookRunning';

/**
 * Who runs a hook, recorded in the cluster before its action starts (docs/reliability.md): after
 * Redis lost the hook's job, a rebuilt job reads it and waits for a live worker's outcome instead
 * of running the hook a second time.
 */
export interface HookRunRecord {
  /** The worker incarnation (`<POD_NAME>/<id of this process>`) whose heartbeat Lease says it lives. */
  worker: string;
  /** The hook's attempt (1 + the `maxRetry` retries before it). */
  attempt: number;
  /** When the action started (RFC 3339 with milliseconds). */
  startedAt: string;
  /** The hook's timeout: a record older than this (and a margin) is not a running hook any more. */
  timeoutSeconds: number;
}

/**
 * The hook's condition while it runs: status `Unknown`, reason `HookRunning`, the record in the
 * message (read back by {@link parseHookRunning}). The hook's outcome replaces it in the status
 * write that records the outcome, so it costs one write per hook and never outlives the hook.
 * A condition rather than an annotation or a status field of our own: it lives where the outcome
 * will, survives Stash's own CRD schemas (an unknown status field would be pruned), and a user
 * reading the session sees which worker runs the hook.
 */
export function hookRunningCondition(hook: HookName, scope: HookScope, run: HookRunRecord): Condition {
  return {
    type: hookConditionType(hook, scope),
    status: 'Unknown',
    reason: HOOK_RUNNING_REASON,
    message: `Running ${scope === 'global' ? 'global ' : ''}${hook} hook: worker ${run.worker}, attempt ${run.attempt}, started ${run.startedAt}, timeout ${run.timeoutSeconds}s.`,
  };
}

const RUNNING_MESSAGE = /^Running (?:global )?\w+ hook: worker (\S+), attempt (\d+), started (\S+), timeout (\d+)s\.$/;

/** The run record of a `HookRunning` condition; undefined for any other condition. */
export function parseHookRunning(condition: Condition | undefined): HookRunRecord | undefined {
  if (condition?.status !== 'Unknown' || condition.reason !== HOOK_RUNNING_REASON) return undefined;
  const m = RUNNING_MESSAGE.exec(condition.message ?? '');
  if (!m) return undefined;
  return { worker: m[1], attempt: Number(m[2]), startedAt: m[3], timeoutSeconds: Number(m[4]) };
}
