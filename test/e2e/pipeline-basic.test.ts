import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('a BackupConfiguration session runs its exec pre hook and templated post hook, and succeeds', async () => {
  await p.apply(appYaml('demo', 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: app-backup, namespace: demo}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup:
      exec: {command: ["/bin/sh", "-c", "echo flushed > flushed.txt"]}
    postBackup:
      httpPost:
        host: 127.0.0.1
        port: ${p.sink.port}
        path: /notify/{{ .Name }}
        httpHeaders: [{name: Content-Type, value: application/json}]
        body: '{"session": "{{ .Namespace }}/{{ .Name }}", "phase": "{{ .Status.Phase }}", "target": "{{ .Target.Kind }}/{{ .Target.Name }}"}'
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: app-backup-1, namespace: demo}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: app-backup}
`);
  const s = (await p.waitForPhase('BackupSession', 'demo', 'app-backup-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const t = s.status!.targets![0];
  assert.is(t.phase, 'Succeeded');
  const cond = (type: string) => t.conditions?.find((c) => c.type === type);
  assert.equal(
    {
      status: cond('PreBackupHookExecutionSucceeded')?.status,
      reason: cond('PreBackupHookExecutionSucceeded')?.reason,
      message: cond('PreBackupHookExecutionSucceeded')?.message,
    },
    { status: 'True', reason: 'SuccessfullyExecutedPreBackupHook', message: 'Successfully executed preBackup hook.' },
  );
  assert.is(cond('ReadyForBackup')?.status, 'True');
  assert.is(cond('PostBackupHookExecutionSucceeded')?.message, 'Successfully executed postBackup hook.');
  assert.match(s.status!.sessionDuration ?? '', /^\d+s$/);
  const posted = p.sink.requests.filter((r) => r.path === '/notify/app-backup-1');
  assert.is(posted.length, 1);
  assert.equal(JSON.parse(posted[0].body), { session: 'demo/app-backup-1', phase: 'Succeeded', target: 'Deployment/app' });
  assert.is(posted[0].headers['content-type'], 'application/json');
});

test('a BackupConfiguration without hooks: the gate opens at once, no hook condition, Succeeded', async () => {
  await p.apply(appYaml('nohooks', 'app', { replicas: 2 }));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: plain, namespace: nohooks}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: plain-1, namespace: nohooks}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: plain}
`);
  const s = (await p.waitForPhase('BackupSession', 'nohooks', 'plain-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const t = s.status!.targets![0];
  assert.equal(
    t.conditions?.map((c) => c.type),
    ['ReadyForBackup'],
  );
  assert.equal(cond(t.conditions, 'ReadyForBackup'), { status: 'True', reason: 'NoPreHook', message: 'Ready for backup: no pre-backup hook is set.' });
  // Two replicas, one host: a Deployment backs up from its leader replica only, as in Stash.
  assert.is(t.totalHosts, 1);
  assert.equal(s.status?.conditions ?? [], []);
});

test.run();
