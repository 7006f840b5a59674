/**
 * The object semantics of kube-apiserver over the store: create (name/generateName, namespace
 * defaulting, uid, creationTimestamp, generation), update with optimistic concurrency (stale
 * resourceVersion → 409), patch, delete (finalizers hold an object with a deletionTimestamp),
 * and the status subresource rules (the main resource ignores `status`, `/status` ignores the
 * rest). Kind-specific behaviour is plugged in through `KindHooks`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './api-error.js';
import { applyPatch } from './patch.js';
import { apiVersionOf, storageKey, type ResourceDef } from './registry.js';
import type { KubeObject, Store } from './store.js';

/** Per-kind behaviour (admission and side effects), keyed by storage key. */
export interface KindHooks {
  /** Mutates or rejects an object about to be created. */
  prepareCreate?(obj: KubeObject, def: ResourceDef): void;
  /** Mutates or rejects an update; `old` is the stored object. */
  prepareUpdate?(obj: KubeObject, old: KubeObject, def: ResourceDef): void;
  /** Runs after an object is removed from the store. */
  afterDelete?(obj: KubeObject, def: ResourceDef): void;
  /**
   * Called on DELETE of an object without finalizers: returning an object stores it instead
   * (graceful deletion, e.g. a Terminating namespace); the hook removes it later itself.
   */
  deferDelete?(obj: KubeObject, def: ResourceDef): KubeObject | undefined;
}

/** Options of a write: `dryRun=All`, and whether it goes to `/status`. */
export interface WriteOptions {
  dryRun?: boolean;
  subresource?: 'status';
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The random suffix Kubernetes appends to `generateName` (5 characters, no vowels). */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += GENERATE_ALPHABET[b % GENERATE_ALPHABET.length];
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Everything but metadata and status: what bumps `generation` when it changes. */
function specPart(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/** Object semantics over the store; every REST verb and every controller writes through it. */
export class ObjectApi {
  private readonly hooks = new Map<string, KindHooks>();

  constructor(private readonly store: Store) {}

  /** Installs the hooks of one kind (by group and plural resource). */
  setHooks(group: string, resource: string, hooks: KindHooks): void {
    this.hooks.set(storageKey(group, resource), hooks);
  }

  private hooksFor(def: ResourceDef): KindHooks | undefined {
    return this.hooks.get(storageKey(def.group, def.resource));
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(storageKey(def.group, def.resource), def.namespaced ? namespace : undefined, name);
    if (!obj) throw notFound(def.group, def.resource, name);
    return obj;
  }

  private requireNamespace(def: ResourceDef, namespace: string | undefined): void {
    if (!def.namespaced) return;
    if (!namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const ns = this.store.get(storageKey('', 'namespaces'), undefined, namespace);
    if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
      });
    }
  }

  private checkBody(def: ResourceDef, body: unknown, namespace: string | undefined): KubeObject {
    if (!isObject(body)) throw badRequest(`the body of the request was not a ${def.kind} object`);
    const obj = body as KubeObject;
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(def)}) or kind ${String(obj.kind)} is not ${def.kind}`,
      );
    }
    if (obj.metadata !== undefined && !isObject(obj.metadata)) throw badRequest('metadata must be an object');
    obj.metadata = { ...(obj.metadata ?? {}) };
    if (def.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace ?? obj.metadata.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    return obj;
  }

  private validateMeta(def: ResourceDef, obj: KubeObject): void {
    const name = obj.metadata.name ?? '';
    const causes: Array<{ field: string; message: string }> = [];
    const re = def.resource === 'namespaces' ? LABEL_NAME_RE : NAME_RE;
    if (name.length > 253 || !re.test(name)) {
      causes.push({
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      });
    }
    for (const field of ['labels', 'annotations'] as const) {
      const m = obj.metadata[field];
      if (m === undefined || m === null) continue;
      if (!isObject(m) || Object.values(m).some((v) => typeof v !== 'string')) {
        causes.push({ field: `metadata.${field}`, message: 'Invalid value: must be a map of strings' });
      }
    }
    if (causes.length) throw invalid(def.kind, name, causes);
  }

  create(def: ResourceDef, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): KubeObject {
    const obj = this.checkBody(def, structuredClone(body), namespace);
    this.requireNamespace(def, obj.metadata.namespace);
    const key = storageKey(def.group, def.resource);
    if (!obj.metadata.name) {
      if (!obj.metadata.generateName) {
        throw invalid(def.kind, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
      }
      do obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
      while (this.store.get(key, obj.metadata.namespace, obj.metadata.name));
    }
    this.validateMeta(def, obj);
    if (this.store.get(key, obj.metadata.namespace, obj.metadata.name)) throw alreadyExists(def.group, def.resource, obj.metadata.name);
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.generation = 1;
    delete obj.metadata.resourceVersion;
    delete obj.metadata.deletionTimestamp;
    // Status is the server's and controllers' to write, never the creator's (kube-apiserver's
    // PrepareForCreate); kind hooks (pods, namespaces, CRDs) set the initial one.
    if (def.statusSubresource) delete obj.status;
    this.hooksFor(def)?.prepareCreate?.(obj, def);
    if (opts.dryRun) return { ...obj, metadata: { ...obj.metadata } };
    return this.store.create(key, obj);
  }

  /** PUT of the object or its status. */
  replace(def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KubeObject {
    const obj = this.checkBody(def, structuredClone(body), namespace);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    const old = this.get(def, namespace, name);
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      // kube-apiserver requires resourceVersion on update for most kinds; an unconditional
      // update is allowed for custom resources and a few built-ins, so we allow it everywhere.
    } else if (rv !== old.metadata.resourceVersion) {
      throw conflict(def.group, def.resource, name);
    }
    return this.write(def, old, obj, opts);
  }

  /** PATCH of the object or its status. */
  patch(def: ResourceDef, namespace: string | undefined, name: string, contentType: string, patchBody: unknown, opts: WriteOptions = {}): KubeObject {
    const old = this.get(def, namespace, name);
    const patched = applyPatch(contentType, old, patchBody, def.strategic);
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    const obj = this.checkBody(def, patched, namespace);
    if (obj.metadata.name !== name) throw badRequest('the name of the object cannot be changed by a patch');
    // A patch conflicts only if it names a resourceVersion itself.
    const patchRv = isObject(patchBody) && isObject(patchBody.metadata) ? patchBody.metadata.resourceVersion : undefined;
    if (patchRv !== undefined && patchRv !== null && patchRv !== old.metadata.resourceVersion) {
      throw conflict(def.group, def.resource, name);
    }
    return this.write(def, old, obj, opts);
  }

  private write(def: ResourceDef, old: KubeObject, incoming: KubeObject, opts: WriteOptions): KubeObject {
    let obj: KubeObject;
    if (opts.subresource === 'status') {
      // `/status` takes the status and nothing else.
      obj = { ...old, metadata: { ...old.metadata } };
      if (incoming.status === undefined) delete obj.status;
      else obj.status = incoming.status;
    } else {
      obj = incoming;
      if (def.statusSubresource) {
        if (old.status === undefined) delete obj.status;
        else obj.status = old.status;
      }
      // System fields are the server's, whatever the client sent.
      obj.metadata = {
        ...obj.metadata,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        generation: old.metadata.generation,
        namespace: old.metadata.namespace,
      };
      if (old.metadata.deletionTimestamp) obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      else delete obj.metadata.deletionTimestamp;
      if (specPart(obj) !== specPart(old)) obj.metadata.generation = (old.metadata.generation ?? 1) + 1;
      this.validateMeta(def, obj);
    }
    this.hooksFor(def)?.prepareUpdate?.(obj, old, def);
    if (opts.dryRun) return obj;
    const key = storageKey(def.group, def.resource);
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0) {
      return this.remove(def, obj) ?? obj;
    }
    // A no-op write keeps the resourceVersion and emits nothing, as in kube-apiserver.
    if (
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } }) ===
      JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: undefined } })
    ) {
      return old;
    }
    return this.store.update(key, obj);
  }

  /** DELETE: finalizers turn it into setting deletionTimestamp. Returns the object as last seen. */
  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions & { preconditionRv?: string; preconditionUid?: string } = {},
  ): KubeObject {
    const old = this.get(def, namespace, name);
    if (opts.preconditionRv && opts.preconditionRv !== old.metadata.resourceVersion) throw conflict(def.group, def.resource, name);
    if (opts.preconditionUid && opts.preconditionUid !== old.metadata.uid) throw conflict(def.group, def.resource, name);
    if (opts.dryRun) return old;
    if ((old.metadata.finalizers ?? []).length > 0) {
      if (old.metadata.deletionTimestamp) return old;
      const obj = { ...old, metadata: { ...old.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } };
      return this.store.update(storageKey(def.group, def.resource), obj);
    }
    if (!old.metadata.deletionTimestamp) {
      const deferred = this.hooksFor(def)?.deferDelete?.(old, def);
      if (deferred) return this.store.update(storageKey(def.group, def.resource), deferred);
    } else if (this.hooksFor(def)?.deferDelete) {
      return old; // already terminating
    }
    return this.remove(def, old) ?? old;
  }

  /** Removes an object now, finalizers or not (namespace deletion, garbage collection). */
  forceDelete(def: ResourceDef, obj: KubeObject): KubeObject | undefined {
    return this.remove(def, obj);
  }

  private remove(def: ResourceDef, obj: KubeObject): KubeObject | undefined {
    const gone = this.store.delete(storageKey(def.group, def.resource), obj.metadata.namespace, obj.metadata.name!);
    if (gone) this.hooksFor(def)?.afterDelete?.(gone, def);
    return gone;
  }
}
