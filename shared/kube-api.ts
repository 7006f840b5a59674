/**
 * Small helpers around @kubernetes/client-node's errors: its `ApiException` carries the HTTP code
 * and the API server's `Status` body; callers branch on 404/409 and turn the rest into a
 * `KubernetesApiError` (infrastructure, retried) whose message says what was being done.
 */
import { KubernetesApiError } from './errors.js';

/** The HTTP status of a client-node error, if it has one. */
export function apiStatusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's `Status.message` from an error body, or the error's own message. */
export function apiErrorDetail(err: unknown): string {
  const body = (err as { body?: unknown } | undefined)?.body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300) || String(err);
    }
  }
  if (parsed && typeof parsed === 'object' && 'message' in parsed) return String((parsed as { message: unknown }).message);
  if (err instanceof Error) return err.message.split('\n')[0];
  return String(err);
}

/** Wraps a failed API call as infrastructure: `<what>: <code> <message>`. */
export function kubeError(err: unknown, what: string): KubernetesApiError {
  const status = apiStatusCode(err);
  return new KubernetesApiError(`${what}: ${status ? `${status} ` : ''}${apiErrorDetail(err)}`, { statusCode: status, cause: err });
}

/** Awaits `call`; undefined on 404, `KubernetesApiError` naming `what` on any other failure. */
export async function getOrUndefined<T>(call: () => Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (apiStatusCode(err) === 404) return undefined;
    throw kubeError(err, what);
  }
}
