/**
 * `stash-hooks demo` (the README's main command): devcluster + every role in one process +
 * `examples/`, with progress as it happens, exiting 0 when every example session finished with
 * the phase its `demo.stash-hooks.dev/expected-phase` annotation names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { CoreV1Api, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { Cluster } from 'ioredis';
import type { Config } from '../shared/config.js';
import { errorMessage } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { bullPrefix, connectRedis, describeRedisTarget, parseRedisUrl, type RedisTarget } from '../shared/redis.js';
import type { Condition, Session } from '../shared/resources.js';
import { startDevCluster } from '../devcluster/index.js';
import { applyObjects, readManifests } from './apply.js';
import { createRuntime } from './runtime.js';
import { startComponents } from './components.js';
import { packageRoot } from './package-root.js';

const ROOT = packageRoot();
const EXPECTED = 'demo.stash-hooks.dev/expected-phase';
const SESSION_KINDS = new Set(['BackupSession', 'RestoreSession']);
const DEMO_TIMEOUT_MS = 60_000;

const out = (line: string) => process.stdout.write(`${line}\n`);
const c = process.stdout.isTTY ? { ok: '\x1b[32m', bad: '\x1b[31m', dim: '\x1b[2m', off: '\x1b[0m' } : { ok: '', bad: '', dim: '', off: '' };

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Redis at REDIS_URL, else a private redis-server started for the demo, else a clear error. */
async function obtainRedis(config: Config): Promise<{ target: RedisTarget; url: string; child?: ChildProcess }> {
  try {
    const probe = await connectRedis(config.redis, { purpose: 'producer', tlsCaFile: config.redisCaFile }, 2000);
    probe.disconnect();
    return { target: config.redis, url: config.redisUrl };
  } catch (err) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('spawn', () => resolve(true));
    });
    if (!spawned) {
      throw new Error(
        `Redis is not reachable at ${describeRedisTarget(config.redis)} (${errorMessage(err)}) and redis-server is not installed.\n` +
          '  Install it (Debian/Ubuntu: apt-get install -y redis-server), or start one, or set REDIS_URL.',
      );
    }
    const url = `redis://127.0.0.1:${port}`;
    const target = parseRedisUrl(url);
    for (let i = 0; i < 50; i++) {
      try {
        (await connectRedis(target, { purpose: 'producer' }, 500)).disconnect();
        out(`${c.dim}Redis at ${describeRedisTarget(config.redis)} did not answer; started a private redis-server on ${url}${c.off}`);
        return { target, url, child };
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    child.kill();
    throw new Error(`started redis-server on port ${port}, but it does not answer`);
  }
}

function conditionLine(session: string, where: string, cond: Condition): string {
  const mark = cond.status === 'True' ? `${c.ok}✓${c.off}` : `${c.bad}✗${c.off}`;
  return `  ${mark} ${session.padEnd(24)} ${where.padEnd(22)} ${cond.type}: ${cond.message ?? cond.reason ?? ''}`;
}

/** Prints each new condition and phase of the demo's sessions as it appears. */
function watchProgress(kubeConfigWatch: Watch, onSession: (s: Session) => void): Promise<() => void> {
  const seen = new Set<string>();
  const print = (s: Session) => {
    const name = s.metadata.name ?? '?';
    const emit = (key: string, line: string) => {
      if (!seen.has(key)) {
        seen.add(key);
        out(line);
      }
    };
    for (const cond of s.status?.conditions ?? []) emit(`${name}/session/${cond.type}/${cond.status}`, conditionLine(name, 'session', cond));
    for (const t of (s.status as { targets?: Array<{ ref: { kind: string; name: string }; phase?: string; conditions?: Condition[] }> } | undefined)?.targets ??
      []) {
      const where = `${t.ref.kind}/${t.ref.name}`;
      if (t.phase) emit(`${name}/${where}/phase/${t.phase}`, `  ${c.dim}·${c.off} ${name.padEnd(24)} ${where.padEnd(22)} target ${t.phase}`);
      for (const cond of t.conditions ?? []) emit(`${name}/${where}/${cond.type}/${cond.status}`, conditionLine(name, where, cond));
    }
    if (s.status?.phase)
      emit(
        `${name}/phase/${s.status.phase}`,
        `  ${c.dim}·${c.off} ${name.padEnd(24)} ${'session'.padEnd(22)} phase ${s.status.phase}${s.status.sessionDuration ? ` (${s.status.sessionDuration})` : ''}`,
      );
    onSession(s);
  };
  const stops: Array<() => void> = [];
  const start = async (plural: string) => {
    const req = await kubeConfigWatch.watch(
      `/apis/stash.appscode.com/v1beta1/namespaces/demo/${plural}`,
      {},
      (_type, obj) => print(obj as Session),
      () => {},
    );
    stops.push(() => req.abort());
  };
  return Promise.all([start('backupsessions'), start('restoresessions')]).then(() => () => stops.forEach((s) => s()));
}

/** Answers for `slack-sink` on its pod's IP, printing what the hooks send (secrets masked). */
async function startSlackSink(core: CoreV1Api): Promise<{ close(): Promise<void> }> {
  let ip: string | undefined;
  for (let i = 0; i < 100 && !ip; i++) {
    const pods = await core.listNamespacedPod({ namespace: 'demo', labelSelector: 'app=slack-sink' });
    ip = pods.items.find((p) => p.status?.podIP)?.status?.podIP;
    if (!ip) await new Promise((r) => setTimeout(r, 50));
  }
  if (!ip) throw new Error('the slack-sink pod got no IP');
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const auth = req.headers.authorization ? ' (Authorization header received, not shown)' : '';
      out(`  ${c.dim}→ slack-sink got ${req.method} ${req.url}${auth}${body ? `: ${body.trim().replace(/\s+/g, ' ').slice(0, 160)}` : ''}${c.off}`);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(28081, ip, resolve);
  });
  return {
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function runDemo(config: Config, flags: Record<string, unknown>): Promise<number> {
  const started = Date.now();
  const redis = await obtainRedis(config).catch((err: Error) => err);
  if (redis instanceof Error) {
    process.stderr.write(`stash-hooks demo: ${redis.message}\n`);
    return 1;
  }
  // A random pod-IP block, so the slack-sink address (pod IP:28081) does not collide with
  // another devcluster on this machine. A random token (hence HTTPS with devcluster's own CA, see
  // devcluster/tls.ts): `exec` runs commands on this machine, and every local user can reach
  // loopback; the kubeconfig holding the token is readable by its owner only.
  const cluster = await startDevCluster({
    backupSeconds: 1,
    firstPodIp: `127.0.${10 + Math.floor(Math.random() * 240)}.2`,
    token: randomBytes(24).toString('base64url'),
  });
  out(`devcluster ready: ${cluster.url} kubeconfig=${cluster.kubeconfigPath}`);
  const prefix = `${config.prefix}-demo-${randomUUID().slice(0, 6)}`;
  const demoConfig: Config = {
    ...config,
    redis: redis.target,
    redisUrl: redis.url,
    prefix,
    httpPort: flags.httpPort === undefined ? 0 : config.httpPort,
    dashboardPort: flags.dashboardPort === undefined ? 0 : config.dashboardPort,
    leaseNamespace: 'default',
    // Every role runs in this one process, so a key of its own is shared by all of them.
    outcomeKey: config.outcomeKey ?? randomBytes(32).toString('base64url'),
  };
  const logger = createLogger({
    level: flags.logLevel === undefined ? 'warn' : config.logLevel,
    name: 'stash-hooks-demo',
    destination: process.stderr as never,
  });
  const rt = await createRuntime('demo', demoConfig, { kubeConfig: cluster.kubeConfig, logger });
  let stopProgress: (() => void) | undefined;
  let sink: { close(): Promise<void> } | undefined;
  let code = 1;
  try {
    await applyObjects(
      cluster.kubeConfig,
      readManifests(
        ...['backupconfigurations', 'backupbatches', 'backupsessions', 'restoresessions', 'appbindings'].map((n) => `${ROOT}k8s-manifests/base/crds/${n}.yaml`),
      ),
    );
    const { dashboardUrl } = await startComponents(rt, demoConfig, ['coordinator', 'worker', 'watcher', 'dashboard'], { lease: false });
    out(`dashboard: ${dashboardUrl}   metrics: ${rt.ops?.url}/metrics   queues under prefix "${prefix}"`);
    out(
      `sessions: ${dashboardUrl}sessions   describe: KUBECONFIG=${cluster.kubeconfigPath} STASH_HOOKS_PREFIX=${prefix} node bin/stash-hooks.js describe backupsession/databases-demo -n demo`,
    );

    const files = readdirSync(`${ROOT}examples`)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => `${ROOT}examples/${f}`);
    const objects = readManifests(...files);
    const sessions = objects.filter((o) => SESSION_KINDS.has(o.kind ?? ''));
    const setup = objects.filter((o) => !SESSION_KINDS.has(o.kind ?? ''));
    await applyObjects(cluster.kubeConfig, setup);
    sink = await startSlackSink(cluster.kubeConfig.makeApiClient(CoreV1Api));

    const expected = new Map(sessions.map((s) => [s.metadata!.name!, (s.metadata?.annotations ?? {})[EXPECTED]]));
    const finished = new Map<string, Session>();
    let allDone: () => void = () => {};
    const done = new Promise<void>((r) => (allDone = r));
    stopProgress = await watchProgress(new Watch(cluster.kubeConfig), (s) => {
      const phase = s.status?.phase;
      if ((phase === 'Succeeded' || phase === 'Failed') && expected.has(s.metadata.name!)) {
        finished.set(s.metadata.name!, s);
        if (finished.size === expected.size) allDone();
      }
    });
    out(`applied ${files.length} files from examples/; creating ${sessions.length} sessions:`);
    await applyObjects(cluster.kubeConfig, sessions as KubernetesObject[]);
    const timedOut = await Promise.race([done.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), DEMO_TIMEOUT_MS).unref())]);

    out('');
    out('session                    expected    got');
    let ok = !timedOut;
    for (const [name, want] of expected) {
      const got = finished.get(name)?.status?.phase ?? 'unfinished';
      const good = got === want;
      ok &&= good;
      out(`${good ? c.ok + '✓' : c.bad + '✗'}${c.off} ${name.padEnd(24)} ${String(want).padEnd(11)} ${got}`);
    }
    out('');
    out(await metricsSummary(rt.ops?.url));
    out(
      ok ? `every example finished as expected in ${((Date.now() - started) / 1000).toFixed(1)}s` : `${c.bad}some examples did not finish as expected${c.off}`,
    );
    code = ok ? 0 : 1;
    if (flags.keep) {
      out(`--keep: staying up; KUBECONFIG=${cluster.kubeconfigPath} kubectl get backupsessions -n demo; dashboard ${dashboardUrl}; Ctrl-C stops`);
      await rt.signal;
    }
  } catch (err) {
    process.stderr.write(`stash-hooks demo: ${errorMessage(err)}\n`);
    code = 1;
  } finally {
    stopProgress?.();
    await rt.stop();
    await sink?.close();
    await removePrefixKeys(redis.target, prefix);
    await cluster.close();
    redis.child?.kill();
  }
  return code;
}

/** The hook counters as Prometheus serves them on /metrics, one line per phase/scope/action/result. */
async function metricsSummary(opsUrl: string | undefined): Promise<string> {
  if (!opsUrl) return '';
  try {
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('stash_hooks_hooks_total{'));
    return `${opsUrl}/metrics:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
  } catch (err) {
    return `could not read ${opsUrl}/metrics: ${errorMessage(err)}`;
  }
}

/**
 * Removes every key under the demo's prefix: the queues and everything else the roles keep there
 * (the watcher's data marker, the leader lease, …), so a demo leaves the user's Redis as it found it.
 */
async function removePrefixKeys(target: RedisTarget, prefix: string): Promise<void> {
  // Glob-escape the prefix so only its own keys match.
  const pattern = `${bullPrefix(prefix, target).replace(/[*?[\]\\]/g, '\\$&')}:*`;
  try {
    const client = await connectRedis(target, { purpose: 'producer' }, 2000);
    try {
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          // One key per call: on Redis Cluster keys of one call must share a slot.
          for (const key of keys) await client.unlink(key);
        } while (cursor !== '0');
      }
    } finally {
      client.disconnect();
    }
  } catch (err) {
    process.stderr.write(`stash-hooks demo: could not remove the keys under ${pattern}: ${errorMessage(err)}\n`);
  }
}
