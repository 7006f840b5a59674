/**
 * Which objects a list or watch returns: the namespace in the URL plus the label and field
 * selectors of the query, compiled once per request.
 */
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ResourceDef } from './registry.js';
import type { KubeObject } from './store.js';

/** True when an object belongs in a list or watch. */
export type ObjectFilter = (obj: KubeObject) => boolean;

function lookup(obj: unknown, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Compiles the filter of a list/watch request; bad selectors throw a 400 `ApiError`. */
export function makeObjectFilter(def: ResourceDef, namespace: string | undefined, labelSelector?: string | null, fieldSelector?: string | null): ObjectFilter {
  const allowed = ['metadata.name', 'metadata.namespace', ...def.fieldSelectors];
  const labels = parseLabelSelector(labelSelector);
  const fields = fieldSelector ? parseFieldSelector(fieldSelector, allowed) : undefined;
  return (obj) => {
    if (namespace !== undefined && obj.metadata.namespace !== namespace) return false;
    if (!labels(obj.metadata.labels ?? {})) return false;
    if (fields) {
      const values: Record<string, string | undefined> = {};
      for (const p of allowed) values[p] = lookup(obj, p) ?? '';
      if (!fields(values)) return false;
    }
    return true;
  };
}

export { lookup as lookupField };
