/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it: the
 * holder renews `renewTime` every `renewIntervalMs`; a candidate takes the Lease over only when it
 * is free or its holder has not renewed for `leaseDurationSeconds`. Writes carry the
 * resourceVersion they read, so two candidates racing get one 409 and one Lease.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { apiStatusCode, kubeError } from '../shared/kube-api.js';
import type { Logger } from '../shared/logger.js';

export interface LeaseElectorOptions {
  kubeConfig: KubeConfig;
  name: string;
  namespace: string;
  identity: string;
  /** How long a holder that stopped renewing keeps the Lease. Default 15. */
  leaseDurationSeconds?: number;
  /** How often the holder renews and a candidate retries. Default 5000 / 2000. */
  renewIntervalMs?: number;
  retryIntervalMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  logger: Logger;
}

type State = 'idle' | 'candidate' | 'leader' | 'closed';

export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: Required<Omit<LeaseElectorOptions, 'kubeConfig'>>;
  private state: State = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private lastRenewMs = 0;

  constructor(options: LeaseElectorOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.opts = { leaseDurationSeconds: 15, renewIntervalMs: 5000, retryIntervalMs: 2000, ...options };
    if (this.opts.renewIntervalMs >= this.opts.leaseDurationSeconds * 1000) {
      throw new RangeError(`renewIntervalMs (${this.opts.renewIntervalMs}) must be shorter than leaseDurationSeconds (${this.opts.leaseDurationSeconds}s)`);
    }
  }

  get isLeader(): boolean {
    return this.state === 'leader';
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'candidate';
    void this.tick();
  }

  private schedule(ms: number): void {
    if (this.state === 'closed') return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.state === 'closed') return;
    try {
      const held = await this.tryAcquireOrRenew();
      if (held) {
        this.lastRenewMs = Date.now();
        if (this.state === 'candidate') {
          this.state = 'leader';
          this.opts.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
          await this.opts.onStartedLeading();
        }
      } else if (this.state === 'leader') {
        await this.stepDown('another replica holds the Lease');
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'lease renewal failed');
      // Keep leading through short API outages, but never past the point where another
      // replica may legitimately take the Lease over.
      if (this.state === 'leader' && Date.now() - this.lastRenewMs > this.opts.leaseDurationSeconds * 1000 - this.opts.renewIntervalMs) {
        await this.stepDown('could not renew the Lease in time');
      }
    }
    this.schedule(this.state === 'leader' ? this.opts.renewIntervalMs : this.opts.retryIntervalMs);
  }

  private async stepDown(reason: string): Promise<void> {
    if (this.state !== 'leader') return;
    this.state = 'candidate';
    this.opts.logger.warn({ reason }, 'stopped leading');
    await this.opts.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity, leaseDurationSeconds } = this.opts;
    // MicroTime fields must be written with six fractional digits, or a real API server refuses them.
    const now = new V1MicroTime();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (apiStatusCode(err) !== 404) throw kubeError(err, `reading Lease ${namespace}/${name}`);
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        return true;
      } catch (createErr) {
        if (apiStatusCode(createErr) === 409) return false;
        throw kubeError(createErr, `creating Lease ${namespace}/${name}`);
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 < now.getTime();
    if (holder !== identity && holder !== '' && !expired) return false;
    const takeover = holder !== identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: now,
        ...(takeover ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body });
      return true;
    } catch (err) {
      if (apiStatusCode(err) === 409) return false;
      throw kubeError(err, `updating Lease ${namespace}/${name}`);
    }
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasLeader = this.state === 'leader';
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    if (!wasLeader) return;
    const { name, namespace, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity === identity) {
        await this.api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', renewTime: new V1MicroTime(0) } },
        });
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not release the Lease; a standby takes over when it expires');
    }
    await this.opts.onStoppedLeading();
  }
}
