// A failing pre hook and a failing post hook of a BackupConfiguration, end to end (DESIGN §5):
// conditions with Stash's exact strings, the gate, the executor left alone, the final phase.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, configAndSession, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('a failed pre hook closes the gate, skips the backup and the post hook, and fails the session', async () => {
  p.sink.statusFor.set('/prefail/pre', 500);
  await p.apply(appYaml('prefail', 'app'));
  await p.apply(configAndSession('prefail', `    preBackup: ${sinkPost(p.sink, '/prefail/pre')}\n    postBackup: ${sinkPost(p.sink, '/prefail/post')}`));
  const s = (await p.waitForPhase('BackupSession', 'prefail', 'cfg-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  const t = s.status!.targets![0];
  assert.equal(cond(t.conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePreBackupHook',
    message: `Failed to execute preBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/prefail/pre returned 500`,
  });
  assert.equal(cond(t.conditions, 'ReadyForBackup'), { status: 'False', reason: 'PreHookFailed', message: 'Skipping backup: preBackup hook failed.' });
  assert.is(t.phase, 'Failed');
  // The executor never touched it: never Running, no hosts, no stats.
  assert.is(
    p.firstSeen('BackupSession', 'prefail', 'cfg-1', (st) => (st as BackupSession['status'])?.targets?.[0]?.phase === 'Running'),
    undefined,
  );
  assert.is(t.totalHosts, undefined);
  assert.is(t.stats, undefined);
  // The post hook did not run and recorded nothing.
  assert.is(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), undefined);
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/prefail/')).map((r) => r.path),
    ['/prefail/pre'],
  );
});

test('a post hook answered with 500 records the failure and fails the session', async () => {
  p.sink.statusFor.set('/postfail/post', 500);
  await p.apply(appYaml('postfail', 'app'));
  await p.apply(configAndSession('postfail', `    preBackup: ${sinkPost(p.sink, '/postfail/pre')}\n    postBackup: ${sinkPost(p.sink, '/postfail/post')}`));
  const s = (await p.waitForPhase('BackupSession', 'postfail', 'cfg-1')) as BackupSession;

  assert.is(s.status?.phase, 'Failed');
  const t = s.status!.targets![0];
  assert.is(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True');
  assert.is(cond(t.conditions, 'ReadyForBackup')?.status, 'True');
  assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePostBackupHook',
    message: `Failed to execute postBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/postfail/post returned 500`,
  });
  // The backup itself went through; the post hook ran once, after it; its failure fails the
  // target too (DESIGN §5: "A failed post hook makes the target and the session Failed").
  assert.ok(p.firstSeen('BackupSession', 'postfail', 'cfg-1', (st) => (st as BackupSession['status'])?.targets?.[0]?.phase === 'Succeeded'));
  assert.is(t.phase, 'Failed');
  assert.equal(
    t.stats?.map((h) => h.phase),
    ['Succeeded'],
    "the executor's host report stands",
  );
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/postfail/')).map((r) => r.path),
    ['/postfail/pre', '/postfail/post'],
  );
  assert.is(p.sink.requests.find((r) => r.path === '/postfail/post')?.body, 'Succeeded');
});

test('hook results and the final phase are recorded as Events on the session (the failed-post session above)', async () => {
  const events = await p.core.listNamespacedEvent({ namespace: 'postfail' });
  const seen = events.items.filter((e) => e.involvedObject?.name === 'cfg-1').map((e) => `${e.type} ${e.reason}: ${e.message}`);
  assert.equal(
    seen.sort(),
    [
      'Normal HookSucceeded: Successfully executed preBackup hook.',
      `Warning HookFailed: Failed to execute postBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/postfail/post returned 500`,
      `Warning SessionFailed: Backup session failed after ${(await p.getSession('BackupSession', 'postfail', 'cfg-1')).status?.sessionDuration}.`,
    ].sort(),
  );
});

test.run();
