// kubectl — a client nobody here wrote — against devcluster: apply of CRDs and objects, get -o
// json, get -w seeing a change, patch --subresource status, exec, delete. Skipped when kubectl
// is not on PATH.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { APP_PATH, eventually, STASH_CRDS_PATH } from '../fixtures/devcluster/helpers.js';
import { kubectlMinor, kubectlUnavailable, skipUnless } from '../helpers/skip.js';

// Without kubectl 1.24+ every test is counted as skipped, with the reason.
const kubectlWhy = kubectlUnavailable();
const it = skipUnless(kubectlWhy);
// kubectl execs over WebSocket from 1.31 (SPDY before, which devcluster does not speak).
const minor = kubectlMinor() ?? 0;
const itExec = skipUnless(
  kubectlWhy ?? (minor < 31 ? `kubectl 1.${minor} execs over SPDY, which devcluster does not speak (1.31+ uses WebSocket)` : undefined),
);

let cluster: DevCluster;
let dir: string;

test.before(async () => {
  if (kubectlWhy) return;
  dir = mkdtempSync(join(tmpdir(), 'devcluster-kubectl-'));
  cluster = await startDevCluster({ backupSeconds: 0.2 });
});

test.after(async () => {
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

it('apply -f creates the Stash CRDs, and a second apply leaves them unchanged', async () => {
  const out = await ok('apply', '-f', STASH_CRDS_PATH);
  assert.match(out, /customresourcedefinition.apiextensions.k8s.io\/backupsessions.stash.appscode.com created/);
  assert.match(out, /restoresessions.stash.appscode.com created/);
  const again = await ok('apply', '-f', STASH_CRDS_PATH);
  assert.match(again, /backupsessions.stash.appscode.com unchanged/);
  const est = await ok('wait', '--for=condition=Established', 'crd/backupsessions.stash.appscode.com', '--timeout=10s');
  assert.match(est, /condition met/);
});

it('apply -f of a Deployment, Service and ConfigMap; pods run; a changed apply configures', async () => {
  const out = await ok('apply', '-f', APP_PATH);
  assert.match(out, /deployment.apps\/web created/);
  assert.match(out, /service\/web created/);
  assert.match(out, /configmap\/settings created/);
  const pods = await eventually('2 running pods', async () => {
    const list = JSON.parse(await ok('get', 'pods', '-l', 'app=web', '-o', 'json'));
    return list.items.length === 2 && list.items.every((p: any) => p.status.phase === 'Running') ? list.items : undefined;
  });
  assert.ok(pods.every((p: any) => /^127\.0\./.test(p.status.podIP)));
  const table = await ok('get', 'deployments');
  assert.match(table, /^NAME\s+READY/m);
  assert.match(table, /^web\s+/m);
  const scaled = join(dir, 'app3.yaml');
  const { readFileSync } = await import('node:fs');
  writeFileSync(scaled, readFileSync(APP_PATH, 'utf8').replace('replicas: 2', 'replicas: 3'));
  const applied = await ok('apply', '-f', scaled);
  assert.match(applied, /deployment.apps\/web configured/);
  assert.match(applied, /configmap\/settings unchanged/);
  await eventually('3 pods', async () => (JSON.parse(await ok('get', 'pods', '-l', 'app=web', '-o', 'json')).items.length === 3 ? true : undefined));
  const eps = JSON.parse(await ok('get', 'endpoints', 'web', '-o', 'json'));
  assert.is(eps.subsets[0].ports[0].port, 8080);
});

it('get -o json of a custom resource; get -w sees a status patch; patch --subresource status', async () => {
  const bs = join(dir, 'bs.yaml');
  writeFileSync(
    bs,
    'apiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\nmetadata:\n  name: nightly-1\nspec:\n  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: nightly}\n',
  );
  assert.match(await ok('apply', '-f', bs), /backupsession.stash.appscode.com\/nightly-1 created/);
  const got = JSON.parse(await ok('get', 'backupsession', 'nightly-1', '-o', 'json'));
  assert.is(got.kind, 'BackupSession');
  assert.is(got.spec.invoker.name, 'nightly');

  const watcher = spawn('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'cache'), 'get', 'backupsessions', '-w'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  watcher.stdout.on('data', (d) => (seen += d));
  watcher.stderr.on('data', (d) => (seen += d));
  try {
    await eventually('the initial row', () => (/nightly-1/.test(seen) ? true : undefined), 10_000);
    const patched = await ok(
      'patch',
      'backupsession',
      'nightly-1',
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      '{"status":{"phase":"Running"},"spec":{"invoker":{"name":"changed"}}}',
    );
    assert.match(patched, /patched/);
    await eventually('the watch to show Running', () => (/nightly-1\s+BackupConfiguration\s+nightly\s+Running/.test(seen) ? true : undefined), 10_000);
  } finally {
    watcher.kill('SIGTERM');
  }
  const after = JSON.parse(await ok('get', 'backupsession', 'nightly-1', '-o', 'json'));
  assert.is(after.status.phase, 'Running');
  assert.is(after.spec.invoker.name, 'nightly', '/status ignores spec');
});

itExec('exec -- echo hi, and a failing command exits with its code', async () => {
  const pod = JSON.parse(await ok('get', 'pods', '-l', 'app=web', '-o', 'json')).items[0].metadata.name;
  assert.is(await ok('exec', pod, '--', 'echo', 'hi'), 'hi\n');
  const failed = await kubectl('exec', pod, '-c', 'app', '--', 'sh', '-c', 'exit 3');
  assert.is(failed.code, 3);
  assert.match(failed.stderr, /command terminated with exit code 3/);
  const wrong = await kubectl('exec', pod, '-c', 'nope', '--', 'true');
  assert.is.not(wrong.code, 0);
  assert.match(wrong.stderr, /container nope is not valid/);
});

it('create namespace, configmap and secret (kubectl sends these as protobuf)', async () => {
  assert.match(await ok('create', 'namespace', 'team-x'), /namespace\/team-x created/);
  assert.match(await ok('create', 'configmap', 'cfg', '-n', 'team-x', '--from-literal=mode=demo'), /configmap\/cfg created/);
  assert.match(await ok('create', 'secret', 'generic', 'creds', '-n', 'team-x', '--from-literal=password=hunter2'), /secret\/creds created/);
  assert.is(await ok('get', 'configmap', 'cfg', '-n', 'team-x', '-o', 'jsonpath={.data.mode}'), 'demo');
  assert.is(Buffer.from(await ok('get', 'secret', 'creds', '-n', 'team-x', '-o', 'jsonpath={.data.password}'), 'base64').toString(), 'hunter2');
  // kubectl waits for the namespace to finish terminating before it returns.
  assert.match(await ok('delete', 'namespace', 'team-x'), /deleted/);
  const gone = await kubectl('get', 'configmap', 'cfg', '-n', 'team-x');
  assert.match(gone.stderr, /not found/);
});

it('delete removes objects and get reports NotFound', async () => {
  assert.match(await ok('delete', 'backupsession', 'nightly-1'), /backupsession.stash.appscode.com "nightly-1" deleted/);
  const gone = await kubectl('get', 'backupsession', 'nightly-1');
  assert.is.not(gone.code, 0);
  assert.match(gone.stderr, /NotFound.*"nightly-1" not found/);
  assert.match(await ok('delete', '-f', APP_PATH), /deployment.apps "web" deleted/);
  await eventually('pods gone', async () => (JSON.parse(await ok('get', 'pods', '-l', 'app=web', '-o', 'json')).items.length === 0 ? true : undefined));
});

test.run();
