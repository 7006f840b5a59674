/**
 * `npm run chaos`: the chaos runs (issues 8 and 15) and their summary tables. Exit code 1 when a
 * session is stuck or wrongly finalized, a hook was lost or ran unexpectedly, a role process
 * ended by itself, or a hook ran again without a worker SIGKILL that interrupted its earlier run
 * (seen at the sink) and without its condition naming that SIGKILLed worker (the product's record).
 *
 *   npm run chaos                     the main run (1,000 sessions, standalone Redis restarted
 *                                     empty, long hooks, API latency spikes, workers at
 *                                     concurrency 50), then the Sentinel run (failovers)
 *   npm run chaos -- --redis-loss     10-second hooks, Redis restarted empty mid-hook, no kills:
 *                                     the bar is no duplicate at all
 *   npm run chaos -- --main | --sentinel   one of the two default runs
 *
 *   CHAOS_SESSIONS=1000 CHAOS_WORKERS=3 CHAOS_SEED=42 npm run chaos
 */
import { formatReport, runChaos, unexplainedReruns, type ChaosOptions, type ChaosReport } from './chaos-run.js';

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const log = (l: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${l}`);
const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined;
const args = new Set(process.argv.slice(2));
const known = new Set(['--redis-loss', '--main', '--sentinel']);
for (const a of args) {
  if (!known.has(a)) {
    console.error(`chaos: unknown option ${a} (known: ${[...known].join(', ')})`);
    process.exit(2);
  }
}

const sessions = num('CHAOS_SESSIONS', 1000);
const common = {
  batchShare: 0.25,
  failShare: 0.1,
  workers: num('CHAOS_WORKERS', 3),
  concurrency: num('CHAOS_CONCURRENCY', 50),
  chaosEveryMs: num('CHAOS_EVERY_MS', 2500),
  settleTimeoutMs: num('CHAOS_SETTLE_MS', 180_000),
  log,
};

const scenarios: Array<[string, ChaosOptions]> = [];
if (args.has('--redis-loss')) {
  const n = num('CHAOS_SESSIONS', 100);
  scenarios.push([
    'redis-loss',
    {
      ...common,
      sessions: n,
      batchShare: 0,
      failShare: 0,
      slowShare: 1,
      slowHookMs: [10_000, 10_000],
      createOverMs: num('CHAOS_CREATE_MS', 20_000),
      // No kills, no API faults: what is left is Redis losing everything while hooks run.
      actions: ['close-watches'],
      chaosEveryMs: 4000,
      redisRestarts: num('CHAOS_REDIS_RESTARTS', 2),
      duplicates: 'none',
    },
  ]);
} else {
  const both = !args.has('--main') && !args.has('--sentinel');
  if (both || args.has('--main'))
    scenarios.push([
      'main',
      {
        ...common,
        sessions,
        slowShare: 0.1,
        createOverMs: num('CHAOS_CREATE_MS', Math.max(20_000, sessions * 120)),
        redisRestarts: num('CHAOS_REDIS_RESTARTS', 2),
        latencySpikes: num('CHAOS_LATENCY_SPIKES', 2),
      },
    ]);
  if (both || args.has('--sentinel')) {
    const n = num('CHAOS_SENTINEL_SESSIONS', 300);
    scenarios.push([
      'sentinel',
      {
        ...common,
        sessions: n,
        slowShare: 0.1,
        createOverMs: Math.max(20_000, n * 120),
        redisRestarts: 0,
        sentinel: true,
        failovers: num('CHAOS_FAILOVERS', 2),
      },
    ]);
  }
}

function passed(report: ChaosReport): boolean {
  return (
    report.stuck.length === 0 &&
    report.wrongPhase.length === 0 &&
    report.missingHooks.length === 0 &&
    report.unexpectedHooks.length === 0 &&
    report.selfExits.length === 0 &&
    unexplainedReruns(report) === 0 &&
    report.duplicateHooks.reduce((n, d) => n + d.count - 1, 0) <= (report.duplicateBar === 'none' ? 0 : report.interruptedRuns) &&
    // Every re-run is the product's own takeover from a worker chaos SIGKILLed, and says so.
    report.duplicateHooks.every((d) => d.namedStoppedWorker)
  );
}

let ok = true;
for (const [name, options] of scenarios) {
  log(`chaos: scenario ${name}`);
  const report = await runChaos(options, seed);
  console.log(`\nscenario ${name}\n` + formatReport(report));
  for (const [label, list] of [
    ['stuck', report.stuck],
    ['wrong phase', report.wrongPhase],
    ['missing hooks', report.missingHooks],
    ['unexpected hooks', report.unexpectedHooks],
    ['processes that ended by themselves', report.selfExits],
  ] as const) {
    if (list.length) console.log(`${label}: ${list.slice(0, 20).join(', ')}${list.length > 20 ? ' …' : ''}`);
  }
  if (report.diagnostics.length) console.log(`role logs naming stuck sessions:\n${report.diagnostics.slice(0, 50).join('\n')}`);
  if (report.duplicateHooks.length)
    console.log(
      `duplicates:\n${report.duplicateHooks
        .slice(0, 30)
        .map((d) => `  ${d.path} ×${d.count} — ${d.cause}${d.namedStoppedWorker ? '' : ' (its condition names no SIGKILLed worker)'}: ${d.timeline}`)
        .join('\n')}`,
    );
  const good = passed(report);
  console.log(`\nchaos ${name}: ${good ? 'PASS' : 'FAIL'}\n`);
  ok &&= good;
}
console.log(ok ? 'chaos: PASS' : 'chaos: FAIL');
process.exit(ok ? 0 : 1);
