/**
 * Owner-reference garbage collection (background propagation): when an object is deleted, the
 * objects that name it in `ownerReferences` are deleted too — a Deployment takes its
 * ReplicaSets, they take their Pods.
 */
import type { ObjectApi } from '../crud.js';
import type { Registry } from '../registry.js';
import type { Store, StoreEvent } from '../store.js';
import type { WorkQueue } from './work-queue.js';

interface Dependent {
  key: string;
  namespace?: string;
  name: string;
}

/** Deletes dependents when their owner is deleted; fed every store event through `observe`. */
export class GarbageCollector {
  /** owner uid → dependents, kept from the event stream so a delete never scans the store. */
  private readonly dependents = new Map<string, Map<string, Dependent>>();

  constructor(
    private readonly store: Store,
    private readonly api: ObjectApi,
    private readonly registry: Registry,
    private readonly queue: WorkQueue,
  ) {}

  observe(ev: StoreEvent): void {
    const id = `${ev.key}|${ev.object.metadata.namespace ?? ''}|${ev.object.metadata.name}`;
    const dep: Dependent = { key: ev.key, namespace: ev.object.metadata.namespace, name: ev.object.metadata.name! };
    for (const ref of ev.previous?.metadata.ownerReferences ?? []) this.dependents.get(ref.uid)?.delete(id);
    if (ev.type === 'DELETED') {
      for (const ref of ev.object.metadata.ownerReferences ?? []) this.dependents.get(ref.uid)?.delete(id);
      const uid = ev.object.metadata.uid;
      if (uid && this.dependents.has(uid)) this.queue.add(`gc|${uid}`, () => this.collect(uid));
      return;
    }
    for (const ref of ev.object.metadata.ownerReferences ?? []) {
      let m = this.dependents.get(ref.uid);
      if (!m) this.dependents.set(ref.uid, (m = new Map()));
      m.set(id, dep);
    }
  }

  private collect(uid: string): void {
    const deps = this.dependents.get(uid);
    this.dependents.delete(uid);
    for (const d of deps?.values() ?? []) {
      const obj = this.store.get(d.key, d.namespace, d.name);
      if (!obj || !(obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      const i = d.key.lastIndexOf('/');
      const def = this.registry.anyVersion(d.key.slice(0, i), d.key.slice(i + 1));
      if (def) this.api.forceDelete(def, obj);
    }
  }
}
