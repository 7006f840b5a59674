/**
 * What every long-running role shares: the logger, the kubeconfig, the metrics registry and the
 * ops server (/healthz, /readyz, /metrics), and the stop signal. Components are started by the
 * role and closed here in reverse order, every step run even if one fails.
 */
import { noteExitReason } from './exit-reason.js';
import { delimiter } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { withKeepAlive } from '../shared/kube-keep-alive.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createMetrics, queueAgesFrom, queueDepthsFrom, type Metrics } from '../shared/metrics.js';
import { readinessFromChecks, startOpsServer, type OpsServer } from '../shared/ops-server.js';
import { ALL_QUEUES } from '../shared/queues.js';
import { bullPrefix, connectRedis, describeRedisTarget, type RedisClient } from '../shared/redis.js';

/**
 * Loads the kubeconfig of `--kubeconfig`/`KUBECONFIG`, else ~/.kube/config, else the in-cluster
 * service account (client-node's `loadFromDefault` order). `KUBECONFIG` may list several files
 * separated by `:` (`;` on Windows), as kubectl accepts: they are merged, the first file's
 * current context and the first definition of each name win.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) {
      const [first, ...rest] = path.split(delimiter).filter((f) => f !== '');
      kc.loadFromFile(first ?? path);
      for (const file of rest) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        // kubectl's rule: the first file that sets a name wins (client-node throws on a duplicate).
        const fresh = <T extends { name: string }>(mine: T[], theirs: T[]) => theirs.filter((t) => !mine.some((m) => m.name === t.name));
        more.clusters = fresh(kc.clusters, more.clusters);
        more.users = fresh(kc.users, more.users);
        more.contexts = fresh(kc.contexts, more.contexts);
        kc.mergeConfig(more, true);
      }
    } else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError([`--kubeconfig (KUBECONFIG): cannot load "${path ?? '~/.kube/config'}": ${errorMessage(err)}`]);
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError([
      `--kubeconfig (KUBECONFIG): no current cluster in ${path ?? 'the default kubeconfig'}; set the context or point KUBECONFIG at a cluster`,
    ]);
  }
  return kc;
}

export interface RoleRuntime {
  logger: Logger;
  kubeConfig: KubeConfig;
  metrics: Metrics;
  registry: Registry;
  /** Registers a cleanup step; steps run in reverse order on stop. */
  onStop(name: string, step: () => Promise<unknown>): void;
  /** Adds a readiness check (resolves when healthy). */
  readyWhen(name: string, check: () => Promise<unknown>): void;
  ops?: OpsServer;
  /** Resolves on SIGINT or SIGTERM. */
  signal: Promise<string>;
  stop(): Promise<void>;
}

/**
 * The cluster of a role that can do without one (the dashboard: its Sessions page reads sessions,
 * its queues need only Redis): the default kubeconfig or the in-cluster service account when
 * there is one, else none, said once in the log.
 */
function optionalKubeConfig(logger: Logger): KubeConfig {
  try {
    const kc = loadKubeConfig(undefined);
    // client-node's loadFromDefault falls back to an unauthenticated http://localhost:8080 when it
    // finds nothing: that is no cluster, not one to show errors from.
    const cluster = kc.getCurrentCluster();
    if (cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080') throw new Error('no kubeconfig and not in a cluster');
    return kc;
  } catch (err) {
    logger.info({ reason: errorMessage(err) }, 'no Kubernetes cluster configured: the Sessions page will say so; the queues are shown as usual');
    return new KubeConfig();
  }
}

export async function createRuntime(
  role: string,
  config: Config,
  options: { kube?: boolean | 'optional'; serveOps?: boolean; kubeConfig?: KubeConfig; logger?: Logger } = {},
): Promise<RoleRuntime> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: `stash-hooks-${role}` });
  // One keep-alive connection pool for every API client of the process (client-node 1.x opens a
  // new connection per request otherwise; shared/kube-keep-alive.ts).
  const kubeConfig = withKeepAlive(
    options.kubeConfig ??
      (options.kube === false ? new KubeConfig() : options.kube === 'optional' ? optionalKubeConfig(logger) : loadKubeConfig(config.kubeconfig)),
  );
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const steps: Array<{ name: string; step: () => Promise<unknown> }> = [];
  const checks: Record<string, () => Promise<unknown>> = {};

  // One fail-fast connection for readiness and queue depths; a dead Redis shows on /readyz.
  let probe: RedisClient | undefined;
  try {
    probe = await connectRedis(config.redis, { purpose: 'producer', connectionName: `stash-hooks-${role}-probe`, tlsCaFile: config.redisCaFile });
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'Redis is not reachable yet; components keep retrying');
  }
  if (probe) {
    const client = probe;
    client.on('error', (err) => logger.warn({ err: err.message }, 'redis probe error'));
    checks.redis = () => client.ping();
    const queues = ALL_QUEUES.map((name) => new Queue(name, { connection: client, prefix: bullPrefix(config.prefix, config.redis) }));
    metrics.setQueueDepthSource(queueDepthsFrom(queues));
    metrics.setQueueAgeSource(queueAgesFrom(queues));
    steps.push({
      name: 'redis probe',
      step: async () => {
        await Promise.all(queues.map((q) => q.close()));
        client.disconnect();
      },
    });
  } else {
    checks.redis = () => Promise.reject(new Error(`not connected to ${describeRedisTarget(config.redis)}`));
  }
  // An optional cluster (the dashboard's Sessions page) never makes the role unready.
  if (options.kube !== false && options.kube !== 'optional') {
    const version = kubeConfig.makeApiClient(VersionApi);
    checks.kubernetes = () => version.getCode();
  }

  let ops: OpsServer | undefined;
  if (options.serveOps !== false) {
    ops = await startOpsServer({ host: config.httpHost, port: config.httpPort, registry, readiness: readinessFromChecks(checks) });
    steps.push({ name: 'ops server', step: () => ops!.close() });
    logger.info({ url: ops.url }, 'serving /healthz, /readyz and /metrics');
  }

  const signal = new Promise<string>((resolve) => {
    const on = (sig: string) => () => {
      noteExitReason(`${sig} received`);
      resolve(sig);
    };
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });

  let stopping: Promise<void> | undefined;
  return {
    logger,
    kubeConfig,
    metrics,
    registry,
    ops,
    signal,
    onStop: (name, step) => steps.push({ name, step }),
    readyWhen: (name, check) => {
      checks[name] = check;
    },
    stop() {
      stopping ??= (async () => {
        // No step may hold the shutdown: one that has not finished after the drain grace plus
        // 10 s is logged and left behind (SIGTERM must end the process; DESIGN §7).
        const stepLimitMs = ((config.shutdownGraceSeconds ?? 30) + 10) * 1000;
        for (const { name, step } of steps.reverse()) {
          let timer: NodeJS.Timeout | undefined;
          try {
            const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), stepLimitMs)));
            if ((await Promise.race([step(), late])) === 'late')
              logger.warn({ step: name, waitedMs: stepLimitMs }, 'shutdown step did not finish; going on without it');
          } catch (err) {
            logger.warn({ step: name, err: errorMessage(err) }, 'shutdown step failed');
          } finally {
            clearTimeout(timer);
          }
        }
      })();
      return stopping;
    },
  };
}
