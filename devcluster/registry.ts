/**
 * The resource registry: which group/version/resource triples the server serves, their kinds,
 * scope and subresources. Built-in kinds are fixed; a CustomResourceDefinition adds its served
 * versions when it is created and removes them when it is deleted (DESIGN §8).
 */

/** A printer column of `kubectl get` (CRD `additionalPrinterColumns`, or built-in ones). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

/** One served resource at one group/version. */
export interface ResourceDef {
  group: string;
  version: string;
  /** Plural resource name, e.g. `backupsessions`. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories?: string[];
  /** Whether `/status` is a subresource (then the main resource ignores `status`). */
  statusSubresource: boolean;
  /** Whether strategic merge patch applies (built-in kinds only). */
  strategic: boolean;
  /** Extra field selectors beyond `metadata.name` and `metadata.namespace`. */
  fieldSelectors: string[];
  printerColumns: PrinterColumn[];
  /** Name of the CRD that serves it, absent for built-ins. */
  crd?: string;
  /** The CRD version's OpenAPI v3 schema, for `/openapi/v3`. */
  schema?: unknown;
}

/** A storage key shared by every version of one group/resource. */
export function storageKey(group: string, resource: string): string {
  return `${group}/${resource}`;
}

/** `group/version`, or `version` for the core group. */
export function apiVersionOf(def: Pick<ResourceDef, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

type BuiltinSpec = [
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
  status: boolean,
  extraFields?: string[],
];

const BUILTINS: BuiltinSpec[] = [
  ['', 'v1', 'namespaces', 'Namespace', false, ['ns'], true, ['status.phase']],
  ['', 'v1', 'pods', 'Pod', true, ['po'], true, ['status.phase', 'spec.nodeName', 'status.podIP', 'spec.serviceAccountName']],
  ['', 'v1', 'services', 'Service', true, ['svc'], true],
  ['', 'v1', 'endpoints', 'Endpoints', true, ['ep'], false],
  [
    '',
    'v1',
    'events',
    'Event',
    true,
    ['ev'],
    false,
    [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  ],
  ['', 'v1', 'configmaps', 'ConfigMap', true, ['cm'], false],
  ['', 'v1', 'secrets', 'Secret', true, [], false, ['type']],
  ['', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa'], false],
  ['apps', 'v1', 'deployments', 'Deployment', true, ['deploy'], true],
  ['apps', 'v1', 'statefulsets', 'StatefulSet', true, ['sts'], true],
  ['apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds'], true],
  ['apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs'], true],
  ['', 'v1', 'replicationcontrollers', 'ReplicationController', true, ['rc'], true],
  ['coordination.k8s.io', 'v1', 'leases', 'Lease', true, [], false],
  ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, ['crd', 'crds'], true],
  // Stored but inert (no RBAC enforcement, no autoscaling, no disruption budgets), so that
  // `kubectl apply -k k8s-manifests/base` works against devcluster.
  ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true, [], false],
  ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true, [], false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false, [], false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false, [], false],
  ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], true],
  ['autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'], true],
];

/** Preferred group order in discovery (kubectl resolves short names in this order). */
const GROUP_ORDER = ['', 'apps', 'autoscaling', 'policy', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'apiextensions.k8s.io'];

/** The served resources, built-in and from CRDs. */
export class Registry {
  private readonly byPath = new Map<string, ResourceDef>();
  /** Bumped on every change, so discovery and OpenAPI caches know when to rebuild. */
  generation = 0;

  constructor() {
    for (const [group, version, resource, kind, namespaced, shortNames, status, extra] of BUILTINS) {
      this.add({
        group,
        version,
        resource,
        singular: kind.toLowerCase(),
        kind,
        listKind: `${kind}List`,
        namespaced,
        shortNames,
        categories: ['pods', 'services', 'deployments', 'statefulsets', 'daemonsets', 'replicasets'].includes(resource) ? ['all'] : undefined,
        statusSubresource: status,
        strategic: true,
        fieldSelectors: extra ?? [],
        printerColumns: [],
      });
    }
  }

  private key(group: string, version: string, resource: string): string {
    return `${group}/${version}/${resource}`;
  }

  add(def: ResourceDef): void {
    this.byPath.set(this.key(def.group, def.version, def.resource), def);
    this.generation++;
  }

  /** Removes every resource served by the named CRD. */
  removeCrd(crdName: string): void {
    for (const [k, def] of this.byPath) if (def.crd === crdName) this.byPath.delete(k);
    this.generation++;
  }

  get(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.byPath.get(this.key(group, version, resource));
  }

  /** Any served version of a group/resource (controllers and the CRD code use storage keys). */
  anyVersion(group: string, resource: string): ResourceDef | undefined {
    for (const def of this.byPath.values()) if (def.group === group && def.resource === resource) return def;
    return undefined;
  }

  all(): ResourceDef[] {
    return [...this.byPath.values()];
  }

  /** Groups with their versions, in discovery order (preferred version first). */
  groups(): Array<{ group: string; versions: string[] }> {
    const map = new Map<string, string[]>();
    for (const def of this.byPath.values()) {
      const versions = map.get(def.group) ?? [];
      if (!versions.includes(def.version)) versions.push(def.version);
      map.set(def.group, versions);
    }
    const rank = (g: string): number => {
      const i = GROUP_ORDER.indexOf(g);
      return i < 0 ? GROUP_ORDER.length : i;
    };
    return [...map.entries()]
      .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
      .map(([group, versions]) => ({ group, versions: versions.sort(compareVersions) }));
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.all().filter((d) => d.group === group && d.version === version);
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [-1, 0, 0];
    const stability = m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [sa, ma, na] = parse(a);
  const [sb, mb, nb] = parse(b);
  return sb - sa || mb - ma || nb - na || a.localeCompare(b);
}
