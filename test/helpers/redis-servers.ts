// Private redis-server processes for tests that must not touch the shared Redis at 6379: a plain
// server (restartable empty, for chaos), a 3-master Cluster, a master watched by a Sentinel, and a
// TLS server with a self-signed certificate. Every server is started with `--save "" --appendonly
// no` in its own temp directory, on free loopback ports, and killed by `stop()`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server process. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` (or `rediss://` for TLS). */
  url: string;
  dir: string;
  /** SIGKILLs the process and starts it again on the same port: empty (nothing is persisted). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const BASE_ARGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];

async function ping(port: number, extra: string[] = []): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...extra, 'PING'], { timeout: 2000 });
    return stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnServer(args: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts `redis-server` on a free port with `extraArgs`; `pingArgs` are passed to redis-cli for readiness. */
async function startProcess(
  opts: { extraArgs?: (port: number, dir: string) => string[]; pingArgs?: string[]; scheme?: string; port?: number } = {},
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const port = opts.port ?? (await freePort());
  let child: ChildProcess | undefined;
  const startOnce = async () => {
    const args = [...(opts.extraArgs ? opts.extraArgs(port, dir) : ['--port', String(port)]), ...BASE_ARGS, '--dir', dir];
    child = spawnServer(args, dir);
    await waitUntil(`redis-server on port ${port}`, () => ping(port, opts.pingArgs));
  };
  await startOnce();
  let stopped = false;
  return {
    port,
    url: `${opts.scheme ?? 'redis'}://127.0.0.1:${port}`,
    dir,
    async restart() {
      await killAndWait(child);
      await startOnce();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await killAndWait(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A plain private redis-server on a free loopback port. */
export function startRedisServer(): Promise<RedisServer> {
  return startProcess();
}

/** A Redis Cluster of `masters` nodes (no replicas). */
export interface RedisClusterServers {
  nodes: RedisServer[];
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…` */
  url: string;
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startProcess({
          extraArgs: (port, dir) => [
            '--port',
            String(port),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000,
    });
    await waitUntil('cluster_state:ok on every node', async () => {
      for (const n of nodes) {
        const { stdout } = await run('redis-cli', ['-p', String(n.port), 'CLUSTER', 'INFO']).catch(() => ({ stdout: '' }));
        if (!stdout.includes('cluster_state:ok')) return false;
      }
      return true;
    });
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A master and one Sentinel monitoring it as `masterName`; with `replica`, a replica too, so Sentinel can fail over. */
export interface RedisSentinelServers {
  master: RedisServer;
  sentinel: RedisServer;
  replica?: RedisServer;
  /** `redis-sentinel://127.0.0.1:<sentinel port>/<masterName>` */
  url: string;
  /** The port of the server Sentinel names as master now. */
  masterPort(): Promise<number>;
  /** `SENTINEL FAILOVER`: the replica becomes the master (needs `replica`); resolves when Sentinel names it. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(masterName = 'mymaster', options: { replica?: boolean } = {}): Promise<RedisSentinelServers> {
  const master = await startProcess();
  const started: RedisServer[] = [master];
  let sentinel: RedisServer;
  let replica: RedisServer | undefined;
  const sentinelCli = async (...args: string[]) =>
    (await run('redis-cli', ['-p', String(sentinel.port), 'SENTINEL', ...args]).catch(() => ({ stdout: '' }))).stdout;
  try {
    if (options.replica) {
      replica = await startProcess({ extraArgs: (port) => ['--port', String(port), '--replicaof', '127.0.0.1', String(master.port)] });
      started.push(replica);
    }
    sentinel = await startProcess({
      extraArgs: (port, dir) => {
        const conf = join(dir, 'sentinel.conf');
        // Sentinel rewrites its config file, so it must be a writable file of its own.
        writeFileSync(
          conf,
          `port ${port}\nbind 127.0.0.1\nsentinel monitor ${masterName} 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds ${masterName} 5000\n` +
            `sentinel failover-timeout ${masterName} 10000\n`,
        );
        return [conf, '--sentinel'];
      },
    });
    started.push(sentinel);
    await waitUntil(`sentinel to know ${masterName}`, async () => (await sentinelCli('get-master-addr-by-name', masterName)).includes(String(master.port)));
    if (replica) {
      const r = replica;
      await waitUntil(
        `sentinel to know the replica of ${masterName}`,
        async () => (await sentinelCli('replicas', masterName)).includes(String(r.port)),
        20_000,
      );
    }
  } catch (err) {
    await Promise.all(started.map((x) => x.stop()));
    throw err;
  }
  const masterPort = async () => Number((await sentinelCli('get-master-addr-by-name', masterName)).trim().split(/\s+/)[1]);
  return {
    master,
    sentinel,
    replica,
    url: `redis-sentinel://127.0.0.1:${sentinel.port}/${masterName}`,
    masterPort,
    failover: async () => {
      if (!replica) throw new Error('failover needs a replica: startRedisSentinel(name, { replica: true })');
      const before = await masterPort();
      // Sentinel refuses while a previous failover settles ("INPROG"): retry until it takes.
      await waitUntil(
        `sentinel to fail ${masterName} over`,
        async () => {
          if ((await masterPort()) !== before) return true;
          await sentinelCli('failover', masterName);
          await new Promise((r) => setTimeout(r, 500));
          return (await masterPort()) !== before;
        },
        30_000,
      );
    },
    stop: async () => {
      await sentinel.stop();
      await Promise.all([master.stop(), replica?.stop()]);
    },
  };
}

/** A TLS-only redis-server with a fresh self-signed CA; `caFile` is what clients must trust. */
export interface RedisTlsServer extends RedisServer {
  caFile: string;
}

/** Whether this redis-server build has TLS: undefined if it does, else the reason it has not. */
export async function redisTlsUnsupported(): Promise<string | undefined> {
  try {
    const { stdout } = await run('redis-server', ['--version']);
    // A build without TLS rejects `--tls-port` as an unknown option; one with TLS complains about the missing cert.
    const probe = await run('redis-server', ['--port', '0', '--tls-port', '1', '--save', '']).catch((e: { stdout?: string; stderr?: string }) => e);
    const text = `${probe.stdout ?? ''}${probe.stderr ?? ''}`;
    if (/Bad directive|unknown|not supported/i.test(text)) return `redis-server (${stdout.trim()}) was built without TLS`;
    return undefined;
  } catch (err) {
    return `redis-server not usable: ${(err as Error).message}`;
  }
}

export async function startRedisTls(): Promise<RedisTlsServer> {
  const certDir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  const f = (n: string) => join(certDir, n);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=stash-hooks-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.crt'),
  ]);
  const tlsArgs = ['--tls', '--cacert', f('ca.crt')];
  const server = await startProcess({
    scheme: 'rediss',
    pingArgs: tlsArgs,
    extraArgs: (port) => [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      f('server.crt'),
      '--tls-key-file',
      f('server.key'),
      '--tls-ca-cert-file',
      f('ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
  });
  return {
    ...server,
    caFile: f('ca.crt'),
    async stop() {
      await server.stop();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}
