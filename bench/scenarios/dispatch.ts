/**
 * Scenarios 1 and 2: dispatch latency at a steady rate, and burst throughput.
 */
import { baselineAddLatency, baselineThroughput } from '../lib/baselines.js';
import { createApp, createBackupConfiguration, createSession, httpGet } from '../lib/fixtures.js';
import { startHarness, type HarnessOptions } from '../lib/harness.js';
import { pool, STASH_API } from '../lib/kube-http.js';
import { redisTarget } from '../lib/processes.js';
import { latencySummary, percentile, ratio, sleep, until } from '../lib/stats.js';
import { Queue } from 'bullmq';
import { connectRedis } from '../../shared/redis.js';
import { hookJobId, lifecycleJobId, QueueName, type SessionRef } from '../../shared/queues.js';
import { releaseJobId } from '../../workers/flow-plan.js';

/**
 * Where the time goes, from the jobs' own timestamps (ms since epoch, so relative to the
 * create acknowledgement converted from performance.now): p50 of each stage over the sessions.
 */
async function breakdown(prefix: string, sessions: Array<{ ref: SessionRef; createdEpoch: number; sinkEpoch?: number }>): Promise<Record<string, number>> {
  const conn = await connectRedis(redisTarget().target, { purpose: 'producer' });
  const q = (n: string) => new Queue(n, { connection: conn, prefix });
  const [lc, co, pre] = [q(QueueName.lifecycle), q(QueueName.coordinator), q(QueueName.preBackup)];
  const stages: Record<string, number[]> = {};
  const put = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) (stages[k] ??= []).push(v);
  };
  try {
    for (const s of sessions) {
      const l = await lc.getJob(lifecycleJobId({ type: 'SessionObserved', session: s.ref, observedAt: 0 }));
      const r = await co.getJob(releaseJobId(s.ref));
      const p = await pre.getJob(hookJobId({ session: s.ref, hook: 'preBackup', scope: 'local', targetIndex: 0 }));
      if (!l || !r || !p) continue;
      put('1 create ack → watcher published lifecycle job', l.timestamp - s.createdEpoch);
      put('2 lifecycle job waiting', (l.processedOn ?? NaN) - l.timestamp);
      put('3 coordinator builds flows', (l.finishedOn ?? NaN) - (l.processedOn ?? NaN));
      put('4 release job waiting (after flow added)', (r.processedOn ?? NaN) - r.timestamp);
      put('5 release: initiate + enqueue pre hook', p.timestamp - (r.processedOn ?? NaN));
      put('6 pre hook job waiting', (p.processedOn ?? NaN) - p.timestamp);
      put('7 pre hook job start → request at sink', (s.sinkEpoch ?? NaN) - (p.processedOn ?? NaN));
    }
    return Object.fromEntries(
      Object.entries(stages)
        .sort()
        .map(([k, v]) => [k, Math.round(percentile(v, 50) * 10) / 10]),
    );
  } finally {
    await Promise.all([lc, co, pre].map((x) => x.close()));
    conn.disconnect();
  }
}

/** Creates `n` warm-up sessions and waits for their pre hooks (JIT, connections, Lease). */
async function warmUp(h: Awaited<ReturnType<typeof startHarness>>, ns: string, n: number): Promise<void> {
  await pool(n, 8, async (i) => {
    await createSession(h.k, ns, `warm-${i}`, { kind: 'BackupConfiguration', name: 'bc' });
  });
  await until('warm-up pre hooks', () => Array.from({ length: n }, (_v, i) => h.sink.arrivals.has(`/pre/warm-${i}`)).every(Boolean), 60_000, 20);
  await sleep(500);
}

export interface DispatchResult {
  rate: number;
  seconds: number;
  pipeline: ReturnType<typeof latencySummary> & { missing: number };
  baseline: ReturnType<typeof latencySummary>;
  ratioP50: number;
  ratioP99: number;
  cpuSeconds: { devcluster: number; roles: number };
  /** p50 ms of each stage of the dispatch path. */
  stages: Record<string, number>;
  /** Latency of a GET to the API server from this process during the run (ms). */
  apiGet: ReturnType<typeof latencySummary>;
}

/** Scenario 1: session created in the API → its preBackup httpGet arrives at the sink. */
export async function dispatchLatency(rate: number, seconds: number, hopts: HarnessOptions): Promise<DispatchResult> {
  const h = await startHarness(hopts);
  try {
    const ns = 'dispatch';
    await createApp(h.k, ns);
    await createBackupConfiguration(h.k, ns, 'bc', { preBackup: httpGet(h.sink.port, '/pre/{{ .Name }}') });
    await warmUp(h, ns, 50);
    const total = Math.round(rate * seconds);
    const created = new Map<string, number>();
    const refs = new Map<string, SessionRef>();
    const epochOffset = Date.now() - performance.now();
    const cpu0 = h.cpu();
    // A probe of the API server's own latency during the run: one GET every 50 ms.
    const apiLatencies: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        await h.k.send('GET', `/api/v1/namespaces/${ns}`);
        apiLatencies.push(performance.now() - t);
        await sleep(50);
      }
    })();
    const t0 = performance.now();
    const creates: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const name = `s-${i}`;
      creates.push(
        createSession(h.k, ns, name, { kind: 'BackupConfiguration', name: 'bc' }).then((uid) => {
          created.set(name, performance.now());
          refs.set(name, { kind: 'BackupSession', namespace: ns, name, uid });
        }),
      );
    }
    await Promise.all(creates);
    await until('every pre hook', () => [...created.keys()].every((n) => h.sink.arrivals.has(`/pre/${n}`)), 30_000, 20).catch(() => {});
    const cpu1 = h.cpu();
    probing = false;
    await probe;
    const latencies: number[] = [];
    let missing = 0;
    for (const [name, at] of created) {
      const arrived = h.sink.arrivals.get(`/pre/${name}`);
      if (arrived === undefined) missing++;
      else latencies.push(arrived - at);
    }
    await h.stopRoles();
    const stages = await breakdown(
      h.prefix,
      [...created]
        .filter((_e, i) => i % Math.max(1, Math.floor(created.size / 200)) === 0)
        .map(([name, at]) => {
          const sink = h.sink.arrivals.get(`/pre/${name}`);
          return { ref: refs.get(name)!, createdEpoch: at + epochOffset, sinkEpoch: sink === undefined ? undefined : sink + epochOffset };
        }),
    );
    const baseline = await baselineAddLatency(redisTarget().target, `${h.prefix}-base`, rate, seconds);
    const pipeline = { ...latencySummary(latencies), missing };
    return {
      rate,
      seconds,
      pipeline,
      baseline,
      ratioP50: ratio(pipeline.p50, baseline.p50),
      ratioP99: ratio(pipeline.p99, baseline.p99),
      stages,
      apiGet: latencySummary(apiLatencies),
      cpuSeconds: { devcluster: round(cpu1.devcluster - cpu0.devcluster), roles: round(cpu1.roles - cpu0.roles) },
    };
  } finally {
    await h.close();
  }
}

export interface BurstResult {
  sessions: number;
  createSeconds: number;
  preSeconds: number;
  finalSeconds: number;
  prePerSecond: number;
  finalPerSecond: number;
  preDone: number;
  finalized: number;
  failed: number;
  baselineJobsPerSecond: number;
  ratioPre: number;
  ratioFinal: number;
  cpuSeconds: { devcluster: number; roles: number };
}

/** Scenario 2: `count` sessions created at once; until every pre hook condition, every final phase. */
export async function burst(count: number, hopts: HarnessOptions & { timeoutMs?: number }): Promise<BurstResult> {
  const h = await startHarness(hopts);
  try {
    const ns = 'burst';
    await createApp(h.k, ns);
    await createBackupConfiguration(h.k, ns, 'bc', { preBackup: httpGet(h.sink.port, '/pre/{{ .Name }}') });
    await warmUp(h, ns, 50);
    const preAt = new Map<string, number>();
    const finalAt = new Map<string, number>();
    let failed = 0;
    const stop = await h.k.watch(`${STASH_API}/namespaces/${ns}/backupsessions`, (_type, obj) => {
      const name: string = obj.metadata?.name ?? '';
      if (!name.startsWith('b-')) return;
      const now = performance.now();
      if (
        !preAt.has(name) &&
        obj.status?.targets?.[0]?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'PreBackupHookExecutionSucceeded' && c.status !== 'Unknown',
        )
      )
        preAt.set(name, now);
      const phase = obj.status?.phase;
      if (!finalAt.has(name) && (phase === 'Succeeded' || phase === 'Failed')) {
        finalAt.set(name, now);
        if (phase === 'Failed') failed++;
      }
    });
    const cpu0 = h.cpu();
    const t0 = performance.now();
    await pool(count, 32, async (i) => {
      await createSession(h.k, ns, `b-${i}`, { kind: 'BackupConfiguration', name: 'bc' });
    });
    const tCreated = performance.now();
    await until('every session final', () => finalAt.size >= count, hopts.timeoutMs ?? 300_000, 20).catch(() => {});
    stop();
    const cpu1 = h.cpu();
    const last = (m: Map<string, number>) => Math.max(...m.values());
    const preSeconds = (last(preAt) - t0) / 1000;
    const finalSeconds = (last(finalAt) - t0) / 1000;
    await h.stopRoles();
    const base = await baselineThroughput(redisTarget().target, `${h.prefix}-base`, count, hopts.concurrency ?? 10);
    const prePerSecond = Math.round(preAt.size / preSeconds);
    const finalPerSecond = Math.round(finalAt.size / finalSeconds);
    return {
      sessions: count,
      createSeconds: round((tCreated - t0) / 1000),
      preSeconds: round(preSeconds),
      finalSeconds: round(finalSeconds),
      prePerSecond,
      finalPerSecond,
      preDone: preAt.size,
      finalized: finalAt.size,
      failed,
      baselineJobsPerSecond: base.jobsPerSecond,
      ratioPre: ratio(prePerSecond, base.jobsPerSecond),
      ratioFinal: ratio(finalPerSecond, base.jobsPerSecond),
      cpuSeconds: { devcluster: round(cpu1.devcluster - cpu0.devcluster), roles: round(cpu1.roles - cpu0.roles) },
    };
  } finally {
    await h.close();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
