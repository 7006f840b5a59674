// Bounded messages (DESIGN §11): a preBackup exec that fails on all 50 pods of a StatefulSet, each
// with a long multi-byte stderr. Unbounded, the per-host list is ~80 KB, past the 32 KiB a
// condition message may hold (metav1.Condition), and the status write would be refused. The
// condition must stay within 32 KiB, say how many hosts it left out, and the session must finish.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoreV1Api } from '@kubernetes/client-node';
import { startPipeline, cond, waitFor, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

const NS = 'wide';
const PODS = 50;
let p: Pipeline;

test.before(async () => {
  p = await startPipeline({ defaultHookTimeoutSeconds: 60 });
});
test.after(async () => {
  await p?.close();
});

test(`a hook failing on ${PODS} pods keeps its condition ≤ 32 KiB and the session finishes`, async () => {
  // 600 × "€" (3 bytes each) on stderr: the 500-character tail kept per host is 1.5 KB.
  const command = JSON.stringify(['sh', '-c', `i=0; while [ $i -lt 600 ]; do printf '€' >&2; i=$((i+1)); done; exit 4`]);
  await p.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${NS}}
spec:
  replicas: ${PODS}
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres}]
`);
  const core = p.kubeConfig.makeApiClient(CoreV1Api);
  await waitFor(
    `${PODS} running pods`,
    async () => (await core.listNamespacedPod({ namespace: NS })).items.filter((x) => x.status?.phase === 'Running').length === PODS,
    30_000,
  );
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${NS}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}}
  hooks:
    preBackup: {exec: {command: ${command}}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${NS}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
  const s = (await p.waitForPhase('BackupSession', NS, 'cfg-1', 60_000)) as BackupSession;
  assert.is(s.status?.phase, 'Failed');
  const pre = cond(s.status?.targets?.[0]?.conditions, 'PreBackupHookExecutionSucceeded');
  assert.is(pre?.status, 'False');
  const message = pre?.message ?? '';
  const bytes = Buffer.byteLength(message);
  assert.ok(bytes <= 32 * 1024, `condition message is ${bytes} bytes`);
  assert.ok(
    message.startsWith(`Failed to execute preBackup hook. Reason: exec failed on ${PODS} of ${PODS} hosts: exec in pod ${NS}/db-`),
    message.slice(0, 200),
  );
  const more = /; … and (\d+) more hosts$/.exec(message);
  assert.ok(more, `the message ends with the count of hosts left out: …${message.slice(-80)}`);
  const listed = message.split(`exec in pod ${NS}/db-`).length - 1;
  assert.is(listed + Number(more![1]), PODS, 'every host is either listed or counted');
  assert.ok(listed >= 5, `${listed} hosts listed`);
  const events = await core.listNamespacedEvent({ namespace: NS });
  const failed = events.items.filter((e) => e.reason === 'HookFailed');
  assert.is(failed.length, 1);
  assert.ok(Buffer.byteLength(failed[0].message ?? '') <= 1024 * 3, 'the Event message is bounded too');
});

test.run();
