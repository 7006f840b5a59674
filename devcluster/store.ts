/**
 * The in-memory object store: one process-wide monotonic resourceVersion, objects by storage key
 * (group/resource) and namespace/name, and a bounded history of change events so a watch can
 * resume from a resourceVersion (older than the history → 410 Expired, as kube-apiserver does).
 *
 * Stored objects are never mutated: every write stores a fresh object, so readers may keep and
 * serialise what they get without copying.
 */

/** The common shape of every stored object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMetadata;
  [field: string]: unknown;
}

/** `metav1.ObjectMeta`, as far as the server reads it. */
export interface ObjectMetadata {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
  finalizers?: string[];
  [field: string]: unknown;
}

/** The change types of watch events. */
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as kept in the history and fanned out to watchers. */
export interface StoreEvent {
  type: EventType;
  /** Storage key (`group/resource`). */
  key: string;
  rv: number;
  object: KubeObject;
  /** The object before a MODIFIED, so a selector watch can turn it into ADDED/DELETED. */
  previous?: KubeObject;
}

/** Called synchronously after each write. */
export type StoreListener = (event: StoreEvent) => void;

/** Options of {@link Store}. */
export interface StoreOptions {
  /** How many change events are kept for watch resumption. */
  historySize: number;
}

/** The object store; see the file comment. */
export class Store {
  private rv = 0;
  /** storage key → namespace ('' for cluster-scoped) → name → object. */
  private readonly data = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly history: StoreEvent[] = [];
  private historyStart = 0;
  private readonly listeners = new Set<StoreListener>();
  private readonly historySize: number;

  constructor(options: StoreOptions) {
    this.historySize = options.historySize;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Advances the counter; used for writes and for list responses of empty stores. */
  nextResourceVersion(): number {
    return ++this.rv;
  }

  /** Registers a listener called synchronously after every write. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bucket(key: string, namespace: string | undefined, create: boolean): Map<string, KubeObject> | undefined {
    let byNs = this.data.get(key);
    if (!byNs) {
      if (!create) return undefined;
      this.data.set(key, (byNs = new Map()));
    }
    const ns = namespace ?? '';
    let objects = byNs.get(ns);
    if (!objects && create) byNs.set(ns, (objects = new Map()));
    return objects;
  }

  get(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.bucket(key, namespace, false)?.get(name);
  }

  /** Objects of a storage key, in one namespace or all of them (namespaces are indexed). */
  list(key: string, namespace?: string): KubeObject[] {
    const byNs = this.data.get(key);
    if (!byNs) return [];
    if (namespace !== undefined) return [...(byNs.get(namespace)?.values() ?? [])];
    const out: KubeObject[] = [];
    for (const objects of byNs.values()) for (const obj of objects.values()) out.push(obj);
    return out;
  }

  /** Every namespaced storage key that holds objects in `namespace`. */
  keysInNamespace(namespace: string): string[] {
    const out: string[] = [];
    for (const [key, byNs] of this.data) if ((byNs.get(namespace)?.size ?? 0) > 0) out.push(key);
    return out;
  }

  /** Stores a new object (the caller has checked it does not exist) and emits ADDED. */
  create(key: string, obj: KubeObject): KubeObject {
    const rv = this.nextResourceVersion();
    const stored: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    this.bucket(key, stored.metadata.namespace, true)!.set(stored.metadata.name!, stored);
    this.emit({ type: 'ADDED', key, rv, object: stored });
    return stored;
  }

  /** Replaces an existing object and emits MODIFIED. */
  update(key: string, obj: KubeObject): KubeObject {
    const objects = this.bucket(key, obj.metadata.namespace, false);
    const previous = objects?.get(obj.metadata.name!);
    if (!objects || !previous) return this.create(key, obj);
    const rv = this.nextResourceVersion();
    const stored: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    objects.set(obj.metadata.name!, stored);
    this.emit({ type: 'MODIFIED', key, rv, object: stored, previous });
    return stored;
  }

  /** Removes an object; the DELETED event carries it with a new resourceVersion. */
  delete(key: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const objects = this.bucket(key, namespace, false);
    const current = objects?.get(name);
    if (!objects || !current) return undefined;
    objects.delete(name);
    const rv = this.nextResourceVersion();
    const gone: KubeObject = { ...current, metadata: { ...current.metadata, resourceVersion: String(rv) } };
    this.emit({ type: 'DELETED', key, rv, object: gone });
    return gone;
  }

  /** Drops every object of a storage key (a deleted CRD), emitting DELETED for each. */
  dropKey(key: string): void {
    for (const obj of this.list(key)) this.delete(key, obj.metadata.namespace, obj.metadata.name!);
    this.data.delete(key);
  }

  /**
   * Events of `key` after `rv`, or `undefined` when `rv` is older than the kept history (the
   * caller answers 410 Expired).
   */
  eventsSince(key: string, rv: number): StoreEvent[] | undefined {
    const count = this.history.length;
    if (count === 0) return [];
    const oldest = this.history[this.historyStart].rv;
    if (rv < oldest - 1) return undefined;
    // Binary search over the ring for the first event with a resourceVersion above rv.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[(this.historyStart + mid) % count].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < count; i++) {
      const ev = this.history[(this.historyStart + i) % count];
      if (ev.key === key) out.push(ev);
    }
    return out;
  }

  private emit(event: StoreEvent): void {
    if (this.history.length < this.historySize) {
      this.history.push(event);
    } else {
      this.history[this.historyStart] = event;
      this.historyStart = (this.historyStart + 1) % this.historySize;
    }
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A failing listener must not break the write path or other listeners.
      }
    }
  }
}
