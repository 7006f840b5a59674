/**
 * Runs one action on many hosts in parallel, at most `limit` at once (DESIGN §5: each replica is
 * a host). The hook fails if any host fails, and the message lists the failed hosts and why, up
 * to {@link MAX_FAILURE_LIST_BYTES}, then "… and N more hosts": a 50-pod hook must still fit in
 * its condition (DESIGN §11 "Bounded and redacted").
 */
import {
  ErrorCode,
  HookFailedError,
  HookTimeoutError,
  NetworkDeniedError,
  StashHooksError,
  TargetError,
  isHookOwnFailure,
  type HookAction,
} from '../../shared/errors.js';

/** Settles `fn` over `items` with at most `limit` running; results keep the input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

/**
 * Bytes of per-host reasons in one fan-out failure. Well under the condition's 32 KiB, so the
 * hook's own prefix and the summary always fit.
 */
export const MAX_FAILURE_LIST_BYTES = 16 * 1024;

/** `reasons` joined by "; " up to `maxBytes`, then "… and N more hosts". */
export function listFailures(reasons: readonly string[], maxBytes = MAX_FAILURE_LIST_BYTES): string {
  const kept: string[] = [];
  let used = 0;
  for (const r of reasons) {
    const size = Buffer.byteLength(r) + 2;
    if (used + size > maxBytes && kept.length > 0) break;
    kept.push(size > maxBytes ? `${r.slice(0, Math.floor(maxBytes / 4))}…` : r);
    used += size;
  }
  const more = reasons.length - kept.length;
  return kept.join('; ') + (more > 0 ? `; … and ${more} more host${more === 1 ? '' : 's'}` : '');
}

function sameKind(code: string, action: HookAction, message: string): StashHooksError {
  switch (code) {
    case ErrorCode.HookTimeout:
      return new HookTimeoutError(message, { action });
    case ErrorCode.Target:
      return new TargetError(message);
    case ErrorCode.NetworkDenied:
      return new NetworkDeniedError(message);
    default:
      return new HookFailedError(message, { action });
  }
}

/**
 * Runs `fn` on every host and returns the values, or throws: an infrastructure error as is (it
 * is retried), a single host's failure as is, several as one error listing each.
 */
export async function fanOut<T, R>(action: HookAction, hosts: readonly T[], limit: number, fn: (host: T) => Promise<R>): Promise<R[]> {
  const settled = await mapBounded(hosts, limit, fn);
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
  if (failures.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  const infra = failures.find((f) => !isHookOwnFailure(f));
  if (infra !== undefined) throw infra;
  if (hosts.length === 1) throw failures[0];
  const codes = new Set(failures.map((f) => (f as StashHooksError).code));
  const message = `${action} failed on ${failures.length} of ${hosts.length} hosts: ${listFailures(failures.map((f) => (f as Error).message))}`;
  throw sameKind(codes.size === 1 ? [...codes][0] : ErrorCode.HookFailed, action, message);
}
