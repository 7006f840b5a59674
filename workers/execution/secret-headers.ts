/**
 * `httpHeaders[].valueFrom.secretKeyRef` (our addition, DESIGN §3): read at run time from the
 * Secret in the session's namespace, so no secret ever sits in a job, Redis or a log. Every value
 * read is added to the caller's redaction list.
 *
 * A Secret is used only if it opts in with the label {@link HOOK_SECRET_LABEL} (DESIGN §11): the
 * worker's `secrets get` covers a whole namespace, and without the label a hook could send any
 * Secret of its namespace (a service account token, a TLS key) to a URL of its choosing.
 */
import { HookFailedError } from '../../shared/errors.js';
import type { HTTPHeader } from '../../shared/resources.js';
import { readOrUndefined } from './kube-read.js';
import type { KubeAccess } from './types.js';

/** The label (value `"true"`) a Secret carries to be usable by `secretKeyRef`. */
export const HOOK_SECRET_LABEL = 'stash-hooks.dev/hook-secret';

/** A header with its value resolved. */
export interface ResolvedHeader {
  name: string;
  value: string;
}

/** Resolves each header to `{name, value}`; pushes secret values onto `secrets`. */
export async function resolveHeaders(
  headers: readonly HTTPHeader[] | undefined,
  field: 'httpGet' | 'httpPost',
  namespace: string,
  kube: KubeAccess,
  secrets: string[],
): Promise<ResolvedHeader[]> {
  const out: ResolvedHeader[] = [];
  for (const [i, h] of (headers ?? []).entries()) {
    const ref = h.valueFrom?.secretKeyRef;
    if (!ref) {
      out.push({ name: h.name, value: h.value ?? '' });
      continue;
    }
    const where = `${field}.httpHeaders[${i}] (${h.name})`;
    const label = `Secret ${namespace}/${ref.name}`;
    const secret = await readOrUndefined(() => kube.core.readNamespacedSecret({ namespace, name: ref.name }), label);
    if (!secret) throw new HookFailedError(`${where}: ${label} not found`, { action: field });
    if (secret.metadata?.labels?.[HOOK_SECRET_LABEL] !== 'true') {
      throw new HookFailedError(
        `${where}: ${label} is not a hook secret; label it ${HOOK_SECRET_LABEL}: "true" to let hooks use it ` +
          `(kubectl label secret -n ${namespace} ${ref.name} ${HOOK_SECRET_LABEL}=true)`,
        { action: field },
      );
    }
    const encoded = secret.data?.[ref.key];
    const plain = secret.stringData?.[ref.key];
    if (encoded === undefined && plain === undefined) {
      throw new HookFailedError(`${where}: ${label} has no key "${ref.key}"`, { action: field });
    }
    // Header values cannot carry line breaks; a trailing newline from `echo > file` is the usual culprit.
    const raw = encoded !== undefined ? Buffer.from(encoded, 'base64').toString('utf8') : plain!;
    const value = raw.replace(/[\r\n]+$/, '');
    // Every form a hook's output is likely to carry it in: as read, trimmed, base64, URL-encoded.
    for (const form of new Set([raw, value, Buffer.from(value).toString('base64'), encodeURIComponent(value)])) secrets.push(form);
    out.push({ name: h.name, value });
  }
  return out;
}
