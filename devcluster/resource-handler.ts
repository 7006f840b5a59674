/**
 * REST verbs on a resource path: list (with selectors, `limit`/`continue`) and watch on
 * collections, get/put/patch/delete on objects and their `status`, create and deletecollection.
 * Tables are returned when the client asks for them (`kubectl get`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './api-error.js';
import { applyPatch } from './patch.js';
import type { ObjectApi } from './crud.js';
import { makeObjectFilter } from './filters.js';
import { apiVersionOf, storageKey, type ResourceDef } from './registry.js';
import type { KubeObject, Store } from './store.js';
import { toTable, wantsTable } from './table.js';
import type { WatchHub } from './watch-hub.js';

/** A parsed resource request. */
export interface ResourceRequest {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  method: string;
  accept?: string;
  contentType: string;
  /** Parsed JSON body (for writes). */
  body: unknown;
}

/** What the verb handlers work on. */
export interface ResourceHandlerContext {
  store: Store;
  api: ObjectApi;
  watches: WatchHub;
}

/** A response body and its status code; `undefined` when the handler wrote the response itself. */
export type HandlerResult = { code: number; body: unknown } | undefined;

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function compareObjects(a: KubeObject, b: KubeObject): number {
  const na = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const nb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function decodeContinue(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
    if (typeof v.start === 'number' && v.start >= 0) return v.start;
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** Serves one resource request; returns the response to send, or undefined when it streams (watch). */
export function handleResource(ctx: ResourceHandlerContext, r: ResourceRequest, res: ServerResponse, req: IncomingMessage): HandlerResult {
  const { def, query } = r;
  const dryRun = query.get('dryRun') === 'All';
  if (r.subresource !== undefined) return handleSubresource(ctx, r, dryRun);
  if (r.name === undefined) {
    switch (r.method) {
      case 'GET': {
        const filter = makeObjectFilter(def, r.namespace, query.get('labelSelector'), query.get('fieldSelector'));
        if (isTrue(query.get('watch'))) {
          const timeout = query.get('timeoutSeconds');
          ctx.watches.serve(
            {
              def,
              filter,
              resourceVersion: query.get('resourceVersion') ?? undefined,
              bookmarks: isTrue(query.get('allowWatchBookmarks')),
              timeoutSeconds: timeout ? Number(timeout) : undefined,
              table: wantsTable(r.accept) ? query.get('includeObject') : undefined,
            },
            res,
          );
          req.socket.setTimeout(0);
          return undefined;
        }
        return { code: 200, body: list(ctx, r, filter) };
      }
      case 'POST':
        if (def.namespaced && r.namespace === undefined)
          throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        return { code: 201, body: ctx.api.create(def, r.namespace, r.body, { dryRun }) };
      case 'DELETE': {
        const filter = makeObjectFilter(def, r.namespace, query.get('labelSelector'), query.get('fieldSelector'));
        const items = ctx.store.list(storageKey(def.group, def.resource), r.namespace).filter(filter);
        const deleted = items.map((o) => ctx.api.delete(def, o.metadata.namespace, o.metadata.name!, { dryRun }));
        return {
          code: 200,
          body: { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(ctx.store.resourceVersion) }, items: deleted },
        };
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }
  switch (r.method) {
    case 'GET': {
      const obj = ctx.api.get(def, r.namespace, r.name);
      return { code: 200, body: wantsTable(r.accept) ? toTable(def, [obj], query.get('includeObject'), obj.metadata.resourceVersion) : withVersion(def, obj) };
    }
    case 'PUT':
      return { code: 200, body: ctx.api.replace(def, r.namespace, r.name, r.body, { dryRun }) };
    case 'PATCH':
      return { code: 200, body: ctx.api.patch(def, r.namespace, r.name, r.contentType, r.body, { dryRun }) };
    case 'DELETE': {
      const opts = (r.body && typeof r.body === 'object' ? r.body : {}) as { preconditions?: { resourceVersion?: string; uid?: string } };
      return {
        code: 200,
        body: ctx.api.delete(def, r.namespace, r.name, {
          dryRun,
          preconditionRv: opts.preconditions?.resourceVersion,
          preconditionUid: opts.preconditions?.uid,
        }),
      };
    }
    default:
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }
}

function withVersion(def: ResourceDef, obj: KubeObject): KubeObject {
  const apiVersion = apiVersionOf(def);
  return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
}

function list(ctx: ResourceHandlerContext, r: ResourceRequest, filter: (o: KubeObject) => boolean): unknown {
  const { def, query } = r;
  const rv = String(ctx.store.resourceVersion);
  let items = ctx.store.list(storageKey(def.group, def.resource), r.namespace).filter(filter).sort(compareObjects);
  const limit = Number(query.get('limit') ?? 0);
  const cont = query.get('continue');
  const start = cont ? decodeContinue(cont) : 0;
  let next: string | undefined;
  if (start > 0) items = items.slice(start);
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    items = items.slice(0, limit);
    next = Buffer.from(JSON.stringify({ start: start + limit })).toString('base64url');
  }
  if (wantsTable(r.accept)) {
    const table = toTable(def, items, query.get('includeObject'), rv);
    if (next) (table.metadata as Record<string, unknown>).continue = next;
    return table;
  }
  const metadata: Record<string, unknown> = { resourceVersion: rv };
  if (next) metadata.continue = next;
  return { kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items: items.map((o) => withVersion(def, o)) };
}

function handleSubresource(ctx: ResourceHandlerContext, r: ResourceRequest, dryRun: boolean): HandlerResult {
  const { def } = r;
  if (r.name === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (r.subresource === 'status' && def.statusSubresource) {
    switch (r.method) {
      case 'GET':
        return { code: 200, body: withVersion(def, ctx.api.get(def, r.namespace, r.name)) };
      case 'PUT':
        return { code: 200, body: ctx.api.replace(def, r.namespace, r.name, r.body, { dryRun, subresource: 'status' }) };
      case 'PATCH':
        return { code: 200, body: ctx.api.patch(def, r.namespace, r.name, r.contentType, r.body, { dryRun, subresource: 'status' }) };
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }
  if (r.subresource === 'scale' && SCALABLE.has(storageKey(def.group, def.resource))) return handleScale(ctx, r, dryRun);
  if (def.group === '' && def.resource === 'pods') {
    if (r.subresource === 'exec') {
      ctx.api.get(def, r.namespace, r.name);
      throw badRequest('Upgrade request required');
    }
    if (r.subresource === 'log' && r.method === 'GET') {
      ctx.api.get(def, r.namespace, r.name);
      return { code: 200, body: '' };
    }
  }
  throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

/** Workloads with a `/scale` subresource (`kubectl scale`). */
export const SCALABLE = new Set(['apps/deployments', 'apps/statefulsets', 'apps/replicasets']);

function toScale(obj: KubeObject): Record<string, unknown> {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (obj.status ?? {}) as { replicas?: number };
  const selector = Object.entries(spec.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector },
  };
}

/** `/scale`: reads and writes `spec.replicas` of a workload through an autoscaling/v1 Scale. */
function handleScale(ctx: ResourceHandlerContext, r: ResourceRequest, dryRun: boolean): HandlerResult {
  const { def } = r;
  const current = ctx.api.get(def, r.namespace, r.name!);
  if (r.method === 'GET') return { code: 200, body: toScale(current) };
  let desired: unknown;
  if (r.method === 'PUT') {
    desired = (r.body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    const rv = (r.body as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion)
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${def.resource}.${def.group} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
  } else if (r.method === 'PATCH') {
    const patched = applyPatch(r.contentType, toScale(current), r.body, true) as { spec?: { replicas?: unknown } };
    desired = patched.spec?.replicas;
  } else {
    throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }
  if (typeof desired !== 'number' || !Number.isInteger(desired) || desired < 0) {
    throw new ApiError(
      422,
      'Invalid',
      `Scale.autoscaling "${r.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(desired)}: must be greater than or equal to 0`,
    );
  }
  const updated = ctx.api.patch(def, r.namespace, r.name!, 'application/merge-patch+json', { spec: { replicas: desired } }, { dryRun });
  return { code: 200, body: toScale(updated) };
}
