/**
 * Built-in kind behaviour that kube-apiserver plus a kubelet would provide: namespaces become
 * `Active` and take their contents with them on delete; a Pod is scheduled and running at once
 * (DESIGN §8: status `Running`, `Ready`, a distinct loopback `podIP` 127.0.0.x); Secret
 * `stringData` folds into `data`; Services get a cluster IP.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid } from './api-error.js';
import type { KindHooks, ObjectApi } from './crud.js';
import { storageKey, type Registry } from './registry.js';
import type { KubeObject, Store } from './store.js';

/** Hands out distinct loopback addresses 127.0.x.y (from 127.0.0.2), reusing released ones last. */
export class IpPool {
  private next: number;
  private readonly inUse = new Set<number>();
  private static readonly SIZE = 256 * 256;

  /** `first` is a `127.0.x.y` address, validated by the options. */
  constructor(first = '127.0.0.2') {
    const [, , x, y] = first.split('.').map(Number);
    this.next = x * 256 + y;
  }

  allocate(): string {
    for (let tries = 0; tries < IpPool.SIZE; tries++) {
      const n = this.next;
      this.next = this.next + 1 >= IpPool.SIZE ? 2 : this.next + 1;
      const low = n & 255;
      if (low === 0 || low === 255 || this.inUse.has(n)) continue;
      this.inUse.add(n);
      return `127.0.${n >> 8}.${low}`;
    }
    throw new Error('devcluster: no free pod IP');
  }

  release(ip: unknown): void {
    if (typeof ip !== 'string') return;
    const m = /^127\.0\.(\d+)\.(\d+)$/.exec(ip);
    if (m) this.inUse.delete(Number(m[1]) * 256 + Number(m[2]));
  }
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

type Container = { name?: unknown; image?: unknown; restartPolicy?: unknown };

/**
 * Holds the named init container of a pod running (the pod stays `Pending`, not Initialized),
 * as a restore init container such as Stash's `stash-init` does while it waits for its restore.
 */
export const INIT_RUNNING_ANNOTATION = 'devcluster.stash-hooks.dev/init-running';

/**
 * The status a kubelet reports for a pod whose containers all started: init containers ran to
 * completion, native sidecars (init containers with `restartPolicy: Always`) keep running. With
 * {@link INIT_RUNNING_ANNOTATION} the pod is still initialising: that init container runs, the
 * app containers wait.
 */
export function runningPodStatus(pod: KubeObject, ip: string, startTime = now()): Record<string, unknown> {
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  const containers = (spec.containers ?? []) as Container[];
  const inits = (Array.isArray(spec.initContainers) ? spec.initContainers : []) as Container[];
  const held = pod.metadata.annotations?.[INIT_RUNNING_ANNOTATION];
  const initialising = !!held && inits.some((c) => c.name === held);
  const heldAt = inits.findIndex((c) => c.name === held);
  const cond = (type: string, ok = true): Record<string, string> => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null as unknown as string,
    lastTransitionTime: startTime,
  });
  const status = (c: Container, state: Record<string, unknown>, ready: boolean) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    containerID: `devcluster://${pod.metadata.uid}/${String(c.name)}`,
    ready,
    started: 'running' in state,
    restartCount: 0,
    state,
  });
  const running = { running: { startedAt: startTime } };
  const completed = { terminated: { exitCode: 0, reason: 'Completed', startedAt: startTime, finishedAt: startTime } };
  const initStatus = (c: Container, i: number) => {
    if (c.restartPolicy === 'Always') return status(c, running, true);
    if (!initialising || i < heldAt) return status(c, completed, false);
    if (i === heldAt) return status(c, running, false);
    return status(c, { waiting: { reason: 'PodInitializing' } }, false);
  };
  return {
    phase: initialising ? 'Pending' : 'Running',
    conditions: [
      cond('PodReadyToStartContainers'),
      cond('Initialized', !initialising),
      cond('Ready', !initialising),
      cond('ContainersReady', !initialising),
      cond('PodScheduled'),
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime,
    qosClass: 'BestEffort',
    ...(inits.length ? { initContainerStatuses: inits.map(initStatus) } : {}),
    containerStatuses: containers.map((c) => (initialising ? status(c, { waiting: { reason: 'PodInitializing' } }, false) : status(c, running, true))),
  };
}

/** What the built-in kind hooks need. */
export interface KindHooksContext {
  api: ObjectApi;
  store: Store;
  registry: Registry;
  ips: IpPool;
  /** Directory holding each pod's working directory (`<podsDir>/<ns>/<name>`). */
  podsDir: string;
  /** Runs `fn` after `ms` unless the cluster closes first. */
  schedule(fn: () => void, ms: number): void;
}

/**
 * How long a deleted namespace stays `Terminating` before its contents and itself go. Real
 * clusters take seconds; a delay keeps `kubectl delete -k` (namespace first, then its objects)
 * from failing on objects that vanished under it.
 */
const NAMESPACE_TERMINATION_MS = 500;

function podHooks(ctx: KindHooksContext): KindHooks {
  return {
    prepareCreate(pod) {
      const spec = (pod.spec ?? {}) as Record<string, unknown>;
      const containers = spec.containers;
      const causes: Array<{ field: string; message: string }> = [];
      if (!Array.isArray(containers) || containers.length === 0) causes.push({ field: 'spec.containers', message: 'Required value' });
      else {
        containers.forEach((c: Container, i) => {
          if (typeof c?.name !== 'string' || !c.name) causes.push({ field: `spec.containers[${i}].name`, message: 'Required value' });
          if (typeof c?.image !== 'string' || !c.image) causes.push({ field: `spec.containers[${i}].image`, message: 'Required value' });
        });
      }
      if (causes.length) throw invalid('Pod', pod.metadata.name ?? '', causes);
      // API defaulting that clients see: container port protocols, pod-level policies.
      const defaulted = (containers as Array<Record<string, unknown>>).map((c) => ({
        ...c,
        ...(Array.isArray(c.ports) ? { ports: (c.ports as Array<Record<string, unknown>>).map((p) => ({ protocol: 'TCP', ...p })) } : {}),
      }));
      pod.spec = {
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        ...spec,
        containers: defaulted,
        nodeName: spec.nodeName ?? 'devcluster',
      };
      pod.status = runningPodStatus(pod, ctx.ips.allocate());
    },
    prepareUpdate(pod, old) {
      // The pod IP is the kubelet's; a status write that drops it does not free it.
      const oldIp = (old.status as Record<string, unknown> | undefined)?.podIP;
      const st = pod.status as Record<string, unknown> | undefined;
      if (st && oldIp && !st.podIP) st.podIP = oldIp;
    },
    afterDelete(pod) {
      ctx.ips.release((pod.status as Record<string, unknown> | undefined)?.podIP);
      rm(join(ctx.podsDir, pod.metadata.namespace ?? '', pod.metadata.name ?? ''), { recursive: true, force: true }).catch(() => {});
    },
  };
}

function namespaceHooks(ctx: KindHooksContext): KindHooks {
  return {
    prepareCreate(ns) {
      ns.spec = { finalizers: ['kubernetes'] };
      ns.status = { phase: 'Active' };
      ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns.metadata.name! };
    },
    deferDelete(ns, def) {
      const name = ns.metadata.name!;
      ctx.schedule(() => {
        const current = ctx.store.get(storageKey('', 'namespaces'), undefined, name);
        if (current && current.metadata.uid === ns.metadata.uid) ctx.api.forceDelete(def, current);
      }, NAMESPACE_TERMINATION_MS);
      return {
        ...ns,
        metadata: { ...ns.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        status: { ...((ns.status ?? {}) as object), phase: 'Terminating' },
      };
    },
    afterDelete(ns) {
      // The namespace controller's work: every object in it goes with it.
      for (const key of ctx.store.keysInNamespace(ns.metadata.name!)) {
        const [group, resource] = splitKey(key);
        const def = ctx.registry.anyVersion(group, resource);
        for (const obj of ctx.store.list(key, ns.metadata.name)) {
          if (def) ctx.api.forceDelete(def, obj);
          else ctx.store.delete(key, obj.metadata.namespace, obj.metadata.name!);
        }
      }
    },
  };
}

function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

const secretHooks: KindHooks = {
  prepareCreate: foldStringData,
  prepareUpdate: foldStringData,
};

function foldStringData(secret: KubeObject): void {
  const stringData = secret.stringData as Record<string, string> | undefined;
  if (stringData && typeof stringData === 'object') {
    const data = { ...((secret.data ?? {}) as Record<string, string>) };
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
    secret.data = data;
  }
  delete secret.stringData;
  if (!secret.type) secret.type = 'Opaque';
}

function serviceHooks(): KindHooks {
  let next = 1;
  return {
    prepareCreate(svc) {
      const spec = (svc.spec ?? {}) as Record<string, unknown>;
      const type = spec.type ?? 'ClusterIP';
      const clusterIP = spec.clusterIP ?? `10.96.${(next >> 8) & 255}.${next++ & 255}`;
      const ports = Array.isArray(spec.ports)
        ? (spec.ports as Array<Record<string, unknown>>).map((p) => ({ protocol: 'TCP', targetPort: p.port, ...p }))
        : spec.ports;
      svc.spec = { ...spec, ...(ports ? { ports } : {}), type, clusterIP, clusterIPs: [clusterIP], sessionAffinity: spec.sessionAffinity ?? 'None' };
      svc.status = { loadBalancer: {} };
    },
  };
}

/** Installs the built-in kind hooks on `ctx.api`. */
export function installKindHooks(ctx: KindHooksContext): void {
  ctx.api.setHooks('', 'pods', podHooks(ctx));
  ctx.api.setHooks('', 'namespaces', namespaceHooks(ctx));
  ctx.api.setHooks('', 'secrets', secretHooks);
  ctx.api.setHooks('', 'services', serviceHooks());
}
