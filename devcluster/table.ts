/**
 * `meta.k8s.io/v1` Table output, which `kubectl get` asks for (`Accept: …;as=Table`). Columns:
 * Name, kind-specific ones (pods, deployments, CRD `additionalPrinterColumns`), Age.
 */
import { lookupField } from './filters.js';
import type { PrinterColumn, ResourceDef } from './registry.js';
import type { KubeObject } from './store.js';

/** A `meta.k8s.io/v1` TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A `meta.k8s.io/v1` Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: Array<{ cells: unknown[]; object: unknown }>;
}

/** Whether the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** Kubernetes' `duration.HumanDuration`, as the AGE column shows it. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

type Cell = (obj: KubeObject) => unknown;

function builtinColumns(def: ResourceDef): Array<[TableColumn, Cell]> {
  const col = (name: string, type = 'string'): TableColumn => ({ name, type, format: '', description: name, priority: 0 });
  const status = (o: KubeObject): Record<string, unknown> => (o.status ?? {}) as Record<string, unknown>;
  const spec = (o: KubeObject): Record<string, unknown> => (o.spec ?? {}) as Record<string, unknown>;
  switch (def.resource) {
    case 'pods':
      return [
        [
          col('Ready'),
          (o) => {
            const cs = (status(o).containerStatuses ?? []) as Array<{ ready?: boolean }>;
            const total = ((spec(o).containers ?? []) as unknown[]).length;
            return `${cs.filter((c) => c.ready).length}/${total}`;
          },
        ],
        [col('Status'), (o) => (o.metadata.deletionTimestamp ? 'Terminating' : (status(o).phase ?? 'Pending'))],
        [col('Restarts', 'integer'), () => 0],
        [col('IP'), (o) => status(o).podIP ?? '<none>'],
      ];
    case 'deployments':
    case 'statefulsets':
    case 'replicasets':
      return [
        [col('Ready'), (o) => `${Number(status(o).readyReplicas ?? 0)}/${Number(spec(o).replicas ?? 1)}`],
        [col('Available', 'integer'), (o) => Number(status(o).availableReplicas ?? 0)],
      ];
    case 'namespaces':
      return [[col('Status'), (o) => status(o).phase ?? 'Active']];
    case 'services':
      return [
        [col('Type'), (o) => spec(o).type ?? 'ClusterIP'],
        [col('Cluster-IP'), (o) => spec(o).clusterIP ?? '<none>'],
      ];
    case 'events':
      return [
        [col('Type'), (o) => o.type ?? ''],
        [col('Reason'), (o) => o.reason ?? ''],
        [
          col('Object'),
          (o) => {
            const io = (o.involvedObject ?? {}) as Record<string, unknown>;
            return `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`;
          },
        ],
        [col('Message'), (o) => o.message ?? ''],
      ];
    case 'configmaps':
    case 'secrets':
      return [[col('Data', 'integer'), (o) => Object.keys((o.data ?? {}) as object).length]];
    default:
      return [];
  }
}

function crdColumns(cols: PrinterColumn[]): Array<[TableColumn, Cell]> {
  return cols.map((c) => [
    { name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 },
    (o: KubeObject) => {
      const v = lookupField(o, c.jsonPath.replace(/^\./, ''));
      if (c.type === 'date' && v) return humanDuration(Date.now() - Date.parse(v));
      return v ?? '';
    },
  ]);
}

/** Builds a Table of `objects`; `includeObject` is the query parameter (`Metadata` by default). */
export function toTable(def: ResourceDef, objects: KubeObject[], includeObject: string | null, resourceVersion?: string): Table {
  const extra = def.crd ? crdColumns(def.printerColumns) : builtinColumns(def);
  const hasAge = extra.some(([c]) => c.name.toLowerCase() === 'age');
  const columns: Array<[TableColumn, Cell]> = [
    [{ name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 }, (o) => o.metadata.name],
    ...extra,
  ];
  if (!hasAge) {
    columns.push([
      { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 },
      (o) => (o.metadata.creationTimestamp ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'),
    ]);
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: columns.map(([c]) => c),
    rows: objects.map((o) => ({
      cells: columns.map(([, cell]) => cell(o)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
