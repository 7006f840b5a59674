/** Scenario 3: a BackupBatch with global and local pre/post hooks, from creation to final phase. */
import { baselineFlow } from '../lib/baselines.js';
import { createApp, createBackupBatch, createSession, httpGet, must } from '../lib/fixtures.js';
import { startHarness, type HarnessOptions } from '../lib/harness.js';
import { STASH_API } from '../lib/kube-http.js';
import { redisTarget } from '../lib/processes.js';
import { ratio, sleep } from '../lib/stats.js';
import { Queue } from 'bullmq';
import { connectRedis } from '../../shared/redis.js';
import { ALL_QUEUES } from '../../shared/queues.js';

export interface BatchRow {
  members: number;
  seconds: number;
  /** Creation → every member's gate open (global pre + every local pre done): stash-hooks' own part. */
  gatesOpenSeconds: number;
  phase: string;
  hooksAtSink: number;
  msPerMember: number;
  baselineSeconds: number;
  ratio: number;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** What a batch that did not finish is waiting for: target phases, conditions, queue counts. */
async function diagnose(h: Awaited<ReturnType<typeof startHarness>>, ns: string): Promise<string> {
  const r = await h.k.send<{
    status?: {
      phase?: string;
      conditions?: Array<{ type: string; status: string }>;
      targets?: Array<{ phase?: string; conditions?: Array<{ type: string; status: string }> }>;
    };
  }>('GET', `${STASH_API}/namespaces/${ns}/backupsessions/batch-1`);
  const st = r.body.status ?? {};
  const count = (xs: string[]) =>
    Object.entries(xs.reduce<Record<string, number>>((a, x) => ({ ...a, [x]: (a[x] ?? 0) + 1 }), {}))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  const conn = await connectRedis(redisTarget().target, { purpose: 'producer' });
  const counts: string[] = [];
  for (const name of ALL_QUEUES) {
    const q = new Queue(name, { connection: conn, prefix: h.prefix });
    counts.push(`${name}: ${JSON.stringify(await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'waiting-children'))}`);
    await q.close();
  }
  conn.disconnect();
  return [
    `session phase=${st.phase} conditions: ${(st.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(' ')}`,
    `target phases: ${count((st.targets ?? []).map((t) => t.phase ?? '?'))}`,
    `target conditions: ${count((st.targets ?? []).flatMap((t) => (t.conditions ?? []).map((c) => `${c.type}=${c.status}`)))}`,
    ...counts,
  ].join('\n  ');
}

export async function batchScale(sizes: number[], hopts: HarnessOptions & { timeoutMs?: number }): Promise<BatchRow[]> {
  const h = await startHarness(hopts);
  const rows: BatchRow[] = [];
  try {
    // Warm-up: a small batch, outside the measurement.
    for (const members of [3, ...sizes]) {
      const ns = `batch-${members}${rows.length === 0 && members === 3 ? '-warm' : ''}`;
      await createApp(h.k, ns);
      const hook = (where: string) => httpGet(h.sink.port, `/${ns}/${where}/{{ .Name }}`);
      await createBackupBatch(h.k, ns, 'batch', members, {
        global: { preBackup: hook('gpre'), postBackup: hook('gpost') },
        local: (i) => ({ preBackup: hook(`pre${i}`), postBackup: hook(`post${i}`) }),
      });
      const before = h.sink.count;
      const t0 = performance.now();
      await createSession(h.k, ns, 'batch-1', { kind: 'BackupBatch', name: 'batch' });
      const deadline = Date.now() + (hopts.timeoutMs ?? 60_000);
      let phase = '';
      let at = 0;
      let gatesAt = 0;
      while (Date.now() < deadline) {
        const r = await must(
          h.k.send<{ status?: { phase?: string; targets?: Array<{ conditions?: Array<{ type: string; status: string }> }> } }>(
            'GET',
            `${STASH_API}/namespaces/${ns}/backupsessions/batch-1`,
          ),
        );
        phase = r.body.status?.phase ?? '';
        const open = (r.body.status?.targets ?? []).filter((t) => t.conditions?.some((c) => c.type === 'ReadyForBackup' && c.status === 'True')).length;
        if (!gatesAt && open === members) gatesAt = performance.now();
        if (phase === 'Succeeded' || phase === 'Failed') {
          at = performance.now();
          break;
        }
        await sleep(Math.min(100, 5 + members / 20));
      }
      if (ns.endsWith('-warm')) continue;
      if (!at) log(`[bench] batch of ${members} not final after the timeout: ${await diagnose(h, ns)}`);
      const seconds = at ? (at - t0) / 1000 : Number.NaN;
      const baselineSeconds = await baselineFlow(redisTarget().target, `${h.prefix}-base`, 2 * members + 2, hopts.concurrency ?? 10);
      rows.push({
        members,
        seconds: Math.round(seconds * 1000) / 1000,
        gatesOpenSeconds: gatesAt ? Math.round(gatesAt - t0) / 1000 : Number.NaN,
        phase: phase || 'timeout',
        hooksAtSink: h.sink.count - before,
        msPerMember: Math.round((seconds * 1000 * 10) / members) / 10,
        baselineSeconds,
        ratio: ratio(seconds, baselineSeconds),
      });
    }
    return rows;
  } finally {
    await h.close();
  }
}
