/**
 * Reading from the API server with two rules: a 404 is the caller's business (a missing pod is a
 * failed hook with a message naming it); a 403 is the hook's failure too — the worker was not
 * granted that namespace (components/tenant-namespaces, docs/security.md), and retrying will not
 * change it. Anything else is infrastructure ({@link KubernetesApiError}, retried by the worker).
 */
import { TargetError } from '../../shared/errors.js';
import { apiErrorDetail, apiStatusCode, getOrUndefined } from '../../shared/kube-api.js';

/** The hook's failure for a 403 on `what`: names it and how the platform admin grants it. */
function forbidden(what: string, detail: string, cause?: unknown): TargetError {
  return new TargetError(
    `stash-hooks' worker may not read ${what} (403 Forbidden: ${detail}); a platform admin grants a tenant namespace ` +
      'in k8s-manifests/components/tenant-namespaces (docs/security.md)',
    { cause },
  );
}

/** Awaits `call`; returns undefined on 404, throws TargetError on 403 and KubernetesApiError (naming `what`) otherwise. */
export async function readOrUndefined<T>(call: () => Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await getOrUndefined(call, `reading ${what}`);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if (apiStatusCode(cause) === 403) throw forbidden(what, apiErrorDetail(cause), cause);
    throw err;
  }
}
