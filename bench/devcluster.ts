/**
 * devcluster benchmark (not a test): write throughput with watch fan-out.
 *
 *   node --import tsx bench/devcluster.ts [--writes 10000] [--watchers 10] [--concurrency 16]  [--in-process | --url URL]
 *
 * Starts devcluster as its own process (as `stash-hooks devcluster` runs; `--in-process` shares
 * this process with the load generator instead), opens `--watchers` raw watches on configmaps, then sends
 * `--writes` writes over keep-alive HTTP (half creates, half merge patches) with `--concurrency`
 * in flight. Reports writes/s (until the last write is acknowledged), the time until every
 * watcher has received every event, and the worst watcher lag behind the writes. Goal (issue 3):
 * ≥ 2,000 writes/s with every watcher keeping up.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { startDevCluster } from '../devcluster/index.js';
import { BIN } from '../test/helpers/cli.js';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const WRITES = flag('writes', 10000);
const WATCHERS = flag('watchers', 10);
const CONCURRENCY = flag('concurrency', 16);

const IN_PROCESS = process.argv.includes('--in-process');

/** The server under test: its URL and how to stop it. */
/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function startServer(): Promise<{ url: string; pid?: number; close(): Promise<void> }> {
  const i = process.argv.indexOf('--url');
  if (i >= 0) return { url: process.argv[i + 1], close: async () => {} };
  if (IN_PROCESS) return startDevCluster({ executor: false });
  const child = spawn(process.execPath, [BIN, 'devcluster', '--no-executor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /devcluster ready: (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`devcluster exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const cluster = await startServer();
const base = new URL(cluster.url);
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<number> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      { host: base.hostname, port: base.port, method, path, agent, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

interface Watcher {
  events: number;
  lastAt: number;
  close(): void;
}

async function openWatch(): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    const w: Watcher = { events: 0, lastAt: 0, close: () => req.destroy() };
    const req = request({ host: base.hostname, port: base.port, path: '/api/v1/namespaces/default/configmaps?watch=true' }, (res) => {
      // One event per line and no bookmarks were asked for, so counting newlines counts
      // events without making the load generator the bottleneck.
      res.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) w.events++;
        w.lastAt = performance.now();
      });
      res.on('error', () => {});
      resolve(w);
    });
    req.on('error', reject);
    req.end();
  });
}

const watchers = await Promise.all(Array.from({ length: WATCHERS }, openWatch));
// Warm the JIT and the connection pool outside the measurement.
for (let i = 0; i < 1000; i++) await send('POST', '/api/v1/namespaces/kube-public/configmaps', { metadata: { name: `warm-${i}` } });

const creates = Math.ceil(WRITES / 2);
let issued = 0;
let failures = 0;
const cpuBefore = cpuSeconds(cluster.pid);
const started = performance.now();
async function worker(): Promise<void> {
  for (;;) {
    const n = issued++;
    if (n >= WRITES) return;
    const status =
      n < creates
        ? await send('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `cm-${n}`, labels: { bench: 'yes' } }, data: { n: String(n) } })
        : await send('PATCH', `/api/v1/namespaces/default/configmaps/cm-${n % creates}`, { data: { n: String(n) } }, 'application/merge-patch+json');
    if (status >= 300) failures++;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const writesDone = performance.now();

const deadline = Date.now() + 30_000;
while (watchers.some((w) => w.events < WRITES) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const allSeen = Math.max(...watchers.map((w) => w.lastAt));
const behind = watchers.filter((w) => w.events < WRITES).length;

const cpuAfter = cpuSeconds(cluster.pid);
const serverCpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
const writeSeconds = (writesDone - started) / 1000;
const result = {
  writes: WRITES,
  watchers: WATCHERS,
  concurrency: CONCURRENCY,
  failedWrites: failures,
  writesPerSecond: Math.round(WRITES / writeSeconds),
  writeSeconds: Number(writeSeconds.toFixed(3)),
  allWatchersCaughtUpSeconds: Number(((allSeen - started) / 1000).toFixed(3)),
  worstWatcherLagMs: Math.max(0, Math.round(allSeen - writesDone)),
  eventsDelivered: watchers.reduce((a, w) => a + w.events, 0),
  watchersBehind: behind,
  // Writes per CPU-second of the server process: its capacity, independent of how busy the
  // machine (and the load generator) is.
  serverCpuSeconds: serverCpu,
  writesPerServerCpuSecond: serverCpu ? Math.round(WRITES / serverCpu) : undefined,
  server: IN_PROCESS ? 'in-process' : 'own process',
  node: process.version,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
for (const w of watchers) w.close();
agent.destroy();
await cluster.close();
process.exitCode = behind > 0 || failures > 0 || result.writesPerSecond < 2000 ? 1 : 0;
