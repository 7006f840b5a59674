/**
 * `httpHeaders[].valueFrom.secretKeyRef` (our addition, DESIGN §3): read at run time from the
 * Secret in the session's namespace, so no secret ever sits in a job, Redis or a log. Every value
 * read is added to the caller's redaction list.
 */
import { HookFailedError } from '../../shared/errors.js';
import type { HTTPHeader } from '../../shared/resources.js';
import { readOrUndefined } from './kube-read.js';
import type { KubeAccess } from './types.js';

/** Resolves each header to `{name, value}`; pushes secret values onto `secrets`. */
export async function resolveHeaders(
  headers: readonly HTTPHeader[] | undefined,
  field: string,
  namespace: string,
  kube: KubeAccess,
  secrets: string[],
): Promise<Array<{ name: string; value: string }>> {
  const out: Array<{ name: string; value: string }> = [];
  for (const [i, h] of (headers ?? []).entries()) {
    const ref = h.valueFrom?.secretKeyRef;
    if (!ref) {
      out.push({ name: h.name, value: h.value ?? '' });
      continue;
    }
    const where = `${field}.httpHeaders[${i}] (${h.name})`;
    const secret = await readOrUndefined(() => kube.core.readNamespacedSecret({ namespace, name: ref.name }), `Secret ${namespace}/${ref.name}`);
    if (!secret) throw new HookFailedError(`${where}: Secret ${namespace}/${ref.name} not found`, { action: field as 'httpGet' | 'httpPost' });
    const encoded = secret.data?.[ref.key];
    const plain = secret.stringData?.[ref.key];
    if (encoded === undefined && plain === undefined) {
      throw new HookFailedError(`${where}: Secret ${namespace}/${ref.name} has no key "${ref.key}"`, { action: field as 'httpGet' | 'httpPost' });
    }
    // Header values cannot carry line breaks; a trailing newline from `echo > file` is the usual culprit.
    const value = (encoded !== undefined ? Buffer.from(encoded, 'base64').toString('utf8') : plain!).replace(/[\r\n]+$/, '');
    secrets.push(value);
    out.push({ name: h.name, value });
  }
  return out;
}
