/**
 * Reading sessions and invokers and writing their status: the only place workers/ touch the
 * Stash resources. Status writes are read-modify-write with the resourceVersion read (PUT on
 * `/status`), retried on 409 with a fresh read, so concurrent workers writing conditions of
 * different targets never lose each other's work (DESIGN §6 "optimistic concurrency").
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { apiStatusCode, getOrUndefined, kubeError } from '../shared/kube-api.js';
import type { SessionRef } from '../shared/queues.js';
import { STASH_GROUP, STASH_VERSION, StashResource, type BackupSession, type Session } from '../shared/resources.js';
import type { Invoker } from '../shared/session-state.js';
import { withKeepAlive } from './kube-keep-alive.js';

const MAX_CONFLICT_RETRIES = 20;

export type EventType = 'Normal' | 'Warning';

export class SessionStore {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    // One keep-alive connection pool: client-node would otherwise connect anew for every call.
    const kc = withKeepAlive(kubeConfig);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private static plural(kind: SessionRef['kind']): string {
    return kind === 'BackupSession' ? StashResource.BackupSession : StashResource.RestoreSession;
  }

  /** The session, or undefined when it is gone (or was re-created with another uid). */
  async getSession(ref: SessionRef): Promise<Session | undefined> {
    const plural = SessionStore.plural(ref.kind);
    const obj = await getOrUndefined(
      () => this.custom.getNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace: ref.namespace, plural, name: ref.name }),
      `reading ${ref.kind} ${ref.namespace}/${ref.name}`,
    );
    const session = obj as Session | undefined;
    if (!session || session.metadata?.uid !== ref.uid) return undefined;
    return { ...session, kind: ref.kind } as Session;
  }

  /** The invoker of a BackupSession (BackupConfiguration or BackupBatch); a RestoreSession is its own. */
  async getInvoker(session: Session): Promise<Invoker | undefined> {
    if (session.kind === 'RestoreSession') return session as Invoker;
    const invoker = (session as BackupSession).spec.invoker;
    if (!invoker?.name || (invoker.kind !== 'BackupConfiguration' && invoker.kind !== 'BackupBatch')) return undefined;
    const plural = invoker.kind === 'BackupConfiguration' ? StashResource.BackupConfiguration : StashResource.BackupBatch;
    const namespace = session.metadata.namespace!;
    const obj = await getOrUndefined(
      () => this.custom.getNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace, plural, name: invoker.name }),
      `reading ${invoker.kind} ${namespace}/${invoker.name}`,
    );
    return obj ? ({ ...(obj as object), kind: invoker.kind } as Invoker) : undefined;
  }

  /**
   * Applies `mutate` to a fresh copy of the session and writes its status; `mutate` returns false
   * to write nothing. Retries on 409. Resolves to the session as written (or as read, unchanged),
   * or undefined when the session is gone.
   */
  async updateStatus(ref: SessionRef, mutate: (session: Session) => boolean): Promise<Session | undefined> {
    const plural = SessionStore.plural(ref.kind);
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const session = await this.getSession(ref);
      if (!session) return undefined;
      const copy = structuredClone(session);
      copy.status ??= {};
      if (!mutate(copy)) return session;
      try {
        const written = await this.custom.replaceNamespacedCustomObjectStatus({
          group: STASH_GROUP,
          version: STASH_VERSION,
          namespace: ref.namespace,
          plural,
          name: ref.name,
          body: copy,
        });
        return { ...(written as Session), kind: ref.kind } as Session;
      } catch (err) {
        const code = apiStatusCode(err);
        if (code === 409) continue;
        if (code === 404) return undefined;
        throw kubeError(err, `writing the status of ${ref.kind} ${ref.namespace}/${ref.name}`);
      }
    }
    throw kubeError(new Error(`still conflicting after ${MAX_CONFLICT_RETRIES} attempts`), `writing the status of ${ref.kind} ${ref.namespace}/${ref.name}`);
  }

  /** Records a Kubernetes Event on the session; failures are reported to the caller, never thrown. */
  async emitEvent(ref: SessionRef, type: EventType, reason: string, message: string): Promise<Error | undefined> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { name: `${ref.name}.${randomUUID().slice(0, 8)}`, namespace: ref.namespace },
          involvedObject: { apiVersion: `${STASH_GROUP}/${STASH_VERSION}`, kind: ref.kind, name: ref.name, namespace: ref.namespace, uid: ref.uid },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: 'stash-hooks' },
          reportingComponent: 'stash-hooks',
          reportingInstance: 'stash-hooks',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      return undefined;
    } catch (err) {
      return kubeError(err, `recording an Event on ${ref.kind} ${ref.namespace}/${ref.name}`);
    }
  }
}
