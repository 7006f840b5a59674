/**
 * Reading from the API server with one rule: a 404 is the caller's business (a missing pod is a
 * failed hook with a message naming it), anything else is infrastructure ({@link KubernetesApiError},
 * retried by the worker).
 */
import { KubernetesApiError } from '../../shared/errors.js';

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return undefined;
}

/** Awaits `call`; returns undefined on 404, throws KubernetesApiError (naming `what`) otherwise. */
export async function readOrUndefined<T>(call: () => Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 404) return undefined;
    const status = typeof code === 'number' ? code : undefined;
    const detail = statusMessage((err as { body?: unknown }).body) ?? (err instanceof Error ? err.message : String(err));
    throw new KubernetesApiError(`reading ${what}: ${status ? `${status} ` : ''}${detail}`, { statusCode: status, cause: err });
  }
}
