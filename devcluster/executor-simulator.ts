/**
 * The backup executor simulator: plays Stash's sidecar/Job by the protocol of DESIGN §4, through
 * the HTTP API only (client-node informers and status writes), as a real executor would.
 *
 * BackupSession: for each `status.targets[i]` in phase Pending whose `ReadyForBackup` condition
 * is True, set the target Running with `totalHosts`, wait `backupSeconds`, then write `stats[]`
 * and Succeeded — or Failed with the host error when the target object carries the annotation
 * `devcluster.stash-hooks.dev/backup-result: Failed` (message from
 * `devcluster.stash-hooks.dev/backup-error`). RestoreSession: when `ReadyForRestore` is True and
 * `stats` is empty, write `totalHosts`, wait, then `stats[]`. A gate that is False or absent
 * leaves the session untouched; the session `phase` is never written (stash-hooks owns it).
 *
 * Hosts are counted and named as Stash does: a Deployment, ReplicaSet, ReplicationController or
 * DeploymentConfig is one host `host-0` (its leader replica works for all), a StatefulSet's pods
 * are `host-<ordinal>`, a DaemonSet's are named after their nodes, any other target is `host-0`.
 * A backup needs Running pods; a restore also counts pods still initialising whose `stash-init`
 * runs, where Stash restores.
 *
 * Scale and robustness: every status change of one session goes through a {@link StatusWriter}
 * (coalesced read-modify-writes that retry 409s and transient errors until they land), and every
 * `resyncMs` the informers' caches are walked again, so a target whose gate is open is never
 * missed because an event was, or because its first attempt failed before it started.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import { formatDuration } from '../shared/duration.js';
import { withKeepAlive } from '../shared/kube-keep-alive.js';
import type { BackupSession, BackupTargetStatus, HostStats, RestoreSession, TargetRef } from '../shared/resources.js';
import { isWorkloadKind } from '../shared/resources.js';
import { labelSelectorToString, type LabelSelectorSpec } from './selectors.js';
import { StatusWriter, WriterClosed, type SessionKey } from './status-writer.js';

/** Annotation on a target object: `Failed` makes its simulated backup or restore fail. */
export const RESULT_ANNOTATION = 'devcluster.stash-hooks.dev/backup-result';
/** Annotation on a target object: the host error of a failed simulated backup (default `backup failed`). */
export const ERROR_ANNOTATION = 'devcluster.stash-hooks.dev/backup-error';

const GROUP = 'stash.appscode.com';
const VERSION = 'v1beta1';
const FINAL_PHASES = new Set(['Succeeded', 'Failed', 'Skipped']);

/** Options of {@link ExecutorSimulator}. */
export interface ExecutorSimulatorOptions {
  kubeConfig: KubeConfig;
  backupSeconds: number;
  log: (line: string) => void;
  /** Delay before an informer that failed (e.g. CRDs not installed yet) starts again. */
  restartDelayMs?: number;
  /** How often every cached session is looked at again (default 2000 ms). */
  resyncMs?: number;
}

type Conditions = Array<{ type: string; status: string }> | undefined;

function conditionTrue(conds: Conditions, type: string): boolean {
  return Array.isArray(conds) && conds.some((c) => c?.type === type && c.status === 'True');
}

function sameRef(a: TargetRef | undefined, b: TargetRef): boolean {
  return !!a && a.kind === b.kind && a.name === b.name && (a.apiVersion ?? '') === (b.apiVersion ?? '');
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

class Closed extends Error {}

type Operation = 'backup' | 'restore';

/** What a target's backup or restore will do: its hosts, and whether (and how) they fail. */
interface Plan {
  hosts: string[];
  failed: boolean;
  error: string;
}

/** Stash's hostname when a target has one host (stash `pkg/util/util.go`, `DefaultHost`). */
const DEFAULT_HOST = 'host-0';
/** The restore init container Stash injects into a workload (stash `pkg/util`, `StashInitContainer`). */
const RESTORE_INIT_CONTAINER = 'stash-init';
/**
 * Kinds whose backup and restore run in one replica: their pods elect a leader, and only the
 * leader's sidecar or init container does the work (stash `pkg/backup/backupsession.go`,
 * `electLeaderPod`; `pkg/restore`, `electRestoreLeader`), so the target has one host. Stash's
 * operator counts them so: `getTotalHostForRestic` (stash `pkg/controller`) gives StatefulSet its
 * replicas, DaemonSet its scheduled pods, every other kind 1. workers/execution/workload-pods.ts
 * runs the hooks of these kinds in that one pod by the same rule.
 */
const LEADER_KINDS: ReadonlySet<string> = new Set(['Deployment', 'ReplicaSet', 'ReplicationController', 'DeploymentConfig']);

/**
 * Whether `p` takes part: a backup runs in a Running pod's sidecar; a restore runs in the
 * `stash-init` init container while the pod is still initialising (phase Pending), or in a
 * Running pod (a native sidecar, or a restore that found the pod up).
 */
function isHostPod(p: V1Pod, operation: Operation): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.status?.phase === 'Running') return true;
  return operation === 'restore' && (p.status?.initContainerStatuses ?? []).some((s) => s.name === RESTORE_INIT_CONTAINER && !!s.state?.running);
}

/**
 * The hostname Stash reports for a pod of a StatefulSet or DaemonSet (stash `pkg/util/util.go`,
 * `GetHostName`): `host-<ordinal>` for a StatefulSet pod, the node's name for a DaemonSet pod.
 */
function hostName(kind: string, p: V1Pod): string {
  const name = p.metadata?.name ?? '';
  if (kind === 'StatefulSet') return `host-${name.slice(name.lastIndexOf('-') + 1)}`;
  return p.spec?.nodeName || name;
}

/**
 * Stash finds a target by its kind alone, each kind in its own API group (stash
 * `pkg/util/util.go`, `IsTargetExist`, switches on `Kind`), so a ref `apiVersion: apps/v1,
 * kind: AppBinding` names the appcatalog AppBinding. Kinds not listed are read as the ref says.
 */
const KIND_API_VERSION: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  ReplicationController: 'v1',
  PersistentVolumeClaim: 'v1',
  DeploymentConfig: 'apps.openshift.io/v1',
  AppBinding: 'appcatalog.appscode.com/v1alpha1',
};

/** host-2 before host-10. */
function byHost(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const isClosed = (err: unknown): boolean => err instanceof Closed || err instanceof WriterClosed;

/** Plays the backup executor against the API; `start()` then `close()`. */
export class ExecutorSimulator {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly objects: KubernetesObjectApi;
  private readonly informers: Array<Informer<KubernetesObject> & ObjectCache<KubernetesObject>> = [];
  /** Targets taken, per session uid (a deleted session's entry goes with it). */
  private readonly handled = new Map<string, Set<string>>();
  private readonly writer: StatusWriter;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<void>>();
  /** Wakes every pending `sleep` with `Closed`, so close() never waits out a backup. */
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: ExecutorSimulatorOptions) {
    // One keep-alive pool: a 1,000-member batch is thousands of calls (client-node connects anew per call).
    const kc = withKeepAlive(options.kubeConfig);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.writer = new StatusWriter({ custom: this.custom, group: GROUP, version: VERSION, log: options.log });
  }

  start(): void {
    this.watch('backupsessions', (o) => this.onBackupSession(o as unknown as BackupSession));
    this.watch('restoresessions', (o) => this.onRestoreSession(o as unknown as RestoreSession));
    this.resync();
  }

  /** Status writes made and lost to conflicts/errors so far (for tests and benchmarks). */
  get writeCounts(): Readonly<StatusWriter['counts']> {
    return this.writer.counts;
  }

  /**
   * Walks every cached session again: a target whose gate is open but that was not taken (an
   * event missed, or a first attempt that failed before the target started) is taken now.
   */
  private resync(): void {
    this.later(this.options.resyncMs ?? 2000, () => {
      const [backups, restores] = this.informers;
      for (const o of backups?.list() ?? []) this.onBackupSession(o as unknown as BackupSession);
      for (const o of restores?.list() ?? []) this.onRestoreSession(o as unknown as RestoreSession);
      this.resync();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writer.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
    await Promise.all(this.informers.map((i) => i.stop().catch(() => {})));
    await Promise.allSettled([...this.inflight]);
  }

  private watch(plural: string, onObject: (o: KubernetesObject) => void): void {
    const informer = makeInformer(
      this.options.kubeConfig,
      `/apis/${GROUP}/${VERSION}/${plural}`,
      () => this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as never,
    );
    informer.on('add', onObject);
    informer.on('update', onObject);
    // A deleted session's bookkeeping goes with it (a recreated one has a new uid).
    informer.on('delete', (o) => this.forget(o.metadata?.uid));
    let lastReported = '';
    informer.on('error', (err: unknown) => {
      if (this.closed) return;
      // Until the Stash CRDs are applied the list is a 404; keep trying, and say so once.
      const text = isStatus(err, 404)
        ? `${plural} not served yet (Stash CRDs not applied); waiting`
        : `${plural} watch failed, restarting: ${(err as Error)?.message ?? String(err)}`;
      if (text !== lastReported) this.options.log(`devcluster executor: ${text}`);
      lastReported = text;
      this.later(this.options.restartDelayMs ?? 500, () => {
        informer.start().catch(() => {});
      });
    });
    this.informers.push(informer);
    informer.start().catch(() => {});
  }

  private forget(uid: string | undefined): void {
    if (uid) this.handled.delete(uid);
  }

  /** Takes a target for this process; false when it was taken already. */
  private take(uid: string, key: string): boolean {
    let keys = this.handled.get(uid);
    if (!keys) this.handled.set(uid, (keys = new Set()));
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Closed());
      const wake = (): void => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        reject(new Closed());
      };
      const t = setTimeout(() => {
        this.sleepers.delete(wake);
        if (this.closed) reject(new Closed());
        else resolve();
      }, ms);
      this.sleepers.add(wake);
    });
  }

  /**
   * Runs one target's work. Status writes never fail short of close(), so a failure means the
   * target did not start (its plan could not be read): it is given back, and the next resync
   * takes it again.
   */
  private track(name: string, uid: string, key: string, work: () => Promise<void>): void {
    const p = work()
      .catch((err) => {
        if (isClosed(err) || this.closed) return;
        this.options.log(`devcluster executor: ${name}: ${(err as Error)?.message ?? String(err)}; retrying`);
        this.handled.get(uid)?.delete(key);
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private onBackupSession(bs: BackupSession): void {
    if (this.closed || FINAL_PHASES.has(bs.status?.phase ?? '')) return;
    // Anyone may write a session's status; garbage there must not throw out of an informer callback.
    const targets = Array.isArray(bs.status?.targets) ? bs.status.targets : [];
    targets.forEach((t, i) => {
      if (typeof t !== 'object' || t === null || t.phase !== 'Pending' || !conditionTrue(t.conditions, 'ReadyForBackup') || !t.ref) return;
      const uid = bs.metadata.uid!;
      const key = `backup/${i}/${t.ref.kind}/${t.ref.name}`;
      if (!this.take(uid, key)) return;
      this.track(`BackupSession ${bs.metadata.namespace}/${bs.metadata.name} target ${i}`, uid, key, () => this.runBackupTarget(bs, i, t.ref));
    });
  }

  private onRestoreSession(rs: RestoreSession): void {
    if (this.closed || FINAL_PHASES.has(rs.status?.phase ?? '')) return;
    if (!conditionTrue(rs.status?.conditions, 'ReadyForRestore') || (rs.status?.stats ?? []).length > 0) return;
    const uid = rs.metadata.uid!;
    if (!this.take(uid, 'restore')) return;
    this.track(`RestoreSession ${rs.metadata.namespace}/${rs.metadata.name}`, uid, 'restore', () => this.runRestore(rs));
  }

  /** The hosts of a target and the result the annotations ask for. */
  private async plan(ref: TargetRef | undefined, namespace: string, operation: Operation): Promise<Plan> {
    if (!ref?.kind || !ref.name) return { hosts: [DEFAULT_HOST], failed: false, error: '' };
    const ns = ref.namespace || namespace;
    let target: KubernetesObject | undefined;
    try {
      const apiVersion = KIND_API_VERSION[ref.kind] ?? ref.apiVersion;
      target = await this.objects.read({ apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ns } });
    } catch (err) {
      // A target that does not exist as an object (e.g. a PVC kind we do not serve) backs up as one host.
      if (!isStatus(err, 404) && !/unrecognized|not found|resource .* not/i.test(String((err as Error)?.message))) throw err;
    }
    const annotations = target?.metadata?.annotations ?? {};
    const failed = annotations[RESULT_ANNOTATION] === 'Failed';
    const error = annotations[ERROR_ANNOTATION] || 'backup failed';
    if (!target || !isWorkloadKind(ref.kind)) return { hosts: [DEFAULT_HOST], failed, error };
    const raw = ((target as { spec?: { selector?: LabelSelectorSpec | Record<string, string> } }).spec?.selector ?? {}) as Record<string, unknown>;
    // ReplicationController and DeploymentConfig select with a plain label map.
    const selector: LabelSelectorSpec =
      'matchLabels' in raw || 'matchExpressions' in raw ? (raw as LabelSelectorSpec) : { matchLabels: raw as Record<string, string> };
    const pods = await this.core.listNamespacedPod({ namespace: ns, labelSelector: labelSelectorToString(selector) });
    const working = pods.items.filter((p) => isHostPod(p, operation));
    if (working.length === 0) {
      const what = operation === 'restore' ? `no running pods (nor pods running ${RESTORE_INIT_CONTAINER})` : 'no running pods';
      return { hosts: [DEFAULT_HOST], failed: true, error: `${what} for ${ref.kind} ${ns}/${ref.name}` };
    }
    // One replica backs up or restores for the others (its leader); every replica does for the rest.
    if (LEADER_KINDS.has(ref.kind)) return { hosts: [DEFAULT_HOST], failed, error };
    const hosts = [...new Set(working.map((p) => hostName(ref.kind, p)))].sort(byHost);
    return { hosts, failed, error };
  }

  private hostStats(plan: Plan, ms: number): HostStats[] {
    return plan.hosts.map((hostname) =>
      plan.failed
        ? { hostname, phase: 'Failed', duration: formatDuration(ms), error: plan.error }
        : { hostname, phase: 'Succeeded', duration: formatDuration(ms) },
    );
  }

  private async runBackupTarget(bs: BackupSession, index: number, ref: TargetRef): Promise<void> {
    const namespace = bs.metadata.namespace!;
    const name = bs.metadata.name!;
    const uid = bs.metadata.uid;
    const plan = await this.plan(ref, namespace, 'backup');
    const pick = (obj: BackupSession): BackupTargetStatus | undefined => {
      const t = obj.status?.targets?.[index];
      return obj.metadata.uid === uid && sameRef(t?.ref, ref) ? t : undefined;
    };
    const key: SessionKey = { plural: 'backupsessions', namespace, name, uid: uid! };
    let tried = false;
    const started = await this.writer.update<BackupSession>(key, (obj) => {
      const t = pick(obj);
      // Our own earlier attempt may have landed though its answer was lost: then it is ours.
      if (tried && t?.phase === 'Running') return true;
      if (!t || t.phase !== 'Pending' || FINAL_PHASES.has(obj.status?.phase ?? '')) return false;
      t.phase = 'Running';
      t.totalHosts = plan.hosts.length;
      tried = true;
      return true;
    });
    if (!started) return;
    this.options.log(`devcluster executor: backing up ${ref.kind}/${ref.name} for BackupSession ${namespace}/${name} (${plan.hosts.length} host(s))`);
    const t0 = Date.now();
    await this.sleep(this.options.backupSeconds * 1000);
    await this.writer.update<BackupSession>(key, (obj) => {
      const t = pick(obj);
      // stash-hooks may have failed the target meanwhile (deadline); its word stands.
      if (!t || t.phase !== 'Running') return false;
      t.stats = this.hostStats(plan, Date.now() - t0);
      t.phase = plan.failed ? 'Failed' : 'Succeeded';
      return true;
    });
    this.options.log(`devcluster executor: ${ref.kind}/${ref.name} of BackupSession ${namespace}/${name} ${plan.failed ? 'Failed' : 'Succeeded'}`);
  }

  private async runRestore(rs: RestoreSession): Promise<void> {
    const namespace = rs.metadata.namespace!;
    const name = rs.metadata.name!;
    const uid = rs.metadata.uid;
    const plan = await this.plan(rs.spec?.target?.ref, namespace, 'restore');
    const key: SessionKey = { plural: 'restoresessions', namespace, name, uid: uid! };
    const started = await this.writer.update<RestoreSession>(key, (obj) => {
      if (obj.metadata.uid !== uid || (obj.status?.stats ?? []).length > 0 || FINAL_PHASES.has(obj.status?.phase ?? '')) return false;
      obj.status!.totalHosts = plan.hosts.length;
      return true;
    });
    if (!started) return;
    const t0 = Date.now();
    await this.sleep(this.options.backupSeconds * 1000);
    await this.writer.update<RestoreSession>(key, (obj) => {
      if (obj.metadata.uid !== uid || (obj.status?.stats ?? []).length > 0 || FINAL_PHASES.has(obj.status?.phase ?? '')) return false;
      obj.status!.stats = this.hostStats(plan, Date.now() - t0);
      return true;
    });
    this.options.log(`devcluster executor: restore of RestoreSession ${namespace}/${name} ${plan.failed ? 'Failed' : 'Succeeded'}`);
  }
}
