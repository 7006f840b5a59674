// The user's view: kubectl applies a BackupConfiguration and a BackupSession against devcluster
// while the pipeline runs, and `kubectl get` shows the hook conditions and the final phase.
// Skipped (and counted as skipped) when kubectl is not on PATH.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, appYaml, type Pipeline } from '../helpers/pipeline.js';
import { kubectlUnavailable, skipUnless } from '../helpers/skip.js';

const kubectlWhy = kubectlUnavailable();
const it = skipUnless(kubectlWhy);

let p: Pipeline;
let dir: string;
test.before(async () => {
  if (kubectlWhy) return;
  dir = mkdtempSync(join(tmpdir(), 'pipeline-kubectl-'));
  p = await startPipeline();
  await p.apply(appYaml('shop', 'web'));
});
test.after(async () => {
  await p?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', p.cluster.kubeconfigPath, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

it('kubectl apply of a BackupConfiguration and a BackupSession; kubectl get shows the hook conditions and the phase', async () => {
  const file = join(dir, 'backup.yaml');
  writeFileSync(
    file,
    `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: web-backup, namespace: shop}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: web}}
  hooks:
    preBackup:
      httpGet: {host: 127.0.0.1, port: ${p.sink.port}, path: /pre}
    postBackup:
      tcpSocket: {host: 127.0.0.1, port: ${p.sink.port}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: web-backup-1, namespace: shop}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: web-backup}
`,
  );
  const applied = await kubectl('apply', '-f', file);
  assert.is(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /backupconfiguration\.stash\.appscode\.com\/web-backup created/);
  assert.match(applied.stdout, /backupsession\.stash\.appscode\.com\/web-backup-1 created/);
  const started = Date.now();
  let session: any;
  while (Date.now() - started < 20_000) {
    const got = await kubectl('get', 'backupsession', 'web-backup-1', '-n', 'shop', '-o', 'json');
    session = JSON.parse(got.stdout);
    if (session.status?.phase === 'Succeeded' || session.status?.phase === 'Failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(`kubectl saw the final phase ${Date.now() - started} ms after apply\n`);
  assert.is(session.status.phase, 'Succeeded', JSON.stringify(session.status));
  const conds = session.status.targets[0].conditions.map((c: { type: string; status: string; reason: string }) => `${c.type}=${c.status}/${c.reason}`);
  assert.ok(conds.includes('PreBackupHookExecutionSucceeded=True/SuccessfullyExecutedPreBackupHook'), conds.join(' '));
  assert.ok(conds.includes('PostBackupHookExecutionSucceeded=True/SuccessfullyExecutedPostBackupHook'), conds.join(' '));
  assert.is(p.sink.requests.filter((r) => r.path === '/pre').length, 1);
  const events = await kubectl('get', 'events', '-n', 'shop', '-o', 'json');
  const reasons = JSON.parse(events.stdout)
    .items.filter((e: any) => e.involvedObject?.name === 'web-backup-1')
    .map((e: any) => e.reason);
  assert.ok(reasons.includes('HookSucceeded'), reasons.join(','));
  assert.ok(reasons.includes('SessionSucceeded'), reasons.join(','));
});

test.run();
