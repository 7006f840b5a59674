/**
 * A hook worker's heartbeat outside Redis (docs/reliability.md "A record outside Redis"): one
 * `coordination.k8s.io/v1` Lease per worker process, renewed every `renewIntervalMs`. A hook's
 * `HookRunning` condition names the worker running it; a job rebuilt after Redis lost the original
 * asks {@link WorkerHeartbeat.isAlive} whether that worker still lives before it runs the hook again.
 *
 * The Lease is named after the incarnation (`<POD_NAME>/<random id>`), so a restarted container
 * is a new worker and its predecessor's Lease simply expires; expired worker Leases older than
 * {@link STALE_LEASE_MS} are deleted by the next worker that starts.
 */
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, PatchStrategy, setHeaderOptions, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { apiStatusCode, kubeError } from '../shared/kube-api.js';
import type { Logger } from '../shared/logger.js';
import { errorMessage } from '../shared/errors.js';

/** The label every worker heartbeat Lease carries (for the clean-up of expired ones). */
export const HEARTBEAT_LABEL = 'stash-hooks.dev/worker-heartbeat';

/** Expired worker Leases are deleted once they have been expired this long. */
const STALE_LEASE_MS = 10 * 60_000;

export interface WorkerHeartbeatOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The replica's name (`POD_NAME`); the incarnation adds a random id to it. */
  podName: string;
  logger: Logger;
  /** A worker that has not renewed for this long is gone. Default 15. */
  leaseDurationSeconds?: number;
  /**
   * Default 3000. Renewals go out on this beat whether or not the last one has answered, so a slow
   * API server (a request taking up to `leaseDurationSeconds` minus this) does not let it lapse.
   */
  renewIntervalMs?: number;
}

/** The Lease name of a worker incarnation: a DNS subdomain derived from it, stable and unique enough. */
export function heartbeatLeaseName(worker: string): string {
  const slug = worker
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `stash-hooks-worker-${slug}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');
}

export class WorkerHeartbeat {
  /** This process: `<POD_NAME>/<random id>`; what a `HookRunning` condition names. */
  readonly worker: string;
  private readonly api: CoordinationV1Api;
  private readonly opts: Required<Omit<WorkerHeartbeatOptions, 'kubeConfig'>>;
  private readonly name: string;
  private created = false;
  private creating: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastRenewMs = 0;
  private warned = false;
  private lastError: string | undefined;

  constructor(options: WorkerHeartbeatOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.opts = { leaseDurationSeconds: 15, renewIntervalMs: 3000, ...options };
    this.worker = `${options.podName}/${randomBytes(4).toString('hex')}`;
    this.name = heartbeatLeaseName(this.worker);
  }

  /** Starts renewing; resolves after the first attempt (success or not: a failure is logged and retried). */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.beat(), this.opts.renewIntervalMs);
    this.timer.unref();
    await this.beat();
    void this.cleanUp();
  }

  /** Why the Lease is not renewed, for messages: which Lease, and the last error. */
  get problem(): string {
    return `Lease ${this.opts.namespace}/${this.name}: ${this.lastError ?? 'not renewed yet'}`;
  }

  /** Whether this process's Lease was renewed within its duration (a hook it starts is covered). */
  get healthy(): boolean {
    return Date.now() - this.lastRenewMs < this.opts.leaseDurationSeconds * 1000;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const { namespace, leaseDurationSeconds } = this.opts;
    // MicroTime fields must be written with six fractional digits, or a real API server refuses them.
    const now = new V1MicroTime();
    try {
      if (!this.created) {
        // One create at a time; beats meanwhile wait for it rather than racing it.
        this.creating ??= this.create(now).finally(() => (this.creating = undefined));
        await this.creating;
      } else {
        // A merge patch of renewTime alone: concurrent beats never conflict.
        await this.api.patchNamespacedLease(
          { name: this.name, namespace, body: { spec: { renewTime: now, leaseDurationSeconds } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      this.lastRenewMs = Math.max(this.lastRenewMs, now.getTime());
      if (this.warned) this.opts.logger.info({ lease: `${namespace}/${this.name}` }, 'worker heartbeat renewed again');
      this.warned = false;
    } catch (err) {
      this.lastError = errorMessage(err);
      if (apiStatusCode(err) === 404) this.created = false; // deleted under us: create it again
      if (!this.warned || !this.healthy) {
        this.opts.logger.warn(
          { lease: `${namespace}/${this.name}`, err: errorMessage(err) },
          this.healthy
            ? 'could not renew the worker heartbeat Lease; retrying'
            : 'the worker heartbeat Lease has lapsed: other workers treat hooks this worker runs as stopped and may run them again',
        );
        this.warned = true;
      }
    }
  }

  private async create(now: V1MicroTime): Promise<void> {
    const { namespace, leaseDurationSeconds } = this.opts;
    try {
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: this.name, namespace, labels: { [HEARTBEAT_LABEL]: 'true' } },
          spec: { holderIdentity: this.worker, leaseDurationSeconds, acquireTime: now, renewTime: now },
        },
      });
    } catch (err) {
      // 409: an earlier create landed though its answer was lost; the next beat renews it.
      if (apiStatusCode(err) !== 409) throw kubeError(err, `creating Lease ${namespace}/${this.name}`);
    }
    this.created = true;
  }

  private async read(name: string): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name, namespace: this.opts.namespace });
    } catch (err) {
      if (apiStatusCode(err) === 404) return undefined;
      throw kubeError(err, `reading Lease ${this.opts.namespace}/${name}`);
    }
  }

  /**
   * Whether `worker` (a name from a `HookRunning` condition) still renews its Lease. This process
   * answers for itself without a read. A failed read throws (the caller retries later).
   */
  async isAlive(worker: string): Promise<boolean> {
    if (worker === this.worker) return !this.closed;
    const lease = await this.read(heartbeatLeaseName(worker));
    if (!lease || lease.spec?.holderIdentity !== worker) return false;
    const renewed = lease.spec.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    return renewed + (lease.spec.leaseDurationSeconds ?? this.opts.leaseDurationSeconds) * 1000 > Date.now();
  }

  /** Deletes worker Leases expired for longer than STALE_LEASE_MS (crashed incarnations'). */
  private async cleanUp(): Promise<void> {
    try {
      const list = await this.api.listNamespacedLease({ namespace: this.opts.namespace, labelSelector: `${HEARTBEAT_LABEL}=true` });
      for (const lease of list.items) {
        const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
        const expiredAt = renewed + (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
        if (Date.now() - expiredAt < STALE_LEASE_MS || lease.metadata?.name === this.name) continue;
        await this.api.deleteNamespacedLease({ name: lease.metadata!.name!, namespace: this.opts.namespace }).catch(() => undefined);
      }
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, 'could not clean up expired worker heartbeat Leases');
    }
  }

  /** Stops renewing and deletes the Lease: hooks this worker did not finish are free to run again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.api.deleteNamespacedLease({ name: this.name, namespace: this.opts.namespace });
    } catch (err) {
      if (apiStatusCode(err) !== 404) this.opts.logger.warn({ err: errorMessage(err) }, 'could not delete the worker heartbeat Lease; it expires by itself');
    }
  }
}
