// Rules of the seed (shared/seed/stash-hooks-overview.md, "Hook's Behaviors" and "Templating")
// end to end: a failing postRestore fails the RestoreSession; postRestore `executionPolicy`
// skips; httpPost's success boundary (Stash: `200 <= code < 400`, stash `pkg/util/hooks.go` via
// kmodules prober `http.go`); the summary's `Invoker.APIGroup` and `Target.APIVersion`.
// (A BackupBatch member whose pre hook fails while the others back up and the global post sees
// Failed: test/e2e/pipeline-batch.test.ts, "a member's failed pre hook …".)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, configAndSession, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession, RestoreSession } from '../../shared/resources.js';

const FAILED_HOST = { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': 'snapshot not found' };

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

const requests = (prefix: string) => p.sink.requests.filter((r) => r.path.startsWith(prefix));

function restoreYaml(ns: string, name: string, postRestore: string, target = 'app'): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: ${name}, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: ${target}}}
  hooks:
    postRestore: ${postRestore}
`;
}

test('a failing postRestore hook fails the RestoreSession (the restore itself succeeded)', async () => {
  const ns = 'seed-postrestore';
  p.sink.statusFor.set(`/${ns}/post`, 500);
  await p.apply(appYaml(ns, 'app'));
  await p.apply(restoreYaml(ns, 'restore-1', sinkPost(p.sink, `/${ns}/post`)));
  const s = (await p.waitForPhase('RestoreSession', ns, 'restore-1')) as RestoreSession;

  assert.is(s.status?.phase, 'Failed');
  assert.equal(
    s.status?.stats?.map((h) => h.phase),
    ['Succeeded'],
    'every host restored',
  );
  assert.equal(cond(s.status?.conditions, 'PostRestoreHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePostRestoreHook',
    message: `Failed to execute postRestore hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${ns}/post returned 500`,
  });
  assert.equal(
    requests(`/${ns}/`).map((r) => `${r.path} ${r.body}`),
    [`/${ns}/post Succeeded`],
  );
});

test("postRestore executionPolicy: OnSuccess and OnFailure skip with Stash's message, or run", async () => {
  const ns = 'seed-restore-policy';
  await p.apply(appYaml(ns, 'app'));
  await p.apply(appYaml(ns, 'bad', { annotations: FAILED_HOST }).replace(/^[\s\S]*?---/, ''));
  const rows = [
    { name: 'onfailure-ok', policy: 'OnFailure', target: 'app', phase: 'Succeeded', runs: false },
    { name: 'onsuccess-bad', policy: 'OnSuccess', target: 'bad', phase: 'Failed', runs: false },
    { name: 'onfailure-bad', policy: 'OnFailure', target: 'bad', phase: 'Failed', runs: true },
    { name: 'onsuccess-ok', policy: 'OnSuccess', target: 'app', phase: 'Succeeded', runs: true },
  ];
  await p.apply(
    rows.map((r) => restoreYaml(ns, r.name, sinkPost(p.sink, `/${ns}/${r.name}`, undefined, `executionPolicy: ${r.policy}`), r.target)).join('---\n'),
  );
  const sessions = (await Promise.all(rows.map((r) => p.waitForPhase('RestoreSession', ns, r.name)))) as RestoreSession[];

  assert.equal(
    rows.map((r, i) => ({
      row: r.name,
      phase: sessions[i].status?.phase,
      post: cond(sessions[i].status?.conditions, 'PostRestoreHookExecutionSucceeded'),
      requests: requests(`/${ns}/${r.name}`).map((q) => q.body),
    })),
    rows.map((r) => ({
      row: r.name,
      phase: r.phase,
      post: {
        status: 'True',
        reason: 'SuccessfullyExecutedPostRestoreHook',
        message: r.runs
          ? 'Successfully executed postRestore hook.'
          : `Skipping executing postRestore. Reason: executionPolicy is "${r.policy}" but phase is "${r.phase}".`,
      },
      requests: r.runs ? [r.phase] : [],
    })),
  );
});

test('httpPost status boundaries: 399 is success, 400 is failure (and 200 success)', async () => {
  const ns = 'seed-status';
  await p.apply(appYaml(ns, 'app'));
  const codes = [200, 399, 400];
  for (const code of codes) p.sink.statusFor.set(`/${ns}/s${code}`, code);
  await p.apply(
    codes.map((code) => configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/s${code}`)}`).replace(/\bcfg\b/g, `cfg${code}`)).join('---\n'),
  );
  const sessions = (await Promise.all(codes.map((code) => p.waitForPhase('BackupSession', ns, `cfg${code}-1`)))) as BackupSession[];

  const seen = sessions.map((s) => [s.status?.phase, cond(s.status?.targets?.[0]?.conditions, 'PreBackupHookExecutionSucceeded')]);
  assert.equal(seen, [
    ['Succeeded', { status: 'True', reason: 'SuccessfullyExecutedPreBackupHook', message: 'Successfully executed preBackup hook.' }],
    ['Succeeded', { status: 'True', reason: 'SuccessfullyExecutedPreBackupHook', message: 'Successfully executed preBackup hook.' }],
    [
      'Failed',
      {
        status: 'False',
        reason: 'FailedToExecutePreBackupHook',
        message: `Failed to execute preBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${ns}/s400 returned 400`,
      },
    ],
  ]);
  assert.equal(
    codes.map((code) => requests(`/${ns}/s${code}`).length),
    [1, 1, 1],
  );
});

/** A BackupConfiguration `cfg` on Deployment `app` whose postBackup POSTs `body` to /<ns>/post, and its session. */
async function templated(ns: string, body: string): Promise<string> {
  await p.apply(appYaml(ns, 'app'));
  await p.apply(configAndSession(ns, `    postBackup: ${sinkPost(p.sink, `/${ns}/post`, body)}`));
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const [r] = requests(`/${ns}/post`);
  assert.ok(r, "the post hook's request arrived");
  return r.body;
}

test('Invoker.APIGroup and Target.APIVersion in a template (Liquid names)', async () => {
  const body = await templated(
    'seed-tpl-liquid',
    '{{ invoker.apiGroup }} {{ invoker.kind }}/{{ invoker.name }} {{ target.apiVersion }} {{ target.kind }}/{{ target.name }}',
  );
  assert.is(body, 'stash.appscode.com BackupConfiguration/cfg apps/v1 Deployment/app');
});

test('Invoker.APIGroup and Target.APIVersion in a template (Go field names)', async () => {
  const body = await templated(
    'seed-tpl-gofields',
    '{{ .Invoker.APIGroup }} {{ .Invoker.Kind }}/{{ .Invoker.Name }} {{ .Target.APIVersion }} {{ .Target.Kind }}/{{ .Target.Name }}',
  );
  assert.is(body, 'stash.appscode.com BackupConfiguration/cfg apps/v1 Deployment/app');
});

test('Invoker.APIGroup and Target.APIVersion in a Go-dialect template (printf)', async () => {
  const body = await templated('seed-tpl-go', '{{ printf "%s|%s|%s" .Invoker.APIGroup .Target.APIVersion .Target.Kind }}');
  assert.is(body, 'stash.appscode.com|apps/v1|Deployment');
});

test.run();
