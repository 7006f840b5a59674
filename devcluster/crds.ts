/**
 * CustomResourceDefinitions: creating one serves its resources (every served version, status
 * subresource and printer columns included); deleting it stops serving them and drops their
 * objects. The CRD gets `Established` and `NamesAccepted` conditions at once, as kubectl
 * `wait --for=condition=Established` expects.
 */
import { invalid } from './api-error.js';
import type { KindHooks } from './crud.js';
import type { PrinterColumn, Registry, ResourceDef } from './registry.js';
import { storageKey } from './registry.js';
import type { KubeObject, Store } from './store.js';

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: unknown; scale?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
  schema?: { openAPIV3Schema?: unknown };
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions?: CrdVersion[];
}

/** Validates a CRD and returns the resources it serves; throws a 422 naming the bad field. */
export function crdResources(obj: KubeObject): ResourceDef[] {
  const spec = (obj.spec ?? {}) as CrdSpec;
  const name = obj.metadata.name ?? '';
  const causes: Array<{ field: string; message: string }> = [];
  const plural = spec.names?.plural ?? '';
  const kind = spec.names?.kind ?? '';
  if (!spec.group) causes.push({ field: 'spec.group', message: 'Required value' });
  if (!plural) causes.push({ field: 'spec.names.plural', message: 'Required value' });
  if (!kind) causes.push({ field: 'spec.names.kind', message: 'Required value' });
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push({ field: 'spec.scope', message: `Unsupported value: "${String(spec.scope)}": supported values: "Cluster", "Namespaced"` });
  }
  if (spec.group && plural && name !== `${plural}.${spec.group}`) {
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) causes.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  else if (versions.filter((v) => v.storage).length !== 1)
    causes.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  if (causes.length) throw invalid('CustomResourceDefinition', name, causes);
  return versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group!,
      version: v.name,
      resource: plural,
      singular: spec.names?.singular || kind.toLowerCase(),
      kind,
      listKind: spec.names?.listKind || `${kind}List`,
      namespaced: spec.scope === 'Namespaced',
      shortNames: spec.names?.shortNames ?? [],
      categories: spec.names?.categories,
      statusSubresource: v.subresources?.status !== undefined && v.subresources?.status !== null,
      strategic: false,
      fieldSelectors: [],
      printerColumns: v.additionalPrinterColumns ?? [],
      crd: name,
      schema: v.schema?.openAPIV3Schema,
    }));
}

function crdStatus(obj: KubeObject): Record<string, unknown> {
  const spec = (obj.spec ?? {}) as CrdSpec;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, reason: string, message: string): Record<string, string> => ({ type, status: 'True', reason, message, lastTransitionTime: now });
  return {
    acceptedNames: { ...spec.names },
    storedVersions: (spec.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    conditions: [
      cond('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      cond('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
  };
}

/** Hooks that keep the registry in step with the stored CRDs. */
export function crdHooks(registry: Registry, store: Store, onRemoved: (storageKey: string) => void): KindHooks {
  return {
    prepareCreate(obj) {
      const defs = crdResources(obj);
      for (const other of registry.all()) {
        if (other.group === defs[0].group && other.resource === defs[0].resource && other.crd !== obj.metadata.name) {
          throw invalid('CustomResourceDefinition', obj.metadata.name ?? '', [{ field: 'spec.names.plural', message: 'Invalid value: already served' }]);
        }
      }
      obj.status = crdStatus(obj);
      registry.removeCrd(obj.metadata.name!);
      for (const d of defs) registry.add(d);
    },
    prepareUpdate(obj, old) {
      const defs = crdResources(obj);
      const prev = crdResources(old);
      if (defs[0].group !== prev[0].group || defs[0].resource !== prev[0].resource) {
        throw invalid('CustomResourceDefinition', obj.metadata.name ?? '', [{ field: 'spec.group', message: 'Invalid value: field is immutable' }]);
      }
      if (!obj.status) obj.status = crdStatus(obj);
      registry.removeCrd(obj.metadata.name!);
      for (const d of defs) registry.add(d);
    },
    afterDelete(obj) {
      const spec = (obj.spec ?? {}) as CrdSpec;
      registry.removeCrd(obj.metadata.name!);
      const key = storageKey(spec.group ?? '', spec.names?.plural ?? '');
      store.dropKey(key);
      onRemoved(key);
    },
  };
}
