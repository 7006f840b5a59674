/**
 * Coalesced, never-giving-up status writes for the executor simulator.
 *
 * Every target of a BackupBatch lives in the one session object, so per-target read + PUT cycles
 * race each other (and stash-hooks) on `resourceVersion`: with n targets that is O(n²) bytes and
 * 409 storms (docs/performance.md). Here the changes to one session queue up while a write is in
 * flight and go out together in one read-modify-write, as `workers/session-store.ts` does for the
 * product. Unlike the session store, a write is never abandoned while the session exists: a
 * target set Running whose completion was dropped would stay Running for ever.
 */
import { ApiException, type CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';

/** A change to a fresh copy of the session; returns false when it does not apply (nothing to write for it). */
export type StatusChange<T> = (obj: T) => boolean;

/** Thrown into pending writes when the writer is closed. */
export class WriterClosed extends Error {
  constructor() {
    super('status writer closed');
  }
}

/** Where a session lives; `uid` tells a re-created session apart. */
export interface SessionKey {
  plural: string;
  namespace: string;
  name: string;
  uid: string;
}

/** Options of {@link StatusWriter}. */
export interface StatusWriterOptions {
  custom: CustomObjectsApi;
  group: string;
  version: string;
  log: (line: string) => void;
  /** Longest pause between retries of a failed write (default 2000 ms). */
  maxBackoffMs?: number;
}

interface Pending<T> {
  change: StatusChange<T>;
  resolve: (applied: boolean) => void;
  reject: (err: unknown) => void;
}

interface Queue {
  key: SessionKey;
  pending: Array<Pending<never>>;
  running: boolean;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Coalesces status writes per session; see the file comment. */
export class StatusWriter {
  private readonly queues = new Map<string, Queue>();
  private readonly maxBackoffMs: number;
  private readonly wakers = new Set<() => void>();
  private closed = false;
  /** Writes that went out, and attempts lost to 409 / other errors (for logs and tests). */
  readonly counts = { writes: 0, changes: 0, conflicts: 0, errors: 0 };

  constructor(private readonly options: StatusWriterOptions) {
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
  }

  /**
   * Applies `change` to a fresh copy of the session and writes its status, together with every
   * other change queued for the same session meanwhile. Resolves true once a write carrying the
   * change succeeded, false when the change did not apply or the session is gone (404 or another
   * uid). Conflicts and errors are retried until then; rejects only with {@link WriterClosed}.
   */
  update<T extends object>(key: SessionKey, change: StatusChange<T>): Promise<boolean> {
    if (this.closed) return Promise.reject(new WriterClosed());
    const id = `${key.plural}/${key.namespace}/${key.name}/${key.uid}`;
    return new Promise((resolve, reject) => {
      let q = this.queues.get(id);
      if (!q) {
        q = { key, pending: [], running: false };
        this.queues.set(id, q);
      }
      q.pending.push({ change: change as StatusChange<never>, resolve, reject });
      if (!q.running) void this.drain(id, q);
    });
  }

  /** Rejects every queued write with {@link WriterClosed} and wakes the ones backing off. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
    for (const q of this.queues.values()) for (const p of q.pending.splice(0)) p.reject(new WriterClosed());
  }

  private async drain(id: string, q: Queue): Promise<void> {
    q.running = true;
    let live: Array<Pending<never>> = [];
    let failures = 0;
    try {
      while (!this.closed && (live.length > 0 || q.pending.length > 0)) {
        // Changes that arrived during the last attempt ride along with the retry.
        live = live.concat(q.pending.splice(0));
        const outcome = await this.attempt(q.key, live);
        live = outcome.left;
        if (outcome.error === undefined) failures = 0;
        else {
          const err = outcome.error;
          const code = statusCode(err);
          if (code === 409) {
            this.counts.conflicts++;
            // A hot session (stash-hooks writing it too): retry at once a few times, then spread out.
            if (++failures > 5) await this.pause(Math.min(this.maxBackoffMs, 10 * failures) * Math.random());
            continue;
          }
          this.counts.errors++;
          failures++;
          if (failures === 1 || failures % 10 === 0) {
            this.options.log(
              `devcluster executor: writing ${q.key.plural} ${q.key.namespace}/${q.key.name} failed (${failures}×), retrying: ${(err as Error)?.message ?? String(err)}`,
            );
          }
          await this.pause(Math.min(this.maxBackoffMs, 50 * 2 ** Math.min(failures, 10)));
        }
      }
    } finally {
      q.running = false;
      for (const p of live) p.reject(new WriterClosed());
      if (this.closed) for (const p of q.pending.splice(0)) p.reject(new WriterClosed());
      if (q.pending.length === 0) this.queues.delete(id);
      else void this.drain(id, q);
    }
  }

  /**
   * One read-modify-write of `live`: settles every change it decides, and returns the ones left
   * (those that applied to a write that failed) with the error. A 404 on the read or the write
   * means the session is gone: every change resolves false.
   */
  private async attempt(key: SessionKey, live: Array<Pending<never>>): Promise<{ left: Array<Pending<never>>; error?: unknown }> {
    const { custom, group, version } = this.options;
    const ref = { group, version, namespace: key.namespace, plural: key.plural, name: key.name };
    let obj: KubernetesObject & { status?: object };
    try {
      obj = (await custom.getNamespacedCustomObject(ref)) as typeof obj;
    } catch (err) {
      if (statusCode(err) !== 404) return { left: live, error: err };
      for (const p of live) p.resolve(false);
      return { left: [] };
    }
    if (obj.metadata?.uid !== key.uid) {
      for (const p of live) p.resolve(false);
      return { left: [] };
    }
    obj.status ??= {};
    const applied: Array<Pending<never>> = [];
    for (const p of live) {
      let ok = false;
      try {
        ok = p.change(obj as never);
      } catch {
        // A change that throws on garbage in the status (anyone may write it) simply does not apply.
        ok = false;
      }
      if (ok) applied.push(p);
      else p.resolve(false);
    }
    if (applied.length === 0) return { left: [] };
    try {
      await custom.replaceNamespacedCustomObjectStatus({ ...ref, body: obj });
    } catch (err) {
      // Not written: the applied changes are judged again on the next fresh read.
      if (statusCode(err) !== 404) return { left: applied, error: err };
      for (const p of applied) p.resolve(false);
      return { left: [] };
    }
    this.counts.writes++;
    this.counts.changes += applied.length;
    for (const p of applied) p.resolve(true);
    return { left: [] };
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const wake = (): void => {
        clearTimeout(t);
        this.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
