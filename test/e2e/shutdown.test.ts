// Graceful shutdown of the CLI roles (issue 8, DESIGN §7): SIGTERM to a worker process with slow
// hooks in flight lets them finish within the grace period — every hook reaches the endpoint
// once, every session still succeeds after a new worker takes over — and SIGTERM to the leading
// watcher releases its Lease so the standby leads well before the Lease would have expired.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { applyObjects, parseManifests, readManifests } from '../../cli/apply.js';
import { appYaml, CRD_FILES, waitFor } from '../helpers/pipeline.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-servers.js';
import { BIN } from '../helpers/cli.js';

const NS = 'shutdown';
const HOOK_MS = 1500;

let cluster: DevCluster;
let redis: RedisServer;
let sink: Server;
let sinkPort = 0;
const arrived: string[] = [];
let inflight = 0;
const procs: ChildProcess[] = [];
let env: NodeJS.ProcessEnv;

function role(args: string[], extra: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  procs.push(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

test.before(async () => {
  sink = createServer((req, res) => {
    arrived.push(req.url ?? '');
    inflight++;
    req.resume();
    setTimeout(() => {
      inflight--;
      res.writeHead(200).end('ok');
    }, HOOK_MS);
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkPort = (sink.address() as AddressInfo).port;
  cluster = await startDevCluster({ backupSeconds: 0.1 });
  redis = await startRedisServer();
  await applyObjects(cluster.kubeConfig, readManifests(...CRD_FILES));
  await applyObjects(cluster.kubeConfig, parseManifests(appYaml(NS, 'app')));
  env = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    REDIS_URL: redis.url,
    STASH_HOOKS_PREFIX: `shutdown-${randomUUID().slice(0, 8)}`,
    STASH_HOOKS_HTTP_PORT: '0',
    STASH_HOOKS_SHUTDOWN_GRACE_SECONDS: '10',
    LOG_LEVEL: 'info',
  };
});
test.after(async () => {
  for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sink?.closeAllConnections();
  await new Promise((r) => sink?.close(r));
  await cluster?.close();
  await redis?.stop();
});

test('SIGTERM to a worker with slow hooks in flight: they finish within the grace period, none runs twice, nothing is lost', async () => {
  role(['watcher'], { POD_NAME: 'w-only' });
  role(['coordinator']);
  const worker = role(['worker', '--concurrency', '10']);
  const hook = (path: string) => `{httpPost: {host: 127.0.0.1, port: ${sinkPort}, path: "${path}", body: '{{ .Name }}'}}`;
  const sessions = ['s1', 's2', 's3'];
  await applyObjects(
    cluster.kubeConfig,
    parseManifests(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: slow, namespace: ${NS}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${hook('/pre/{{ .Name }}')}
    postBackup: ${hook('/post/{{ .Name }}')}
${sessions.map((s) => `---\napiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\nmetadata: {name: ${s}, namespace: ${NS}}\nspec:\n  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: slow}\n`).join('')}`),
  );
  await waitFor('pre hooks in flight', () => inflight >= 1, 30_000);
  // Give the other sessions' hooks a moment to start too (the more in flight, the better the test).
  await waitFor('more pre hooks in flight', () => inflight >= 3 || arrived.length >= 3, 1000).catch(() => {});
  const inFlightAtTerm = inflight;
  worker.child.kill('SIGTERM');
  const code = await worker.exited;
  assert.is(code, 0, worker.output().slice(-2000));
  // The drained worker let its hooks finish: each pre hook arrived once and none is pending.
  assert.is(inflight, 0, 'in-flight hooks completed before the worker exited');
  assert.ok(inFlightAtTerm >= 1);
  const beforeRestart = [...arrived];
  role(['worker', '--concurrency', '10']);
  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  for (const s of sessions) {
    const done = await waitFor(
      `${s} to finish`,
      async () => {
        const obj = (await custom.getNamespacedCustomObject({
          group: 'stash.appscode.com',
          version: 'v1beta1',
          namespace: NS,
          plural: 'backupsessions',
          name: s,
        })) as { status?: { phase?: string } };
        return ['Succeeded', 'Failed'].includes(obj.status?.phase ?? '') ? obj.status!.phase : undefined;
      },
      30_000,
    );
    assert.is(done, 'Succeeded', s);
  }
  assert.equal(
    [...arrived].sort(),
    [...sessions.map((s) => `/post/${s}`), ...sessions.map((s) => `/pre/${s}`)].sort(),
    `every hook exactly once (before the restart: ${beforeRestart.join(' ')})`,
  );
});

test('SIGTERM to the leading watcher hands its Lease to the standby before it could expire', async () => {
  const lease = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
  const holder = async () =>
    (await lease.readNamespacedLease({ name: 'stash-hooks-watcher', namespace: 'default' }).catch(() => undefined))?.spec?.holderIdentity ?? '';
  const a = role(['watcher'], { POD_NAME: 'watcher-a' });
  const b = role(['watcher'], { POD_NAME: 'watcher-b' });
  // The first test's watcher ("w-only") may still hold the Lease; stop it so a or b leads.
  for (const c of procs.slice(0, 1)) c.kill('SIGTERM');
  const first = await waitFor('a leader among watcher-a/b', async () => ((await holder()).startsWith('watcher-') ? await holder() : undefined), 30_000);
  const [leader, standby] = first === 'watcher-a' ? [a, 'watcher-b'] : [b, 'watcher-a'];
  const t0 = Date.now();
  leader.child.kill('SIGTERM');
  assert.is(await leader.exited, 0, leader.output().slice(-2000));
  await waitFor(`${standby} to take the Lease`, async () => ((await holder()) === standby ? true : undefined), 14_000);
  // A SIGKILLed leader would keep the Lease for its full 15 s duration; a released one is free at once.
  assert.ok(Date.now() - t0 < 15_000);
});

test.run();
