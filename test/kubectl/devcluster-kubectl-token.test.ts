// kubectl against a token-protected devcluster. kubectl never sends a bearer token to a
// plain-http server, so a token makes devcluster serve HTTPS with its own CA, which the kubeconfig
// carries: kubectl (and client-node) verify the server and send the token; without the token, or
// trusting another CA, they are refused. Skipped when kubectl is not on PATH.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { createDevClusterTls } from '../../devcluster/tls.js';
import { APP_PATH, eventually } from '../fixtures/devcluster/helpers.js';

const hasKubectl = !spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error;
const it: typeof test = hasKubectl ? test : ((() => {}) as unknown as typeof test);
if (!hasKubectl) process.stdout.write('kubectl not on PATH: kubectl token suite skipped\n');

const TOKEN = `tok-${Math.random().toString(36).slice(2)}`;
let cluster: DevCluster;
let dir: string;

test.before(async () => {
  if (!hasKubectl) return;
  dir = mkdtempSync(join(tmpdir(), 'devcluster-kubectl-token-'));
  cluster = await startDevCluster({ backupSeconds: 0.2, token: TOKEN });
});

test.after(async () => {
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The cluster's kubeconfig with one change, written next to it. */
function variant(name: string, change: (kc: any) => void): string {
  const kc = parse(readFileSync(cluster.kubeconfigPath, 'utf8'));
  change(kc);
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, stringify(kc), { mode: 0o600 });
  return path;
}

it('the kubeconfig names an https server, carries the CA and the token, and skips no verification', () => {
  assert.match(cluster.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const kc = parse(readFileSync(cluster.kubeconfigPath, 'utf8'));
  const c = kc.clusters[0].cluster;
  assert.is(c.server, cluster.url);
  assert.is(c['insecure-skip-tls-verify'], undefined);
  assert.is(Buffer.from(c['certificate-authority-data'], 'base64').toString(), cluster.caPem);
  assert.is(kc.users[0].user.token, TOKEN);
});

it('kubectl with the written kubeconfig: get, apply and exec work over TLS with the token', async () => {
  const get = await kubectl(cluster.kubeconfigPath, 'get', 'namespaces', '-o', 'name');
  assert.is(get.code, 0, get.stderr);
  assert.match(get.stdout, 'namespace/default');
  const apply = await kubectl(cluster.kubeconfigPath, 'apply', '-f', APP_PATH);
  assert.is(apply.code, 0, apply.stderr);
  const pod = await eventually('a pod of the applied Deployment', async () => {
    const r = await kubectl(cluster.kubeconfigPath, 'get', 'pods', '-o', 'name');
    return r.stdout.split('\n').find((l) => l.startsWith('pod/'));
  });
  const exec = await kubectl(cluster.kubeconfigPath, 'exec', pod!, '--', 'echo', 'over-tls');
  assert.is(exec.code, 0, exec.stderr);
  assert.is(exec.stdout, 'over-tls\n');
});

it('kubectl without the token, with a wrong one, or trusting another CA is refused', async () => {
  const noToken = await kubectl(
    variant('no-token', (kc) => (kc.users[0].user = {})),
    'get',
    'namespaces',
  );
  // With no credentials at all for an https server, kubectl asks for a user name on stdin, which
  // is empty here, and gives up.
  assert.not.equal(noToken.code, 0);
  assert.not.match(noToken.stdout, 'default');
  const wrong = await kubectl(
    variant('wrong-token', (kc) => (kc.users[0].user = { token: 'nope' })),
    'get',
    'namespaces',
  );
  assert.not.equal(wrong.code, 0);
  assert.match(wrong.stderr, /Unauthorized|must be logged in/, wrong.stderr);
  const otherCa = createDevClusterTls().caPem;
  const untrusted = await kubectl(
    variant('other-ca', (kc) => (kc.clusters[0].cluster['certificate-authority-data'] = Buffer.from(otherCa).toString('base64'))),
    'get',
    'namespaces',
  );
  assert.not.equal(untrusted.code, 0);
  assert.match(untrusted.stderr, /certificate signed by unknown authority|x509/);
});

it('client-node with the kubeconfig: API calls and exec over wss', async () => {
  const list = await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespace();
  assert.ok(list.items.some((n) => n.metadata?.name === 'default'));
  const pods = await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' });
  const pod = pods.items[0].metadata!.name!;
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  const status = await new Promise<{ status?: string }>((resolve, reject) => {
    new Exec(cluster.kubeConfig)
      .exec('default', pod, 'app', ['echo', 'client-node'], stdout, null, null, false, (s) => resolve(s as { status?: string }))
      .catch(reject);
  });
  assert.is(status.status, 'Success');
  assert.is(out, 'client-node\n');
});

it('a raw HTTPS request is verified against the CA and needs the token', async () => {
  const get = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      request(`${cluster.url}/api`, { ca: cluster.caPem, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
  assert.is(await get({}), 401);
  assert.is(await get({ authorization: `Bearer ${TOKEN}x` }), 401);
  assert.is(await get({ authorization: `Bearer ${TOKEN}` }), 200);
  // Plain http on the same port is not answered as an API.
  const plain = await fetch(cluster.url.replace('https:', 'http:') + '/api').then(
    (r) => r.status,
    () => 0,
  );
  assert.not.equal(plain, 200);
});

test('a token without TLS is refused by name', async () => {
  try {
    await startDevCluster({ token: 'x', tls: false, executor: false });
    assert.unreachable('started');
  } catch (err) {
    assert.match((err as Error).message, 'a token needs tls');
  }
});

test.run();
