/**
 * Workload controllers: Deployment → ReplicaSet (`<name>-<template hash>`) → Pods, StatefulSet →
 * Pods `<name>-0…`, DaemonSet → one Pod (devcluster is one node), ReplicationController → Pods,
 * and, once a CRD serves OpenShift's `deploymentconfigs.apps.openshift.io`, DeploymentConfig →
 * Pods directly (OpenShift goes through a ReplicationController `<name>-<version>`; hooks only
 * need the pods and their labels). Pods follow `replicas` and the
 * template (a changed template replaces them), carry a controller owner reference, and the
 * workload's status counts them.
 */
import { createHash } from 'node:crypto';
import { randomSuffix, type ObjectApi } from '../crud.js';
import type { Registry, ResourceDef } from '../registry.js';
import { storageKey } from '../registry.js';
import type { KubeObject, Store, StoreEvent } from '../store.js';
import type { WorkQueue } from './work-queue.js';

type Obj = Record<string, unknown>;
const KEYS = {
  pods: storageKey('', 'pods'),
  deployments: storageKey('apps', 'deployments'),
  replicasets: storageKey('apps', 'replicasets'),
  statefulsets: storageKey('apps', 'statefulsets'),
  daemonsets: storageKey('apps', 'daemonsets'),
  replicationcontrollers: storageKey('', 'replicationcontrollers'),
  deploymentconfigs: storageKey('apps.openshift.io', 'deploymentconfigs'),
};
const KIND_TO_KEY: Record<string, string> = {
  Deployment: KEYS.deployments,
  ReplicaSet: KEYS.replicasets,
  StatefulSet: KEYS.statefulsets,
  DaemonSet: KEYS.daemonsets,
  ReplicationController: KEYS.replicationcontrollers,
  DeploymentConfig: KEYS.deploymentconfigs,
};

function spec(o: KubeObject): Obj {
  return (o.spec ?? {}) as Obj;
}

function templateOf(o: KubeObject): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Obj } {
  return (spec(o).template ?? {}) as { metadata?: { labels?: Record<string, string> }; spec?: Obj };
}

/** A short stable hash of a pod template, like Kubernetes' pod-template-hash. */
export function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

function isReady(pod: KubeObject): boolean {
  const conds = (((pod.status ?? {}) as Obj).conditions ?? []) as Array<{ type: string; status: string }>;
  return !pod.metadata.deletionTimestamp && conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

function ownedBy(pods: KubeObject[], uid: string | undefined): KubeObject[] {
  return pods.filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.controller));
}

/** Reconciles Deployments, ReplicaSets, StatefulSets and DaemonSets into pods; fed through `observe`. */
export class WorkloadController {
  private readonly defs: Record<string, ResourceDef>;

  constructor(
    private readonly store: Store,
    private readonly api: ObjectApi,
    private readonly registry: Registry,
    private readonly queue: WorkQueue,
  ) {
    this.defs = {
      pods: registry.get('', 'v1', 'pods')!,
      deployments: registry.get('apps', 'v1', 'deployments')!,
      replicasets: registry.get('apps', 'v1', 'replicasets')!,
      statefulsets: registry.get('apps', 'v1', 'statefulsets')!,
      daemonsets: registry.get('apps', 'v1', 'daemonsets')!,
      replicationcontrollers: registry.get('', 'v1', 'replicationcontrollers')!,
    };
  }

  observe(ev: StoreEvent): void {
    const { key, object } = ev;
    if (key === KEYS.pods) {
      for (const ref of object.metadata.ownerReferences ?? []) {
        if (ref.controller && KIND_TO_KEY[ref.kind]) this.enqueue(KIND_TO_KEY[ref.kind], object.metadata.namespace, ref.name);
      }
    } else if (ev.type !== 'DELETED' && Object.values(KEYS).includes(key)) {
      this.enqueue(key, object.metadata.namespace, object.metadata.name!);
      if (key === KEYS.replicasets) {
        for (const ref of object.metadata.ownerReferences ?? [])
          if (ref.kind === 'Deployment') this.enqueue(KEYS.deployments, object.metadata.namespace, ref.name);
      }
    }
  }

  private enqueue(key: string, namespace: string | undefined, name: string): void {
    this.queue.add(`wl|${key}|${namespace}|${name}`, () => this.reconcile(key, namespace, name));
  }

  private reconcile(key: string, namespace: string | undefined, name: string): void {
    const obj = this.store.get(key, namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    if (key === KEYS.deployments) this.syncDeployment(obj);
    else if (key === KEYS.replicasets) this.syncPods(obj, this.defs.replicasets, Number(spec(obj).replicas ?? 1), () => `${name}-${randomSuffix()}`);
    else if (key === KEYS.daemonsets) this.syncPods(obj, this.defs.daemonsets, 1, () => `${name}-${randomSuffix()}`);
    else if (key === KEYS.statefulsets) this.syncStatefulSet(obj);
    else if (key === KEYS.replicationcontrollers)
      this.syncPods(obj, this.defs.replicationcontrollers, Number(spec(obj).replicas ?? 1), () => `${name}-${randomSuffix()}`);
    else if (key === KEYS.deploymentconfigs) {
      // Served only while its CRD exists, so looked up now rather than at construction.
      const def = this.registry.anyVersion('apps.openshift.io', 'deploymentconfigs');
      if (def) this.syncPods(obj, def, Number(spec(obj).replicas ?? 1), () => `${name}-1-${randomSuffix()}`);
    }
  }

  private ownerRef(def: ResourceDef, owner: KubeObject): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
    return {
      apiVersion: `${def.group}/${def.version}`,
      kind: def.kind,
      name: owner.metadata.name!,
      uid: owner.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
  }

  private newPod(owner: KubeObject, def: ResourceDef, name: string, extraLabels: Record<string, string>): void {
    const t = templateOf(owner);
    this.api.create(this.defs.pods, owner.metadata.namespace, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
        annotations: t.metadata?.annotations,
        ownerReferences: [this.ownerRef(def, owner)],
      },
      spec: t.spec ?? {},
    });
  }

  private writeStatus(def: ResourceDef, obj: KubeObject, status: Obj): void {
    const merged = { ...((obj.status ?? {}) as Obj), ...status };
    if (JSON.stringify(merged) === JSON.stringify(obj.status ?? {})) return;
    this.api.replace(def, obj.metadata.namespace, obj.metadata.name!, { ...obj, status: merged }, { subresource: 'status' });
  }

  private counts(pods: KubeObject[], desired: number, generation: number | undefined): Obj {
    const ready = pods.filter(isReady).length;
    return {
      observedGeneration: generation,
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: pods.length,
      updatedReplicas: pods.length,
      fullyLabeledReplicas: pods.length,
    };
  }

  /** ReplicaSet and DaemonSet: `desired` pods from the template, a changed template replaces them. */
  private syncPods(owner: KubeObject, def: ResourceDef, desired: number, nameFor: () => string): void {
    const hash = templateHash(templateOf(owner));
    let pods = ownedBy(this.store.list(KEYS.pods, owner.metadata.namespace), owner.metadata.uid);
    for (const p of pods) {
      if (def.kind === 'DaemonSet' && p.metadata.labels?.['controller-revision-hash'] !== hash) this.api.forceDelete(this.defs.pods, p);
    }
    pods = ownedBy(this.store.list(KEYS.pods, owner.metadata.namespace), owner.metadata.uid);
    const extra: Record<string, string> = def.kind === 'DaemonSet' ? { 'controller-revision-hash': hash } : {};
    for (let i = pods.length; i < desired; i++) this.newPod(owner, def, nameFor(), extra);
    if (pods.length > desired) {
      const victims = [...pods]
        .sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))
        .slice(0, pods.length - desired);
      for (const p of victims) this.api.forceDelete(this.defs.pods, p);
    }
    pods = ownedBy(this.store.list(KEYS.pods, owner.metadata.namespace), owner.metadata.uid);
    const fresh = this.store.get(storageKey(def.group, def.resource), owner.metadata.namespace, owner.metadata.name!);
    if (!fresh) return;
    const c = this.counts(pods, desired, fresh.metadata.generation);
    const status: Obj =
      def.kind === 'DaemonSet'
        ? {
            observedGeneration: c.observedGeneration,
            currentNumberScheduled: pods.length,
            desiredNumberScheduled: desired,
            numberReady: c.readyReplicas,
            numberAvailable: c.availableReplicas,
            updatedNumberScheduled: pods.length,
            numberMisscheduled: 0,
          }
        : {
            observedGeneration: c.observedGeneration,
            replicas: c.replicas,
            readyReplicas: c.readyReplicas,
            availableReplicas: c.availableReplicas,
            fullyLabeledReplicas: c.fullyLabeledReplicas,
          };
    this.writeStatus(def, fresh, status);
  }

  private syncStatefulSet(sts: KubeObject): void {
    const def = this.defs.statefulsets;
    const desired = Number(spec(sts).replicas ?? 1);
    const revision = `${sts.metadata.name}-${templateHash(templateOf(sts))}`;
    const name = sts.metadata.name!;
    const pods = ownedBy(this.store.list(KEYS.pods, sts.metadata.namespace), sts.metadata.uid);
    const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
    for (const p of pods) {
      const m = new RegExp(`^${name.replace(/[.]/g, '\\.')}-(\\d+)$`).exec(p.metadata.name!);
      if (!m || Number(m[1]) >= desired || p.metadata.labels?.['controller-revision-hash'] !== revision) {
        this.api.forceDelete(this.defs.pods, p);
        byName.delete(p.metadata.name!);
      }
    }
    for (let i = 0; i < desired; i++) {
      const podName = `${name}-${i}`;
      if (byName.has(podName)) continue;
      if (this.store.get(KEYS.pods, sts.metadata.namespace, podName)) continue; // a foreign pod holds the name
      this.newPod(sts, def, podName, {
        'controller-revision-hash': revision,
        'statefulset.kubernetes.io/pod-name': podName,
        'apps.kubernetes.io/pod-index': String(i),
      });
    }
    const now = ownedBy(this.store.list(KEYS.pods, sts.metadata.namespace), sts.metadata.uid);
    const fresh = this.store.get(KEYS.statefulsets, sts.metadata.namespace, name);
    if (!fresh) return;
    const c = this.counts(now, desired, fresh.metadata.generation);
    this.writeStatus(def, fresh, { ...c, currentRevision: revision, updateRevision: revision, collisionCount: 0 });
  }

  private syncDeployment(d: KubeObject): void {
    const def = this.defs.deployments;
    const ns = d.metadata.namespace;
    const desired = Number(spec(d).replicas ?? 1);
    const template = templateOf(d);
    const hash = templateHash(template);
    const rsName = `${d.metadata.name}-${hash}`;
    const owned = ownedBy(this.store.list(KEYS.replicasets, ns), d.metadata.uid);
    const selector = (spec(d).selector ?? {}) as { matchLabels?: Record<string, string> };
    let current = owned.find((r) => r.metadata.name === rsName);
    if (!current) {
      current = this.api.create(this.defs.replicasets, ns, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rsName,
          namespace: ns,
          labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash },
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired) },
          ownerReferences: [this.ownerRef(def, d)],
        },
        spec: {
          replicas: desired,
          selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash } },
          template: { ...template, metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } } },
        },
      });
    } else if (Number(spec(current).replicas ?? 1) !== desired) {
      this.api.patch(this.defs.replicasets, ns, rsName, 'application/merge-patch+json', { spec: { replicas: desired } });
    }
    for (const r of owned) {
      if (r.metadata.name !== rsName && Number(spec(r).replicas ?? 1) !== 0) {
        this.api.patch(this.defs.replicasets, ns, r.metadata.name!, 'application/merge-patch+json', { spec: { replicas: 0 } });
      }
    }
    const pods = owned.flatMap((r) => ownedBy(this.store.list(KEYS.pods, ns), r.metadata.uid));
    const updated = current ? ownedBy(this.store.list(KEYS.pods, ns), current.metadata.uid) : [];
    const ready = pods.filter(isReady).length;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const available = ready >= desired;
    const fresh = this.store.get(KEYS.deployments, ns, d.metadata.name!);
    if (!fresh) return;
    const prevConds = (((fresh.status ?? {}) as Obj).conditions ?? []) as Array<{ type: string; status: string; lastTransitionTime?: string }>;
    const cond = (type: string, status: string, reason: string, message: string): Obj => {
      const prev = prevConds.find((c) => c.type === type);
      const t = prev && prev.status === status ? prev.lastTransitionTime : now;
      return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
    };
    this.writeStatus(def, fresh, {
      observedGeneration: fresh.metadata.generation,
      replicas: pods.length,
      updatedReplicas: updated.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: pods.length - ready > 0 ? pods.length - ready : undefined,
      conditions: [
        available
          ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`),
      ],
    });
  }
}
