/**
 * `npm run chaos`: the full chaos run (issue 8) — 1,000 sessions by default — and its summary
 * table. Exit code 1 when a session is stuck or wrongly finalized, a hook was lost or ran
 * unexpectedly, or a hook ran again without a worker SIGKILL that interrupted its earlier run.
 *
 *   CHAOS_SESSIONS=1000 CHAOS_WORKERS=3 CHAOS_SEED=42 npm run chaos
 */
import { formatReport, runChaos, unexplainedReruns } from './chaos-run.js';

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const sessions = num('CHAOS_SESSIONS', 1000);
const report = await runChaos(
  {
    sessions,
    batchShare: 0.25,
    failShare: 0.1,
    workers: num('CHAOS_WORKERS', 3),
    createOverMs: num('CHAOS_CREATE_MS', Math.max(20_000, sessions * 120)),
    chaosEveryMs: num('CHAOS_EVERY_MS', 2500),
    redisRestarts: num('CHAOS_REDIS_RESTARTS', 2),
    settleTimeoutMs: num('CHAOS_SETTLE_MS', 180_000),
    log: (l) => console.log(`${new Date().toISOString().slice(11, 19)} ${l}`),
  },
  process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined,
);
console.log('\n' + formatReport(report));
for (const [label, list] of [
  ['stuck', report.stuck],
  ['wrong phase', report.wrongPhase],
  ['missing hooks', report.missingHooks],
  ['unexpected hooks', report.unexpectedHooks],
] as const) {
  if (list.length) console.log(`${label}: ${list.slice(0, 20).join(', ')}${list.length > 20 ? ' …' : ''}`);
}
if (report.diagnostics.length) console.log(`role logs naming stuck sessions:\n${report.diagnostics.slice(0, 50).join('\n')}`);
if (report.duplicateHooks.length)
  console.log(
    `duplicates:\n${report.duplicateHooks
      .slice(0, 30)
      .map((d) => `  ${d.path} ×${d.count} — ${d.cause}: ${d.timeline}`)
      .join('\n')}`,
  );
const ok =
  report.stuck.length === 0 &&
  report.wrongPhase.length === 0 &&
  report.missingHooks.length === 0 &&
  report.unexpectedHooks.length === 0 &&
  unexplainedReruns(report) === 0;
console.log(ok ? '\nchaos: PASS' : '\nchaos: FAIL');
process.exit(ok ? 0 : 1);
