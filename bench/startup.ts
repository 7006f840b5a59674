/**
 * Start-up time and idle memory of each role as a process: `stash-hooks --help` wall time, then
 * for watcher, coordinator, worker and dashboard the time from spawn to /readyz 200 and the
 * resident set (VmRSS) after 5 s idle, median of `--runs`. Against an in-process devcluster (CRDs
 * applied) and Redis at REDIS_URL under a private prefix. Figures in docs/performance.md.
 *
 *   node --import tsx bench/startup.ts [--bin path/to/bin/stash-hooks.js] [--runs 3]
 *
 * `--bin` picks the CLI to measure, e.g. an older checkout's bin (which ran the sources with tsx).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startDevCluster } from '../devcluster/index.js';
import { applyObjects, readManifests } from '../cli/apply.js';
import { CRD_FILES } from '../test/helpers/pipeline.js';
import { BIN } from '../test/helpers/cli.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const bin = opt('bin', BIN);
const runs = Number(opt('runs', '3'));
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

function helpMs(): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`--help exited ${r.status}: ${r.stderr}`);
  return performance.now() - t0;
}

async function measureRole(role: string, kubeconfig: string, prefix: string): Promise<{ readyMs: number; rssMb: number }> {
  const port = await freePort();
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    REDIS_URL: redisUrl,
    STASH_HOOKS_PREFIX: prefix,
    STASH_HOOKS_HTTP_PORT: String(port),
    STASH_HOOKS_DASHBOARD_PORT: '0',
    STASH_HOOKS_LEASE_NAME: `startup-${prefix}`,
    LOG_LEVEL: 'warn',
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, role], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${role} exited ${child.exitCode}: ${err}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - t0 > 180_000)
        throw new Error(`${role} not ready in 180 s: ${await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.text(), String)} ${err}`);
      await sleep(20);
    }
    const readyMs = performance.now() - t0;
    await sleep(5000);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    return { readyMs, rssMb: Number(rss) / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const cluster = await startDevCluster({ port: 0, executor: false });
await applyObjects(cluster.kubeConfig, readManifests(...CRD_FILES));
const prefix = `startup-${randomUUID().slice(0, 8)}`;
const rows: string[] = [];
try {
  const helps = Array.from({ length: runs }, helpMs);
  rows.push(`--help        ${median(helps).toFixed(0).padStart(6)} ms`);
  for (const role of ['watcher', 'coordinator', 'worker', 'dashboard']) {
    const ms: number[] = [];
    const mb: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await measureRole(role, cluster.kubeconfigPath, prefix);
      ms.push(r.readyMs);
      mb.push(r.rssMb);
    }
    rows.push(`${role.padEnd(12)}  ${median(ms).toFixed(0).padStart(6)} ms to /readyz   ${median(mb).toFixed(0).padStart(4)} MB RSS idle`);
  }
} finally {
  await cluster.close();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}
process.stdout.write(`${bin} (node ${process.version}, median of ${runs})\n${rows.join('\n')}\n`);
