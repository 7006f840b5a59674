/**
 * One scenario's world: devcluster (own process), the stash-hooks roles (own processes, as
 * deployed: `watcher`, `coordinator`, `worker`), real Redis under a private prefix, and the sink
 * and load generator in this process.
 */
import { randomUUID } from 'node:crypto';
import { kubeHttp, type KubeHttp } from './kube-http.js';
import { startBenchSink, type BenchSink } from './sink.js';
import { cpuSeconds, deletePrefix, redisTarget, startDevclusterProcess, startRole, type DevclusterProc, type Proc } from './processes.js';

export interface HarnessOptions {
  /** Start devcluster's executor simulator (default true). */
  executor?: boolean;
  backupSeconds?: number;
  /** Roles to start; each entry is one process. Default watcher, coordinator, worker. */
  roles?: Array<{ role: string; args?: string[] }>;
  /** `STASH_HOOKS_CONCURRENCY` of worker processes. */
  concurrency?: number;
  slowMs?: number;
  cpuProfDir?: string;
  verbose?: boolean;
}

export interface Harness {
  cluster: DevclusterProc;
  k: KubeHttp;
  sink: BenchSink;
  prefix: string;
  roles: Proc[];
  startRoles(roles: Array<{ role: string; args?: string[] }>): Proc[];
  stopRoles(): Promise<void>;
  /** CPU seconds used so far by devcluster and by the roles. */
  cpu(): { devcluster: number; roles: number };
  close(): Promise<void>;
}

export const DEFAULT_ROLES = [{ role: 'watcher' }, { role: 'coordinator' }, { role: 'worker' }];

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const cluster = await startDevclusterProcess({ executor: opts.executor ?? true, backupSeconds: opts.backupSeconds ?? 0, verbose: opts.verbose });
  const sink = await startBenchSink(opts.slowMs ?? 100);
  const k = kubeHttp(cluster.url, 64);
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const redis = redisTarget();
  let closed = false;
  const h: Harness = {
    cluster,
    k,
    sink,
    prefix,
    roles: [],
    startRoles(roles) {
      const started = roles.map(({ role, args }) =>
        startRole(role, args ?? [], {
          kubeconfigPath: cluster.kubeconfigPath,
          redisUrl: redis.url,
          prefix,
          cpuProfDir: opts.cpuProfDir,
          verbose: opts.verbose,
          extra: opts.concurrency ? { STASH_HOOKS_CONCURRENCY: String(opts.concurrency) } : {},
        }),
      );
      h.roles.push(...started);
      return started;
    },
    async stopRoles() {
      await Promise.all(h.roles.splice(0).map((r) => r.close()));
    },
    cpu() {
      const safe = (pid: number) => {
        try {
          return cpuSeconds(pid);
        } catch {
          return 0;
        }
      };
      return { devcluster: safe(cluster.pid), roles: h.roles.reduce((a, r) => a + safe(r.pid), 0) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await h.stopRoles();
      k.close();
      await sink.close();
      await cluster.close();
      await deletePrefix(redis.target, prefix);
    },
  };
  if (opts.roles !== undefined ? opts.roles.length : true) h.startRoles(opts.roles ?? DEFAULT_ROLES);
  return h;
}
