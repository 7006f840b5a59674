/** Scenario 3: a BackupBatch with global and local pre/post hooks, from creation to final phase. */
import { baselineFlow } from '../lib/baselines.js';
import { createApp, createBackupBatch, createSession, httpGet, must } from '../lib/fixtures.js';
import { startHarness, type HarnessOptions } from '../lib/harness.js';
import { STASH_API } from '../lib/kube-http.js';
import { redisTarget } from '../lib/processes.js';
import { ratio, sleep } from '../lib/stats.js';

export interface BatchRow {
  members: number;
  seconds: number;
  phase: string;
  hooksAtSink: number;
  msPerMember: number;
  baselineSeconds: number;
  ratio: number;
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
      const deadline = Date.now() + (hopts.timeoutMs ?? 120_000);
      let phase = '';
      let at = 0;
      while (Date.now() < deadline) {
        const r = await must(h.k.send<{ status?: { phase?: string } }>('GET', `${STASH_API}/namespaces/${ns}/backupsessions/batch-1`));
        phase = r.body.status?.phase ?? '';
        if (phase === 'Succeeded' || phase === 'Failed') {
          at = performance.now();
          break;
        }
        await sleep(Math.min(100, 5 + members / 20));
      }
      if (ns.endsWith('-warm')) continue;
      const seconds = at ? (at - t0) / 1000 : Number.NaN;
      const baselineSeconds = await baselineFlow(redisTarget().target, `${h.prefix}-base`, 2 * members + 2, hopts.concurrency ?? 10);
      rows.push({
        members,
        seconds: Math.round(seconds * 1000) / 1000,
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
