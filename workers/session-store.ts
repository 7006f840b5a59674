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
import { isTerminal, type Invoker } from '../shared/session-state.js';
import { withKeepAlive } from '../shared/kube-keep-alive.js';

const MAX_CONFLICT_RETRIES = 20;
/** In-place retries of a status write answered 5xx/429 (about 3 s in all) before the job fails. */
const MAX_TRANSIENT_RETRIES = 6;

export type EventType = 'Normal' | 'Warning';

interface PendingWrite {
  mutate: (session: Session) => boolean;
  /** A copy of the session the caller read just now: the first attempt writes over it instead of reading again. */
  base?: Session;
  resolve: (session: Session | undefined) => void;
  reject: (err: unknown) => void;
}

interface WriteQueue {
  ref: SessionRef;
  pending: PendingWrite[];
  running: boolean;
}

export class SessionStore {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  /** Status writes per session, coalesced (see `updateStatus`). */
  private readonly writes = new Map<string, WriteQueue>();

  /** Found invokers, briefly (see `getInvoker`). */
  private readonly invokers = new Map<string, { at: number; value: Promise<Invoker | undefined> }>();
  private readonly invokerTtlMs: number;

  /** `invokerTtlMs`: how long a found invoker is reused (default 1000; 0 reads every time). */
  constructor(kubeConfig: KubeConfig, options: { invokerTtlMs?: number } = {}) {
    this.invokerTtlMs = options.invokerTtlMs ?? 1000;
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

  /**
   * The invoker of a BackupSession (BackupConfiguration or BackupBatch); a RestoreSession is its own.
   *
   * Found invokers are cached for `invokerTtlMs` (and concurrent reads share one request): every
   * hook job and coordinator step of every session reads its invoker, and a 1,000-member
   * BackupBatch is read thousands of times while it runs. The trade-off against DESIGN §6's fresh
   * read: an edit of an invoker's hooks reaches jobs that start at most `invokerTtlMs` later.
   * The session itself is always read fresh (conditions decide exactly-once). Absence is not
   * cached, so a session created just before its invoker finds it on the next read.
   */
  async getInvoker(session: Session): Promise<Invoker | undefined> {
    if (session.kind === 'RestoreSession') return session as Invoker;
    const invoker = (session as BackupSession).spec.invoker;
    if (!invoker?.name || (invoker.kind !== 'BackupConfiguration' && invoker.kind !== 'BackupBatch')) return undefined;
    const namespace = session.metadata.namespace!;
    const key = `${invoker.kind}/${namespace}/${invoker.name}`;
    const now = Date.now();
    const hit = this.invokers.get(key);
    if (hit && now - hit.at < this.invokerTtlMs) return hit.value;
    const plural = invoker.kind === 'BackupConfiguration' ? StashResource.BackupConfiguration : StashResource.BackupBatch;
    const value = getOrUndefined(
      () => this.custom.getNamespacedCustomObject({ group: STASH_GROUP, version: STASH_VERSION, namespace, plural, name: invoker.name }),
      `reading ${invoker.kind} ${namespace}/${invoker.name}`,
    ).then((obj) => (obj ? ({ ...(obj as object), kind: invoker.kind } as Invoker) : undefined));
    this.invokers.set(key, { at: now, value });
    value.then(
      (v) => {
        if (v === undefined && this.invokers.get(key)?.value === value) this.invokers.delete(key);
      },
      () => {
        if (this.invokers.get(key)?.value === value) this.invokers.delete(key);
      },
    );
    if (this.invokers.size > 10_000) for (const [k, e] of this.invokers) if (now - e.at >= this.invokerTtlMs) this.invokers.delete(k);
    return value;
  }

  /**
   * Applies `mutate` to a fresh copy of the session and writes its status; `mutate` returns false
   * to write nothing. Retries on 409. Resolves to the session as written (or as read, unchanged),
   * or undefined when the session is gone.
   *
   * Writes to one session from this process are coalesced: while a write is in flight, further
   * mutations queue up and go out together in the next read-modify-write. Without this, the
   * hook jobs of a large BackupBatch (every member's conditions live in the one session) each
   * raced a full read + PUT of the whole object and most lost on 409 (docs/performance.md).
   */
  updateStatus(ref: SessionRef, mutate: (session: Session) => boolean, options: { base?: Session } = {}): Promise<Session | undefined> {
    const key = `${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid}`;
    return new Promise((resolve, reject) => {
      let q = this.writes.get(key);
      if (!q) {
        q = { ref, pending: [], running: false };
        this.writes.set(key, q);
      }
      q.pending.push({ mutate, resolve, reject, base: options.base });
      if (!q.running) void this.drain(key, q);
    });
  }

  private async drain(key: string, q: WriteQueue): Promise<void> {
    q.running = true;
    try {
      while (q.pending.length > 0) {
        const batch = q.pending.splice(0);
        try {
          const settled = await this.writeBatch(q.ref, batch);
          for (const [w, value] of settled) w.resolve(value);
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      q.running = false;
      if (q.pending.length === 0) this.writes.delete(key);
      else void this.drain(key, q);
    }
  }

  /** One read-modify-write carrying every mutation of `batch`; a mutation that throws fails alone. */
  private async writeBatch(ref: SessionRef, batch: PendingWrite[]): Promise<Map<PendingWrite, Session | undefined>> {
    const plural = SessionStore.plural(ref.kind);
    const out = new Map<PendingWrite, Session | undefined>();
    let live = batch;
    let transientRetries = 0;
    // A caller's fresh read saves this write's own read; a stale one costs a 409 and a read.
    let base = batch.length === 1 && batch[0].base?.metadata?.uid === ref.uid ? batch[0].base : undefined;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const session = base ?? (await this.getSession(ref));
      base = undefined;
      if (!session) {
        for (const w of live) out.set(w, undefined);
        return out;
      }
      // DESIGN §4: a Succeeded/Failed/Skipped session is never touched. Checked on the fresh read,
      // inside the write loop: a late release (read before finalize wrote the phase) used to
      // apply initiateSession to the finalized session and set it back to Running (chaos run 6).
      if (isTerminal(session)) {
        for (const w of live) out.set(w, session);
        return out;
      }
      const copy = structuredClone(session);
      copy.status ??= {};
      let changed = false;
      const failed: PendingWrite[] = [];
      for (const w of live) {
        try {
          changed = w.mutate(copy) || changed;
        } catch (err) {
          w.reject(err);
          failed.push(w);
        }
      }
      if (failed.length > 0) {
        // The failed mutation may have half-changed the copy: start over without it.
        live = live.filter((w) => !failed.includes(w));
        attempt--;
        continue;
      }
      if (!changed) {
        for (const w of live) out.set(w, session);
        return out;
      }
      try {
        const written = await this.custom.replaceNamespacedCustomObjectStatus({
          group: STASH_GROUP,
          version: STASH_VERSION,
          namespace: ref.namespace,
          plural,
          name: ref.name,
          body: copy,
        });
        const result = { ...(written as Session), kind: ref.kind } as Session;
        for (const w of live) out.set(w, result);
        return out;
      } catch (err) {
        const code = apiStatusCode(err);
        if (code === 409) continue;
        // A 5xx/429 on the write after a hook ran used to fail the job, and BullMQ's retry ran the
        // hook a second time (issue 8 chaos run: 70 duplicates under 5% write 500s). Retry in place.
        // A network error (no status: reset, refused) after the hook ran is transient in the same way.
        if ((code === undefined || code >= 500 || code === 429) && transientRetries < MAX_TRANSIENT_RETRIES) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** transientRetries++));
          attempt--;
          continue;
        }
        if (code === 404) {
          for (const w of live) out.set(w, undefined);
          return out;
        }
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
