/**
 * Reading from the API server with one rule: a 404 is the caller's business (a missing pod is a
 * failed hook with a message naming it), anything else is infrastructure ({@link KubernetesApiError},
 * retried by the worker).
 */
import { getOrUndefined } from '../../shared/kube-api.js';

/** Awaits `call`; returns undefined on 404, throws KubernetesApiError (naming `what`) otherwise. */
export function readOrUndefined<T>(call: () => Promise<T>, what: string): Promise<T | undefined> {
  return getOrUndefined(call, `reading ${what}`);
}
