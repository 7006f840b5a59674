/**
 * Namespace confinement (DESIGN §11): a hook acts in its invoker's namespace. Another namespace —
 * `executor.pod.namespace`, `target.ref.namespace`, a BackupBatch member elsewhere — is reached
 * only when that Namespace opts in for the invoker's namespace with the annotation
 * {@link ALLOWED_SOURCES_ANNOTATION} (a comma-separated list of source namespaces, or `*`), the
 * model of KubeStash's `usagePolicy.allowedNamespaces` (kubestash/apimachinery
 * `apis/storage/v1alpha1/types.go`: the target side says who may use it, never the user). A
 * protected namespace (stash-hooks' own, `kube-system`, `--protected-namespaces`) is never reached
 * from another namespace, opt-in or not: exec there would read stash-hooks' Redis password.
 *
 * This is the one place the rule lives; targeting, exec and secret reads call it.
 */
import { NamespaceDeniedError, TargetError } from '../../shared/errors.js';
import type { Handler } from '../../shared/resources.js';
import { readOrUndefined } from './kube-read.js';
import type { HookContext, KubeAccess } from './types.js';

/** The annotation on a Namespace that lists the namespaces whose hooks may act in it (or `*`). */
export const ALLOWED_SOURCES_ANNOTATION = 'stash-hooks.dev/allowed-source-namespaces';

/** Protected namespaces when the worker is given none. */
export const DEFAULT_PROTECTED_NAMESPACES: readonly string[] = ['kube-system'];

/** The namespaces an annotation value admits; `*` admits every namespace. */
export function parseAllowedSources(value: string | undefined): { any: boolean; names: Set<string> } {
  const names = new Set(
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return { any: names.has('*'), names };
}

/**
 * The namespace the hook's placement reads and acts in (targeting.ts resolves it the same way),
 * and the field that points there, for messages.
 */
export function placementNamespace(handler: Handler, ctx: HookContext): { namespace: string; field: string } {
  const exe = handler.executor?.pod;
  if (exe) return { namespace: exe.namespace || ctx.namespace, field: 'executor.pod.namespace' };
  const t = ctx.target;
  const namespace = t?.namespace || ctx.namespace;
  return { namespace, field: t ? `target ${t.kind} ${namespace}/${t.name}` : 'the session' };
}

/**
 * Decides, once per namespace for one hook run, whether a hook invoked in `source` may act in a
 * namespace. Construct one per hook run: an opt-in removed between runs takes effect on the next.
 */
export class NamespaceGuard {
  private readonly decided = new Map<string, Promise<void>>();
  private readonly protectedNamespaces: ReadonlySet<string>;

  constructor(
    private readonly kube: KubeAccess,
    /** The invoker's namespace: the session's. */
    private readonly source: string,
    protectedNamespaces: readonly string[] = DEFAULT_PROTECTED_NAMESPACES,
  ) {
    this.protectedNamespaces = new Set(protectedNamespaces);
  }

  /**
   * Resolves when the hook may act in `namespace`; rejects with {@link NamespaceDeniedError}
   * naming both namespaces and the opt-in, before anything is read from or done in it. `what`
   * names the field that points there (e.g. `executor.pod.namespace`).
   */
  check(namespace: string, what: string): Promise<void> {
    if (namespace === this.source) return Promise.resolve();
    let decision = this.decided.get(namespace);
    if (!decision) {
      decision = this.decide(namespace, what);
      this.decided.set(namespace, decision);
    }
    return decision;
  }

  private async decide(namespace: string, what: string): Promise<void> {
    const from = `hooks of namespace "${this.source}"`;
    if (this.protectedNamespaces.has(namespace)) {
      throw new NamespaceDeniedError(
        `${what}: namespace "${namespace}" is protected (--protected-namespaces): ${from} never act there, whatever its ${ALLOWED_SOURCES_ANNOTATION} annotation says`,
      );
    }
    const ns = await readOrUndefined(() => this.kube.core.readNamespace({ name: namespace }), `Namespace ${namespace}`);
    if (!ns) throw new TargetError(`${what}: namespace "${namespace}" not found`);
    const allowed = parseAllowedSources(ns.metadata?.annotations?.[ALLOWED_SOURCES_ANNOTATION]);
    if (allowed.any || allowed.names.has(this.source)) return;
    throw new NamespaceDeniedError(
      `${what}: namespace "${namespace}" has not opted in to ${from}; to allow it, annotate Namespace ${namespace} with ` +
        `${ALLOWED_SOURCES_ANNOTATION}: "${[...allowed.names, this.source].join(',')}" (or "*" for every namespace)`,
    );
  }
}
