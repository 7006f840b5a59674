// A Redis that lost its data is noticed at once (the watcher's marker key, producers/watcher.ts),
// not at the next periodic resync: with the resync ten minutes away, a session whose jobs were
// wiped mid-backup still finishes within seconds, recorded hooks not re-run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, applySinkSession, assertSinkSessionRanOnce, waitForSinkTarget, type Pipeline } from '../helpers/pipeline.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ backupSeconds: 1.5, resyncIntervalMs: 600_000, verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test('Redis wiped mid-session with no resync due: the lost flow is rebuilt at once and the session completes', async () => {
  const ns = 'wiped';
  await applySinkSession(p, ns);
  await waitForSinkTarget(p, ns, 'Running');
  assert.ok((await p.deleteRedisKeys()) > 0, 'there were keys to lose');
  await assertSinkSessionRanOnce(p, ns);
});

test.run();
