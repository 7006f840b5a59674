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
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
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
  /** Default 5000. */
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
  private lease: V1Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastRenewMs = 0;
  private warned = false;

  constructor(options: WorkerHeartbeatOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.opts = { leaseDurationSeconds: 15, renewIntervalMs: 5000, ...options };
    this.worker = `${options.podName}/${randomBytes(4).toString('hex')}`;
    this.name = heartbeatLeaseName(this.worker);
  }

  /** Starts renewing; resolves after the first attempt (success or not: a failure is logged and retried). */
  async start(): Promise<void> {
    await this.beat();
    void this.cleanUp();
  }

  /** Whether this process's Lease was renewed within its duration (a hook it starts is covered). */
  get healthy(): boolean {
    return Date.now() - this.lastRenewMs < this.opts.leaseDurationSeconds * 1000;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.beat(), this.opts.renewIntervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { namespace, leaseDurationSeconds } = this.opts;
    // MicroTime fields must be written with six fractional digits, or a real API server refuses them.
    const now = new V1MicroTime();
    try {
      if (!this.lease) {
        this.lease = await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name: this.name, namespace, labels: { [HEARTBEAT_LABEL]: 'true' }, annotations: { [HEARTBEAT_LABEL]: this.worker } },
            spec: { holderIdentity: this.worker, leaseDurationSeconds, acquireTime: now, renewTime: now },
          },
        });
      } else {
        this.lease = await this.api.replaceNamespacedLease({
          name: this.name,
          namespace,
          body: { ...this.lease, spec: { ...this.lease.spec, renewTime: now } },
        });
      }
      this.lastRenewMs = now.getTime();
      if (this.warned) this.opts.logger.info({ lease: `${namespace}/${this.name}` }, 'worker heartbeat renewed again');
      this.warned = false;
    } catch (err) {
      const code = apiStatusCode(err);
      // 409: our copy is stale (or a create raced a retry that landed): read it and go on.
      if (code === 409 || code === 404) this.lease = code === 409 ? await this.read(this.name).catch(() => undefined) : undefined;
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
    this.schedule();
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
    if (this.timer) clearTimeout(this.timer);
    try {
      await this.api.deleteNamespacedLease({ name: this.name, namespace: this.opts.namespace });
    } catch (err) {
      if (apiStatusCode(err) !== 404) this.opts.logger.warn({ err: errorMessage(err) }, 'could not delete the worker heartbeat Lease; it expires by itself');
    }
  }
}
