/**
 * Starting the components of a role on a shared runtime (cli/runtime.ts): the coordinator, the
 * hook worker pools, the watcher and the dashboard. Components register their close first, so a
 * failure half-way through start-up still shuts everything down.
 */
import { hostname } from 'node:os';
import type { Config } from '../shared/config.js';
import { HOOK_QUEUES } from '../shared/queues.js';
import { bullPrefix, createRedisClient } from '../shared/redis.js';
import { Watcher } from '../producers/watcher.js';
import { Coordinator } from '../workers/coordinator.js';
import { HookWorkerPool } from '../workers/hook-worker.js';
import { startDashboard } from '../dashboard/dashboard.js';
import { createRuntime, type RoleRuntime } from './runtime.js';

export type Component = 'watcher' | 'coordinator' | 'worker' | 'dashboard';

/** Starts the given components on `rt`; returns a description of each for the log. */
export async function startComponents(
  rt: RoleRuntime,
  config: Config,
  components: readonly Component[],
  opts: { lease?: boolean } = {},
): Promise<{ watcher?: Watcher; dashboardUrl?: string }> {
  const common = { kubeConfig: rt.kubeConfig, redis: config.redis, prefix: config.prefix, logger: rt.logger };
  const out: { watcher?: Watcher; dashboardUrl?: string } = {};
  if (components.includes('coordinator')) {
    const coordinator = new Coordinator({ ...common, sessionTimeoutMs: config.sessionTimeoutMs ?? 86_400_000 });
    rt.onStop('coordinator', () => coordinator.close());
    coordinator.start();
  }
  if (components.includes('worker')) {
    const pool = new HookWorkerPool({
      ...common,
      queues: config.queues ?? HOOK_QUEUES,
      concurrency: config.concurrency,
      defaultHookTimeoutSeconds: config.hookTimeoutSeconds,
      sessionTimeoutMs: config.sessionTimeoutMs ?? 86_400_000,
      network: { deny: config.denyCidrs, allow: config.allowCidrs },
      protectedNamespaces: config.protectedNamespaces,
      allowLoopback: config.allowLoopback ?? 'auto',
      ownNamespace: config.ownNamespace,
      namespaceConcurrency: config.namespaceConcurrency,
      maxHookTimeoutSeconds: config.maxHookTimeoutSeconds,
      identity: config.identity ?? hostname(),
      leaseNamespace: config.leaseNamespace ?? 'default',
      metrics: rt.metrics,
      outcomeKey: config.outcomeKey,
    });
    rt.onStop('hook workers', () => pool.close((config.shutdownGraceSeconds ?? 30) * 1000));
    pool.start();
    // Not ready until the network guard has read the infrastructure addresses and the render threads loaded.
    rt.readyWhen('hook workers', () => pool.ready());
  }
  if (components.includes('watcher')) {
    const watcher = new Watcher({
      ...common,
      namespaces: config.namespaces ?? [],
      watchdogSeconds: config.watchdogSeconds ?? 120,
      metrics: rt.metrics,
      lease:
        opts.lease === false
          ? undefined
          : { name: config.leaseName ?? 'stash-hooks-watcher', namespace: config.leaseNamespace ?? 'default', identity: config.identity ?? hostname() },
    });
    rt.onStop('watcher', () => watcher.close());
    rt.metrics.setSessionSource(() =>
      watcher.sessions().map((s) => ({ kind: s.kind ?? 'BackupSession', phase: s.status?.phase, deadline: s.status?.sessionDeadline })),
    );
    watcher.start();
    rt.readyWhen('informers', async () => {
      if (!watcher.synced) throw new Error('informers have not listed yet');
    });
    out.watcher = watcher;
  }
  if (components.includes('dashboard')) {
    // A client of our own factory, so Sentinel, Cluster and a private CA work as everywhere else.
    // Patient (offline queue on): the board starts before Redis answers and catches up.
    const connection = createRedisClient(config.redis, { purpose: 'worker', connectionName: 'stash-hooks-dashboard' });
    connection.on('error', (err) => rt.logger.warn({ err: err.message }, 'redis connection error (dashboard)'));
    rt.onStop('dashboard redis', async () => connection.disconnect());
    const dashboard = await startDashboard({
      connection,
      prefix: bullPrefix(config.prefix, config.redis),
      host: config.dashboardHost,
      port: config.dashboardPort,
      auth: config.dashboardAuth,
      allowActions: config.allowActions,
      kubeConfig: rt.kubeConfig,
      logger: rt.logger,
    });
    rt.onStop('dashboard', () => dashboard.close());
    rt.logger.info({ url: dashboard.url }, 'dashboard ready');
    out.dashboardUrl = dashboard.url;
  }
  return out;
}

/** Runs `components` until SIGINT/SIGTERM, then drains them. */
export async function serveComponents(components: readonly Component[], role: string, config: Config): Promise<number> {
  const rt = await createRuntime(role, config, { kube: components.some((c) => c !== 'dashboard') ? true : 'optional' });
  try {
    await startComponents(rt, config, components);
    rt.logger.info({ role }, 'started');
    const sig = await rt.signal;
    rt.logger.info({ signal: sig }, 'stopping');
  } finally {
    await rt.stop();
  }
  return 0;
}
