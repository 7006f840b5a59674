// The short chaos run inside `npm test` (issue 8; the full 1,000-session run is `npm run chaos`):
// ~40 sessions of single and batch kinds while spawned watcher/coordinator/worker processes are
// SIGKILLed and restarted, the private Redis is restarted empty and devcluster injects faults.
// Every session must end with its expected phase, no hook may be lost, and a hook may run again
// only after a worker SIGKILL interrupted its earlier run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatReport, runChaos, unexplainedReruns } from '../../bench/chaos-run.js';

test('chaos (short): every session finalized with the right phase, nothing lost or stuck, no unexplained duplicate', async () => {
  const lines: string[] = [];
  const report = await runChaos(
    {
      sessions: 40,
      batchShare: 0.25,
      failShare: 0.1,
      workers: 2,
      createOverMs: 16_000,
      chaosEveryMs: 1500,
      redisRestarts: 1,
      settleTimeoutMs: 60_000,
      log: (l) => lines.push(l),
      // Every kind of fault happens at least once; the watcher kill comes first so the standby's
      // Lease takeover (15 s) overlaps the rest of the run.
      actions: ['kill-watcher', 'kill-worker', 'faults-on', 'kill-coordinator', 'close-watches', 'kill-worker', 'faults-off', 'kill-worker'],
    },
    Number(process.env.CHAOS_SEED ?? 8),
  );
  const table = formatReport(report);
  console.log(table);
  assert.equal(report.stuck, [], `stuck sessions\n${table}\n${lines.join('\n')}\n${report.diagnostics.join('\n')}`);
  assert.equal(report.wrongPhase, [], 'wrongly finalized sessions');
  assert.equal(report.missingHooks, [], 'lost hooks');
  assert.equal(report.unexpectedHooks, [], 'hooks that should not have run (e.g. a post hook after a failed pre)');
  assert.is(report.finalizedRight, 40);
  assert.is(
    unexplainedReruns(report),
    0,
    `hooks run again without a worker SIGKILL that interrupted them:\n${report.duplicateHooks.map((d) => `${d.path} ×${d.count} (${d.cause}): ${d.timeline}`).join('\n')}`,
  );
  assert.equal(report.selfExits, [], 'role processes that ended by themselves');
  assert.ok(report.kills.worker >= 2 && report.kills.coordinator >= 1 && report.kills.watcher >= 1 && report.redisRestarts === 1, table);
});

test.run();
