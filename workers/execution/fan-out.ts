/**
 * Runs one action on many hosts in parallel, at most `limit` at once (DESIGN §5: each replica is
 * a host). The hook fails if any host fails, and the message lists every failed host and why.
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
  const message = `${action} failed on ${failures.length} of ${hosts.length} hosts: ${failures.map((f) => (f as Error).message).join('; ')}`;
  throw sameKind(codes.size === 1 ? [...codes][0] : ErrorCode.HookFailed, action, message);
}
