/**
 * `npm run bench` (issue 7): every scenario against devcluster, real Redis and a local sink, each
 * with its baseline measured in the same run; prints a table and writes
 * `bench/results/<timestamp>.json`.
 *
 *   node --import tsx bench/run.ts [--quick] [--only 1,3] [--rate 200] [--seconds 30] [--concurrency 50] [--profile DIR] [--verbose]
 *
 * `--quick` shortens every scenario (5 s of dispatch, 500-session burst, batches of 10/100,
 * 1,000/3,000 sessions of watcher memory, shorter scale-out) for iterating; the full run takes a
 * few minutes. `--profile DIR` runs every stash-hooks process with `--cpu-prof` into DIR.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dispatchLatency, burst, type BurstResult, type DispatchResult } from './scenarios/dispatch.js';
import { batchScale, type BatchRow } from './scenarios/batch.js';
import { watcherMemory, type MemoryRow } from './scenarios/watcher-memory.js';
import { scaleOut, type ScaleRow } from './scenarios/scale-out.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const batchSizes = flag('batch')?.split(',').map(Number);
const verbose = process.argv.includes('--verbose');
const only = new Set((flag('only') ?? '1,2,3,4,5').split(',').map(Number));
const concurrency = Number(flag('concurrency') ?? 50);
const cpuProfDir = flag('profile');
const hopts = { concurrency, verbose, cpuProfDir };

const results: {
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  dispatch?: DispatchResult;
  burst?: BurstResult;
  batch?: BatchRow[];
  watcherMemory?: MemoryRow[];
  scaleOut?: ScaleRow[];
  goals: Array<{ goal: string; measured: string; met: boolean }>;
} = {
  machine: {
    nproc: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    startedAt: new Date().toISOString(),
  },
  options: { quick, concurrency, only: [...only] },
  goals: [],
};

const log = (s: string) => process.stderr.write(`${s}\n`);

async function step<T>(n: number, what: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(n)) return undefined;
  log(`[bench] ${n}. ${what} ...`);
  const t = performance.now();
  try {
    return await run();
  } catch (err) {
    log(`[bench] ${n}. ${what} FAILED: ${(err as Error).stack}`);
    process.exitCode = 1;
    return undefined;
  } finally {
    log(`[bench] ${n}. done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

results.dispatch = await step(1, 'dispatch latency', () => dispatchLatency(Number(flag('rate') ?? 200), Number(flag('seconds') ?? (quick ? 5 : 30)), hopts));
results.burst = await step(2, 'burst throughput', () => burst(quick ? 500 : 5000, hopts));
results.batch = await step(3, 'batch scale', () => batchScale(batchSizes ?? (quick ? [10, 100] : [10, 100, 1000]), hopts));
results.watcherMemory = await step(4, 'watcher memory', () => watcherMemory(quick ? [1000, 3000] : [1000, 10000], hopts));
results.scaleOut = await step(5, 'scale-out', () =>
  scaleOut(
    [1, 2].flatMap((processes) => [10, 50, 200].map((c) => ({ processes, concurrency: c }))),
    { ...hopts, hookMs: 100, seconds: quick ? 1.5 : 4, maxHooks: quick ? 1500 : 3000 },
  ),
);

// ---- report ----
const lines: string[] = [];
const table = (head: string[], rows: Array<Array<string | number>>) => {
  lines.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  lines.push('');
};
const goal = (g: string, measured: string, met: boolean) => results.goals.push({ goal: g, measured, met });

const d = results.dispatch;
if (d) {
  lines.push(`1. Dispatch latency, ${d.rate} sessions/s for ${d.seconds} s (create acknowledged → preBackup httpGet at the sink), ms`);
  table(
    ['', 'n', 'p50', 'p99', 'max'],
    [
      ['pipeline', `${d.pipeline.n} (${d.pipeline.missing} missing)`, d.pipeline.p50, d.pipeline.p99, d.pipeline.max],
      ['baseline: BullMQ add → process', d.baseline.n, d.baseline.p50, d.baseline.p99, d.baseline.max],
      ['ratio', '', d.ratioP50, d.ratioP99, ''],
    ],
  );
  lines.push(`   CPU during the run: devcluster ${d.cpuSeconds.devcluster} s, stash-hooks roles ${d.cpuSeconds.roles} s`, '');
  lines.push(`   API server GET latency during the run (probe every 50 ms): p50 ${d.apiGet.p50}, p99 ${d.apiGet.p99}, max ${d.apiGet.max} ms`, '');
  lines.push("   Where the time goes (p50 per stage, ms, from the jobs' timestamps):");
  for (const [k, v] of Object.entries(d.stages)) lines.push(`   - ${k.slice(2)}: ${v}`);
  lines.push('');
  goal('dispatch p50 ≤ 5 ms', `${d.pipeline.p50} ms`, d.pipeline.p50 <= 5);
  goal('dispatch p99 ≤ 20 ms', `${d.pipeline.p99} ms`, d.pipeline.p99 <= 20);
}
const b = results.burst;
if (b) {
  lines.push(`2. Burst: ${b.sessions} BackupSessions created at once (32 creates in flight)`);
  table(
    ['', 'seconds', 'sessions/s', 'ratio to baseline'],
    [
      ['creates acknowledged', b.createSeconds, Math.round(b.sessions / b.createSeconds), ''],
      [`every pre hook condition written (${b.preDone})`, b.preSeconds, b.prePerSecond, b.ratioPre],
      [`every session final (${b.finalized}, ${b.failed} Failed)`, b.finalSeconds, b.finalPerSecond, b.ratioFinal],
      [`baseline: BullMQ no-op jobs, concurrency ${concurrency}`, '', b.baselineJobsPerSecond, 1],
    ],
  );
  lines.push(`   CPU during the run: devcluster ${b.cpuSeconds.devcluster} s, stash-hooks roles ${b.cpuSeconds.roles} s`, '');
  goal('≥ 1,000 sessions/s pre-hook throughput', `${b.prePerSecond} sessions/s`, b.prePerSecond >= 1000);
}
if (results.batch?.length) {
  lines.push('3. BackupBatch (global + local pre/post hooks): creation → final phase');
  table(
    [
      'members',
      'to final phase, s',
      'phase',
      'every gate open (all pre hooks done), s',
      'hook requests',
      'ms/member',
      'baseline: no-op flow of 2n+2 jobs, s',
      'ratio',
    ],
    results.batch.map((r) => [r.members, r.seconds, r.phase, r.gatesOpenSeconds, r.hooksAtSink, r.msPerMember, r.baselineSeconds, r.ratio]),
  );
  const big = results.batch.find((r) => r.members === 1000);
  if (big) goal('1,000-member batch finalized ≤ 5 s', `${big.seconds} s (${big.phase})`, big.seconds <= 5 && big.phase === 'Succeeded');
  const [first, last] = [results.batch[0], results.batch.at(-1)!];
  if (results.batch.length > 1) {
    const growth = last.msPerMember / first.msPerMember;
    goal('batch cost linear in members', `ms/member ${first.msPerMember} at ${first.members} → ${last.msPerMember} at ${last.members}`, growth <= 2);
  }
}
if (results.watcherMemory?.length) {
  lines.push('4. Watcher RSS after listing every session (10% Running)');
  table(
    ['sessions', 'RSS MB', 'peak RSS MB', 'baseline: empty cluster, MB', 'KB/session', 'list+publish s'],
    results.watcherMemory.map((r) => [r.sessions, r.rssMb, r.peakRssMb, r.baselineRssMb, r.kbPerSession, r.listSeconds]),
  );
  const big = results.watcherMemory.at(-1)!;
  goal(
    `watcher ≤ 150 MB RSS at ${big.sessions} sessions${big.sessions < 10000 ? ' (quick: goal is at 10,000)' : ''}`,
    `${big.rssMb} MB (peak ${big.peakRssMb})`,
    big.peakRssMb <= 150,
  );
}
if (results.scaleOut?.length) {
  lines.push('5. Scale-out: 100 ms hooks on `worker --queues pre-backup`');
  table(
    ['processes', 'concurrency', 'hooks', 'seconds', 'hooks/s', 'ideal', 'ratio', 'CPU s devcluster / workers'],
    results.scaleOut.map((r) => [
      r.processes,
      r.concurrency,
      r.hooks,
      r.seconds,
      r.hooksPerSecond,
      r.idealPerSecond,
      r.ratio,
      `${r.cpuSeconds.devcluster} / ${r.cpuSeconds.workers}`,
    ]),
  );
  for (const r of results.scaleOut) goal(`scale-out ${r.processes}×${r.concurrency} within 80% of ideal`, `${r.ratio}`, r.ratio >= 0.8);
}
lines.push('Goals');
table(
  ['goal', 'measured', 'met'],
  results.goals.map((g) => [g.goal, g.measured, g.met ? 'yes' : 'NO']),
);

process.stdout.write(`${lines.join('\n')}\n`);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`[bench] wrote ${file}`);
