// Every post hook `executionPolicy` against every backup outcome (DESIGN §5), as one table: the
// sessions run side by side in one cluster, each with its own sink path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

interface Row {
  policy: 'Always' | 'OnSuccess' | 'OnFailure' | 'OnFinalRetryFailure';
  outcome: 'Succeeded' | 'Failed';
  retryLeft?: number;
  runs: boolean;
}

const TABLE: Row[] = [
  { policy: 'Always', outcome: 'Succeeded', runs: true },
  { policy: 'Always', outcome: 'Failed', runs: true },
  { policy: 'OnSuccess', outcome: 'Succeeded', runs: true },
  { policy: 'OnSuccess', outcome: 'Failed', runs: false },
  { policy: 'OnFailure', outcome: 'Succeeded', runs: false },
  { policy: 'OnFailure', outcome: 'Failed', runs: true },
  { policy: 'OnFinalRetryFailure', outcome: 'Succeeded', retryLeft: 0, runs: false },
  { policy: 'OnFinalRetryFailure', outcome: 'Failed', retryLeft: 0, runs: true },
  { policy: 'OnFinalRetryFailure', outcome: 'Succeeded', retryLeft: 2, runs: false },
  { policy: 'OnFinalRetryFailure', outcome: 'Failed', retryLeft: 2, runs: false },
];

const NS = 'policy';
const nameOf = (r: Row) => `${r.policy.toLowerCase()}-${r.outcome.toLowerCase()}${r.retryLeft !== undefined ? `-r${r.retryLeft}` : ''}`;

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('executionPolicy × backup outcome: the post hook runs or records the exact skip message', async () => {
  await p.apply(appYaml(NS, 'ok-app'));
  await p.apply(
    appYaml(NS, 'bad-app', {
      annotations: { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': 'disk full' },
    }).replace(/^apiVersion: v1\nkind: Namespace\nmetadata: \{name: policy\}\n---/m, ''),
  );
  const docs = TABLE.map((r) => {
    const name = nameOf(r);
    const retry = r.retryLeft !== undefined ? `\n  retryLeft: ${r.retryLeft}` : '';
    return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: ${name}, namespace: ${NS}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: ${r.outcome === 'Succeeded' ? 'ok-app' : 'bad-app'}}}
  hooks:
    postBackup: ${sinkPost(p.sink, `/policy/${name}`, '{{ .Status.Phase }}', `executionPolicy: ${r.policy}`)}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}-1, namespace: ${NS}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: ${name}}${retry}
`;
  });
  await p.apply(docs.join('---\n'));
  const sessions = (await Promise.all(TABLE.map((r) => p.waitForPhase('BackupSession', NS, `${nameOf(r)}-1`)))) as BackupSession[];

  const seen = TABLE.map((r, i) => {
    const s = sessions[i];
    const t = s.status?.targets?.[0];
    const requests = p.sink.requests.filter((q) => q.path === `/policy/${nameOf(r)}`);
    return {
      row: nameOf(r),
      session: s.status?.phase,
      target: t?.phase,
      post: cond(t?.conditions, 'PostBackupHookExecutionSucceeded'),
      requests: requests.map((q) => q.body),
    };
  });
  const expected = TABLE.map((r) => ({
    row: nameOf(r),
    session: r.outcome,
    target: r.outcome,
    post: {
      status: 'True',
      reason: 'SuccessfullyExecutedPostBackupHook',
      message: r.runs
        ? 'Successfully executed postBackup hook.'
        : `Skipping executing postBackup. Reason: executionPolicy is "${r.policy}" but phase is "${r.outcome}".`,
    },
    requests: r.runs ? [r.outcome] : [],
  }));
  assert.equal(seen, expected);
});

test.run();
