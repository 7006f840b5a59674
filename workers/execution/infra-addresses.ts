/**
 * The addresses of stash-hooks' own infrastructure, which hooks may not reach (DESIGN §11
 * "Network guard"): the Kubernetes API server (the kubeconfig's server, the `kubernetes` Service's
 * ClusterIP and its Endpoints), stash-hooks' own pods, and Redis. Read at start and refreshed, so
 * a moved API server or a rescheduled pod is covered; a read that fails keeps the last answer.
 *
 * Also decides devcluster mode: devcluster (DESIGN §8) gives pods loopback addresses, so on it
 * loopback is the pod network and must stay reachable; its `/version` says so.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CoreV1Api, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../shared/logger.js';
import type { RedisTarget } from '../../shared/redis.js';
import type { InfraAddress } from './network-guard.js';

export interface InfraAddressesOptions {
  kubeConfig: KubeConfig;
  redis?: RedisTarget;
  /** stash-hooks' namespace: its pods labelled `app.kubernetes.io/name=stash-hooks` are denied. */
  ownNamespace?: string;
  /** Default 60 s. */
  refreshMs?: number;
  logger: Logger;
}

const DEFAULT_REFRESH_MS = 60_000;

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

async function resolveAll(host: string): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return [bare];
  return (await lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * On loopback every component of devcluster shares one host, so only the component's own port is
 * denied there; elsewhere an infrastructure address is denied on every port.
 */
function entry(address: string, port: number | undefined, what: string): InfraAddress {
  return isLoopback(address) ? { address, port, what } : { address, what };
}

/** Keeps the infrastructure addresses current; `current()` is what the guard reads. */
export class InfraAddresses {
  private readonly opts: InfraAddressesOptions;
  private readonly core: CoreV1Api;
  private readonly sources = new Map<string, InfraAddress[]>();
  private readonly warned = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private all: InfraAddress[] = [];

  constructor(options: InfraAddressesOptions) {
    this.opts = options;
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Every address known now; loopback ports carry the port they are denied on. */
  current(): readonly InfraAddress[] {
    return this.all;
  }

  /** Reads every source once, then every `refreshMs`. Never throws: a failed source is logged. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? DEFAULT_REFRESH_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** True when the API server is devcluster (its `/version` says so) on a loopback address. */
  async isDevcluster(): Promise<boolean> {
    try {
      const server = new URL(this.opts.kubeConfig.getCurrentCluster()?.server ?? '');
      if (!(await resolveAll(server.hostname)).every(isLoopback)) return false;
      const version = await this.opts.kubeConfig.makeApiClient(VersionApi).getCode();
      return /-devcluster$/.test(version.gitVersion);
    } catch {
      return false;
    }
  }

  async refresh(): Promise<void> {
    await Promise.all([
      this.read('kubeconfig', async () => {
        const server = new URL(this.opts.kubeConfig.getCurrentCluster()?.server ?? '');
        const port = Number(server.port) || (server.protocol === 'https:' ? 443 : 80);
        return (await resolveAll(server.hostname)).map((a) => entry(a, port, 'the Kubernetes API server'));
      }),
      this.read('service', async () => {
        const svc = await this.core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
        const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
        const port = svc.spec?.ports?.[0]?.port;
        return ips.filter((ip) => isIP(ip)).map((ip) => entry(ip, port, 'the Kubernetes API server (Service default/kubernetes)'));
      }),
      this.read('endpoints', async () => {
        const ep = await this.core.readNamespacedEndpoints({ name: 'kubernetes', namespace: 'default' });
        return (ep.subsets ?? []).flatMap((s) =>
          (s.addresses ?? []).map((a) => entry(a.ip, s.ports?.[0]?.port, 'the Kubernetes API server (Endpoints default/kubernetes)')),
        );
      }),
      this.read('pods', async () => {
        if (!this.opts.ownNamespace) return [];
        const pods = await this.core.listNamespacedPod({ namespace: this.opts.ownNamespace, labelSelector: 'app.kubernetes.io/name=stash-hooks' });
        return pods.items.flatMap((p) =>
          (p.status?.podIPs?.map((i) => i.ip) ?? (p.status?.podIP ? [p.status.podIP] : [])).map((ip) =>
            entry(ip, undefined, `stash-hooks' own pod ${this.opts.ownNamespace}/${p.metadata?.name}`),
          ),
        );
      }),
      this.read('redis', async () => {
        const nodes = this.opts.redis?.nodes ?? [];
        const found = await Promise.all(nodes.map(async (n) => (await resolveAll(n.host)).map((a) => entry(a, n.port, "stash-hooks' Redis"))));
        return found.flat();
      }),
    ]);
    // A loopback entry without a port would deny all of loopback: only ports are denied there.
    this.all = [...this.sources.values()].flat().filter((a) => !(isLoopback(a.address) && a.port === undefined));
  }

  private async read(source: string, get: () => Promise<InfraAddress[]>): Promise<void> {
    try {
      this.sources.set(source, await get());
      this.warned.delete(source);
    } catch (err) {
      const status = (err as { code?: number }).code;
      // No Endpoints object or no RBAC to list pods: the other sources still protect.
      if (status === 404) this.sources.set(source, []);
      else if (!this.warned.has(source)) {
        this.warned.add(source);
        this.opts.logger.warn(
          { source, err: (err as Error).message },
          'could not read infrastructure addresses for the network guard; keeping the last known ones',
        );
      }
    }
  }
}
