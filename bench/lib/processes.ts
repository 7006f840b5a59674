/**
 * The processes a benchmark runs: devcluster and stash-hooks roles, each its own Node process as
 * they are deployed, plus their RSS and CPU time read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { applyObjects, readManifests } from '../../cli/apply.js';
import { connectRedis, parseRedisUrl, type RedisTarget } from '../../shared/redis.js';
import { ALL_QUEUES } from '../../shared/queues.js';
import { BIN } from '../../test/helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRD_FILES = ['backupconfigurations', 'backupbatches', 'backupsessions', 'restoresessions', 'appbindings'].map(
  (n) => `${ROOT}k8s-manifests/base/crds/${n}.yaml`,
);

export interface Proc {
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited; idempotent. */
  close(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
}

export interface DevclusterProc extends Proc {
  url: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
}

/** Starts devcluster as its own process (as `stash-hooks devcluster` runs) with the CRDs applied. */
export async function startDevclusterProcess(opts: { executor: boolean; backupSeconds: number; verbose?: boolean }): Promise<DevclusterProc> {
  const args = [BIN, 'devcluster', '--backup-seconds', String(opts.backupSeconds)];
  if (!opts.executor) args.push('--no-executor');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', opts.verbose ? 'inherit' : 'ignore'] });
  const close = stopper(child);
  const ready = await new Promise<{ url: string; kubeconfigPath: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /devcluster ready: (\S+) kubeconfig=(\S+)/.exec(out);
      if (m) resolve({ url: m[1], kubeconfigPath: m[2] });
    });
    child.once('exit', (code) => reject(new Error(`devcluster exited with ${code}`)));
  });
  child.stdout!.resume();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(ready.kubeconfigPath);
  await applyObjects(kubeConfig, readManifests(...CRD_FILES));
  return { pid: child.pid!, child, close, kubeConfig, ...ready };
}

/** Starts `stash-hooks <role> ...args` against the cluster and Redis under `prefix`. */
export function startRole(
  role: string,
  args: string[],
  env: { kubeconfigPath: string; redisUrl: string; prefix: string; extra?: Record<string, string>; cpuProfDir?: string; verbose?: boolean },
): Proc {
  const nodeArgs = env.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${env.cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, BIN, role, ...args], {
    stdio: ['ignore', env.verbose ? 'inherit' : 'ignore', 'inherit'],
    env: {
      ...process.env,
      KUBECONFIG: env.kubeconfigPath,
      REDIS_URL: env.redisUrl,
      STASH_HOOKS_PREFIX: env.prefix,
      STASH_HOOKS_HTTP_PORT: '0',
      STASH_HOOKS_DASHBOARD_PORT: '0',
      LOG_LEVEL: env.verbose ? 'info' : 'warn',
      ...env.extra,
    },
  });
  return { pid: child.pid!, child, close: stopper(child) };
}

/** Resident set size and its peak (MB) of a process, from /proc/<pid>/status. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb('VmRSS') / 102.4) / 10, peak: Math.round(kb('VmHWM') / 102.4) / 10 };
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function redisTarget(): { url: string; target: RedisTarget } {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  return { url, target: parseRedisUrl(url) };
}

/** Deletes every key under `prefix` (only ours: the Redis is shared). */
export async function deletePrefix(target: RedisTarget, prefix: string): Promise<void> {
  const client = await connectRedis(target, { purpose: 'producer' });
  try {
    for (const name of ALL_QUEUES) {
      const q = new Queue(name, { connection: client, prefix });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
