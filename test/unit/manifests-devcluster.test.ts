// The CRDs of k8s-manifests/base/crds/ apply to devcluster with kubectl on their own, become
// Established, and serve Stash objects carrying the stash-hooks Handler additions.
// Registers nothing (and says so) without kubectl.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { kubectlUnavailable, skipUnless } from '../helpers/skip.js';

const CRDS = fileURLToPath(new URL('../../k8s-manifests/base/crds/', import.meta.url));
const kubectlWhy = kubectlUnavailable();
const haveKubectl = kubectlWhy === undefined;
const it = skipUnless(kubectlWhy);

let cluster: DevCluster | undefined;
let dir: string | undefined;

test.before(async () => {
  if (!haveKubectl) return;
  dir = mkdtempSync(join(tmpdir(), 'manifests-devcluster-'));
  cluster = await startDevCluster({ executor: false });
});

test.after(async () => {
  await cluster?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', cluster!.kubeconfigPath, '--cache-dir', join(dir!, 'cache'), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

it('kubectl apply -f k8s-manifests/base/crds/ creates all five CRDs, Established', async () => {
  const applied = await kubectl('apply', '-f', CRDS);
  assert.is(applied.code, 0, applied.stderr);
  for (const name of [
    'backupconfigurations.stash.appscode.com',
    'backupbatches.stash.appscode.com',
    'backupsessions.stash.appscode.com',
    'restoresessions.stash.appscode.com',
    'appbindings.appcatalog.appscode.com',
  ]) {
    assert.match(applied.stdout, `customresourcedefinition.apiextensions.k8s.io/${name} created`);
  }
  const established = await kubectl('wait', '--for=condition=Established', '--timeout=10s', '-f', CRDS);
  assert.is(established.code, 0, established.stderr);
  const again = await kubectl('apply', '-f', CRDS);
  assert.match(again.stdout, 'backupsessions.stash.appscode.com unchanged');
});

it('Stash objects with the Handler additions apply and read back whole', async () => {
  const file = join(dir!, 'objects.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata:
  name: app-backup
  namespace: demo
spec:
  schedule: "*/5 * * * *"
  timeOut: 30m
  repository:
    name: gcs-repo
  retentionPolicy:
    name: keep-last-5
    keepLast: 5
    prune: true
  target:
    ref:
      apiVersion: apps/v1
      kind: Deployment
      name: app
    paths: [/data]
  hooks:
    preBackup:
      exec:
        command: ["/bin/sh", "-c", "echo flush"]
      containerName: app
      timeoutSeconds: 60
      maxRetry: 1
      retryDelaySeconds: 5
    postBackup:
      executionPolicy: OnFailure
      httpPost:
        host: hooks.example.internal
        port: https
        scheme: HTTPS
        path: /notify
        httpHeaders:
          - name: Authorization
            valueFrom:
              secretKeyRef: {name: notify-token, key: token}
        body: '{"text": "{{ .Status.Error }}"}'
      insecureSkipTLSVerify: false
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata:
  name: app-backup-1700000000
  namespace: demo
spec:
  invoker:
    apiGroup: stash.appscode.com
    kind: BackupConfiguration
    name: app-backup
`,
  );
  const applied = await kubectl('apply', '-f', file);
  assert.is(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, 'backupconfiguration.stash.appscode.com/app-backup created');
  const got = await kubectl('get', 'backupconfiguration', 'app-backup', '-n', 'demo', '-o', 'json');
  assert.is(got.code, 0, got.stderr);
  const spec = JSON.parse(got.stdout).spec;
  assert.equal(spec.retentionPolicy, { name: 'keep-last-5', keepLast: 5, prune: true });
  assert.is(spec.hooks.preBackup.timeoutSeconds, 60);
  assert.equal(spec.hooks.postBackup.httpPost.httpHeaders[0].valueFrom, { secretKeyRef: { name: 'notify-token', key: 'token' } });
  const sessions = await kubectl('get', 'backupsessions', '-n', 'demo');
  assert.is(sessions.code, 0, sessions.stderr);
  assert.match(sessions.stdout, /INVOKER-TYPE\s+INVOKER-NAME\s+PHASE/);
  assert.match(sessions.stdout, /app-backup-1700000000\s+BackupConfiguration\s+app-backup/);
});

test.run();
