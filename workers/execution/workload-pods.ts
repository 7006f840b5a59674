/**
 * The pods a workload target's hooks run in (DESIGN §5 "Where a hook runs"), after Stash's
 * sidecar model (stash `pkg/backup/backupsession.go`, `RunBackup`):
 * - Deployment, ReplicaSet, ReplicationController, DeploymentConfig: only the leader replica's
 *   sidecar runs the BackupSession controller, so hooks run in ONE pod — the holder of Stash's
 *   leader lock for the target, else the first Ready pod by name;
 * - StatefulSet, DaemonSet: every pod runs it, so every running pod is a host.
 */
import type { V1Container, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { TargetError } from '../../shared/errors.js';
import { DEPLOYMENT_CONFIG, type WorkloadKind } from '../../shared/resources.js';
import { readOrUndefined } from './kube-read.js';
import type { KubeAccess } from './types.js';

/** A pod a hook may run in or connect to. */
export interface PodRef {
  namespace: string;
  name: string;
  ip?: string;
  containers: V1Container[];
  /** Init containers (native sidecars included), with whether each is running now. */
  initContainers?: Array<V1Container & { running: boolean }>;
}

/** Kinds whose hooks run in one replica: Stash elects a leader among their pods. */
const LEADER_KINDS: ReadonlySet<WorkloadKind> = new Set(['Deployment', 'ReplicaSet', 'ReplicationController', 'DeploymentConfig']);

/** `matchLabels` and `matchExpressions` as a label-selector string. */
export function selectorString(sel: V1LabelSelector | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** The parts of `p` a hook needs, with which init containers are running now. */
export function podRef(p: V1Pod, fallbackNamespace: string): PodRef {
  const running = new Set((p.status?.initContainerStatuses ?? []).filter((s) => s.state?.running).map((s) => s.name));
  return {
    namespace: p.metadata?.namespace ?? fallbackNamespace,
    name: p.metadata?.name ?? '',
    ip: p.status?.podIP || undefined,
    containers: p.spec?.containers ?? [],
    initContainers: (p.spec?.initContainers ?? []).map((c) => ({ ...c, running: running.has(c.name) })),
  };
}

function isReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Whether a hook can run in `p`: it is not being deleted and is Running — or, when the hook names
 * an init container, that container is running (Stash's restore hooks exec into `stash-init`
 * while the pod is still initialising).
 */
function isUsable(p: V1Pod, containerName: string | undefined): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.status?.phase === 'Running') return true;
  return !!containerName && (p.status?.initContainerStatuses ?? []).some((s) => s.name === containerName && !!s.state?.running);
}

/** Usable pods matching `selector` in `namespace`, sorted by name. */
export async function usablePods(kube: KubeAccess, namespace: string, selector: string, containerName?: string): Promise<V1Pod[]> {
  const list = await readOrUndefined(
    () => kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
    `pods in namespace ${namespace} with selector ${selector}`,
  );
  return (list?.items ?? []).filter((p) => isUsable(p, containerName)).sort((x, y) => (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''));
}

type Selectable = { spec?: { selector?: V1LabelSelector | Record<string, string> } };

/** Reads the workload; its selector as a string (ReplicationController and DeploymentConfig use a plain map). */
async function readWorkloadSelector(kube: KubeAccess, kind: WorkloadKind, namespace: string, name: string): Promise<string> {
  const params = { namespace, name };
  const what = `${kind} ${namespace}/${name}`;
  let obj: Selectable | undefined;
  switch (kind) {
    case 'Deployment':
      obj = await readOrUndefined(() => kube.apps.readNamespacedDeployment(params), what);
      break;
    case 'StatefulSet':
      obj = await readOrUndefined(() => kube.apps.readNamespacedStatefulSet(params), what);
      break;
    case 'DaemonSet':
      obj = await readOrUndefined(() => kube.apps.readNamespacedDaemonSet(params), what);
      break;
    case 'ReplicaSet':
      obj = await readOrUndefined(() => kube.apps.readNamespacedReplicaSet(params), what);
      break;
    case 'ReplicationController':
      obj = await readOrUndefined(() => kube.core.readNamespacedReplicationController(params), what);
      break;
    case 'DeploymentConfig':
      // OpenShift's kind is not in client-node's typed APIs.
      obj = (await readOrUndefined(() => kube.custom.getNamespacedCustomObject({ ...DEPLOYMENT_CONFIG, namespace, name }), what)) as Selectable | undefined;
      break;
  }
  if (!obj) throw new TargetError(`${what} not found`);
  const sel = obj.spec?.selector;
  const isLabelSelector = !!sel && ('matchLabels' in sel || 'matchExpressions' in sel);
  return isLabelSelector ? selectorString(sel as V1LabelSelector) : selectorString({ matchLabels: (sel ?? {}) as Record<string, string> });
}

/**
 * Stash's leader lock of a target: stash `pkg/util/kubernetes.go` `GetBackupConfigmapLockName` /
 * `GetRestoreConfigmapLockName` — `lock-<kind>-<name>-backup` (`-restore`), lower-cased, in the
 * workload's namespace. The sidecar (`pkg/backup/backupsession.go` `electLeaderPod`) and the
 * restore init container (`pkg/restore` `electRestoreLeader`) take it through client-go leader
 * election with the pod's name (`POD_NAME`) as identity.
 */
export function leaderLockName(kind: string, name: string, operation: 'backup' | 'restore'): string {
  return `lock-${kind}-${name}-${operation}`.toLowerCase();
}

/** client-go's `LeaderElectionRecord`, as a Lease spec or the ConfigMap annotation holds it. */
interface LeaderRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  renewTime?: string | Date;
}

/** client-go `resourcelock.LeaderElectionRecordAnnotationKey`, the ConfigMap lock's record. */
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** The holder's identity while the record is live (renewed within its lease duration). */
function liveHolder(record: LeaderRecord | undefined, now: number): string | undefined {
  if (!record?.holderIdentity) return undefined;
  const renewed = record.renewTime ? new Date(record.renewTime).getTime() : NaN;
  const ttl = record.leaseDurationSeconds;
  if (!Number.isNaN(renewed) && typeof ttl === 'number' && ttl > 0 && renewed + ttl * 1000 < now) return undefined;
  return record.holderIdentity;
}

/**
 * The pod name holding the target's leader lock, or undefined. Stash has used three lock kinds
 * over its releases (`ConfigMapsResourceLock`, `ConfigMapsLeasesResourceLock`, and Leases since
 * client-go dropped the others), so the Lease is read first and the ConfigMap's annotation after.
 */
async function lockHolder(kube: KubeAccess, namespace: string, lock: string, now: number): Promise<string | undefined> {
  const lease = await readOrUndefined(() => kube.coordination.readNamespacedLease({ namespace, name: lock }), `Lease ${namespace}/${lock}`);
  const fromLease = liveHolder(lease?.spec as LeaderRecord | undefined, now);
  if (fromLease) return fromLease;
  const cm = await readOrUndefined(() => kube.core.readNamespacedConfigMap({ namespace, name: lock }), `ConfigMap ${namespace}/${lock}`);
  const raw = cm?.metadata?.annotations?.[LEADER_ANNOTATION];
  if (!raw) return undefined;
  try {
    return liveHolder(JSON.parse(raw) as LeaderRecord, now);
  } catch {
    return undefined; // a corrupt record is no lock; fall back to the first Ready pod
  }
}

/** What {@link workloadPods} needs to know about the hook. */
export interface WorkloadHookInfo {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  operation: 'backup' | 'restore';
  containerName?: string;
  now?: number;
}

/** The pods a workload's hooks run in: the leader replica, or every running pod (see the file comment). */
export async function workloadPods(kube: KubeAccess, w: WorkloadHookInfo): Promise<PodRef[]> {
  const label = `${w.kind} ${w.namespace}/${w.name}`;
  const selector = await readWorkloadSelector(kube, w.kind, w.namespace, w.name);
  if (!selector) throw new TargetError(`${label} has an empty selector, so its pods cannot be found`);
  const pods = await usablePods(kube, w.namespace, selector, w.containerName);
  if (pods.length === 0) throw new TargetError(`no running pod of ${label} (selector ${selector})`);
  if (!LEADER_KINDS.has(w.kind)) return pods.map((p) => podRef(p, w.namespace));
  const holder = await lockHolder(kube, w.namespace, leaderLockName(w.kind, w.name, w.operation), w.now ?? Date.now());
  // A holder that is not one of the workload's usable pods (gone, or another workload's) is no leader.
  const chosen = pods.find((p) => p.metadata?.name === holder) ?? pods.find(isReady) ?? pods[0];
  return [podRef(chosen, w.namespace)];
}
