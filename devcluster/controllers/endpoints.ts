/**
 * The Endpoints controller: each Service with a selector gets an Endpoints object of the same
 * name listing the matching pods — ready ones in `addresses`, others in `notReadyAddresses` —
 * with the service's ports resolved against the pods (named `targetPort`s included).
 */
import type { ObjectApi } from '../crud.js';
import type { Registry, ResourceDef } from '../registry.js';
import { storageKey } from '../registry.js';
import type { KubeObject, Store, StoreEvent } from '../store.js';
import type { WorkQueue } from './work-queue.js';

type Obj = Record<string, unknown>;
const PODS = storageKey('', 'pods');
const SERVICES = storageKey('', 'services');
const ENDPOINTS = storageKey('', 'endpoints');

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

function isReady(pod: KubeObject): boolean {
  const conds = (((pod.status ?? {}) as Obj).conditions ?? []) as Array<{ type: string; status: string }>;
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

function resolvePort(pod: KubeObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const containers = (((pod.spec ?? {}) as Obj).containers ?? []) as Array<{ ports?: Array<{ name?: string; containerPort: number }> }>;
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

/** Keeps each selector Service's Endpoints in step with its pods; fed through `observe`. */
export class EndpointsController {
  private readonly endpointsDef: ResourceDef;

  constructor(
    private readonly store: Store,
    private readonly api: ObjectApi,
    registry: Registry,
    private readonly queue: WorkQueue,
  ) {
    this.endpointsDef = registry.get('', 'v1', 'endpoints')!;
  }

  observe(ev: StoreEvent): void {
    const ns = ev.object.metadata.namespace;
    if (ev.key === SERVICES) {
      this.queue.add(`ep|${ns}|${ev.object.metadata.name}`, () => this.sync(ns, ev.object.metadata.name!));
    } else if (ev.key === PODS) {
      for (const svc of this.store.list(SERVICES, ns)) {
        this.queue.add(`ep|${ns}|${svc.metadata.name}`, () => this.sync(ns, svc.metadata.name!));
      }
    }
  }

  private sync(namespace: string | undefined, name: string): void {
    const svc = this.store.get(SERVICES, namespace, name);
    const existing = this.store.get(ENDPOINTS, namespace, name);
    if (!svc) {
      // The controller owns endpoints only of services it managed (those with a selector).
      if (existing?.metadata.labels?.['endpoints.devcluster.stash-hooks.dev/managed'] === 'true') this.api.forceDelete(this.endpointsDef, existing);
      return;
    }
    const spec = (svc.spec ?? {}) as { selector?: Record<string, string>; ports?: ServicePort[] };
    if (!spec.selector || Object.keys(spec.selector).length === 0) return;
    const selector = Object.entries(spec.selector);
    const pods = this.store
      .list(PODS, namespace)
      .filter((p) => !p.metadata.deletionTimestamp && (p.status as Obj | undefined)?.podIP && selector.every(([k, v]) => p.metadata.labels?.[k] === v))
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
    // Pods that resolve the ports the same way share a subset, as in Kubernetes.
    const subsets = new Map<string, { addresses: Obj[]; notReadyAddresses: Obj[]; ports: Obj[] }>();
    for (const pod of pods) {
      const ports = (spec.ports ?? [])
        .map((sp) => ({ name: sp.name, port: resolvePort(pod, sp), protocol: sp.protocol ?? 'TCP' }))
        .filter((p) => p.port !== undefined);
      const key = JSON.stringify(ports);
      let s = subsets.get(key);
      if (!s) subsets.set(key, (s = { addresses: [], notReadyAddresses: [], ports }));
      const addr = {
        ip: (pod.status as Obj).podIP,
        nodeName: ((pod.spec ?? {}) as Obj).nodeName,
        targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      };
      (isReady(pod) ? s.addresses : s.notReadyAddresses).push(addr);
    }
    const out = [...subsets.values()].map((s) => {
      const sub: Obj = { ports: s.ports };
      if (s.addresses.length) sub.addresses = s.addresses;
      if (s.notReadyAddresses.length) sub.notReadyAddresses = s.notReadyAddresses;
      return sub;
    });
    const labels = { ...(svc.metadata.labels ?? {}), 'endpoints.devcluster.stash-hooks.dev/managed': 'true' };
    if (!existing) {
      this.api.create(this.endpointsDef, namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets: out });
    } else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(out)) {
      this.api.replace(this.endpointsDef, namespace, name, { ...existing, subsets: out });
    }
  }
}
