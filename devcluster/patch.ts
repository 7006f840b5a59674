/**
 * The three PATCH flavours kube-apiserver accepts: JSON patch (RFC 6902), JSON merge patch
 * (RFC 7386) and strategic merge patch (built-in kinds only; CRDs answer 415 like the real
 * server). Strategic merge covers what `kubectl apply`/`patch` send: maps merged, object lists
 * merged by their merge key, `$patch: replace|delete|merge`, `$deleteFromPrimitiveList/…`, and
 * `$setElementOrder/…`/`$retainKeys` accepted (ordering and retain hints are not enforced).
 */
import jsonPatch from 'fast-json-patch';
import { ApiError, badRequest } from './api-error.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** The PATCH Content-Types. */
export const PatchType = {
  Json: 'application/json-patch+json',
  Merge: 'application/merge-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: `null` deletes, objects merge recursively, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return structuredClone(patch as Json);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Applies an RFC 6902 patch; a failing `test` or bad path is a 422 like kube-apiserver's. */
export function applyJsonPatch(target: unknown, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw badRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation: every operation needs "op" and "path"');
    }
  }
  try {
    const doc = structuredClone(target);
    return jsonPatch.applyPatch(doc, ops as jsonPatch.Operation[], true, true).newDocument as Json;
  } catch (err) {
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Merge keys of the built-in list fields (the Go struct tags `patchMergeKey`). Keyed by field
 * name; `ports` is resolved by what its items carry (container ports vs service ports).
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  podIPs: 'ip',
  resourceClaims: 'name',
};

/** Primitive lists that merge (as sets) instead of replacing. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  if (field === 'ports') {
    const sample = items.find(isObject);
    if (sample && 'containerPort' in sample) return 'containerPort';
    return 'port';
  }
  return MERGE_KEYS[field];
}

function mergeList(field: string, original: Json[], patch: Json[]): Json[] {
  const key = mergeKeyFor(field, [...patch, ...original]);
  if (!key) {
    if (MERGED_PRIMITIVE_LISTS.has(field)) {
      const out = [...original];
      for (const v of patch) if (!out.includes(v)) out.push(v);
      return out;
    }
    return patch.filter((v) => !(isObject(v) && '$patch' in v)).map((v) => structuredClone(v));
  }
  if (patch.some((v) => isObject(v) && v.$patch === 'replace')) {
    return patch.filter((v) => !(isObject(v) && v.$patch === 'replace')).map((v) => structuredClone(v));
  }
  const out = original.map((v) => structuredClone(v));
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(item);
      continue;
    }
    const idx = out.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item);
    else out.push(strategicMerge({}, item));
  }
  return out;
}

/** Strategic merge patch of a built-in object. */
export function strategicMerge(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return structuredClone(patch as Json);
  if (patch.$patch === 'replace') {
    const rest: JsonObject = { ...patch };
    delete rest.$patch;
    return strategicMerge({}, rest);
  }
  if (patch.$patch === 'delete') return null;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = mergeList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : [], v);
    } else if (isObject(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === null) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Applies a PATCH body by its Content-Type. `strategic` is false for custom resources, which
 * (as in kube-apiserver) do not support strategic merge patch.
 */
export function applyPatch(contentType: string, target: unknown, patch: unknown, strategic: boolean): Json {
  const type = contentType.split(';')[0].trim().toLowerCase();
  switch (type) {
    case PatchType.Json:
      return applyJsonPatch(target, patch);
    case PatchType.Merge:
      if (!isObject(patch)) throw badRequest('merge patch must be a JSON object');
      return mergePatch(target, patch);
    case PatchType.Strategic:
      if (!strategic) {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: ${PatchType.Json}, ${PatchType.Merge}`,
        );
      }
      if (!isObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
      return strategicMerge(target, patch);
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PatchType.Json}, ${PatchType.Merge}${strategic ? `, ${PatchType.Strategic}` : ''}`,
      );
  }
}
