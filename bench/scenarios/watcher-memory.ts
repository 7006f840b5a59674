/**
 * Scenario 4: RSS of a `stash-hooks watcher` process once it has listed the cluster's sessions.
 * Sessions carry a realistic status (a finished target with its conditions and stats); one in
 * ten is still Running so that the watcher has lifecycle events to publish — the moment it has
 * published all of them tells that it has listed and processed everything.
 */
import { Queue } from 'bullmq';
import { connectRedis } from '../../shared/redis.js';
import { QueueName } from '../../shared/queues.js';
import { createSession, must } from '../lib/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../lib/harness.js';
import { pool, STASH_API } from '../lib/kube-http.js';
import { redisTarget, rssMb } from '../lib/processes.js';
import { sleep, until } from '../lib/stats.js';

export interface MemoryRow {
  sessions: number;
  rssMb: number;
  peakRssMb: number;
  baselineRssMb: number;
  kbPerSession: number;
  listSeconds: number;
}

function status(i: number): Record<string, unknown> {
  const t = '2026-11-26T08:00:00Z';
  const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', reason, message, lastTransitionTime: t, observedGeneration: 1 });
  const running = i % 10 === 0;
  return {
    phase: running ? 'Running' : 'Succeeded',
    sessionDeadline: '2026-11-27T08:00:00Z',
    ...(running ? {} : { sessionDuration: '42s' }),
    targets: [
      {
        ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
        phase: running ? 'Pending' : 'Succeeded',
        totalHosts: 1,
        conditions: [
          cond('PreBackupHookExecutionSucceeded', 'SuccessfullyExecutedPreBackupHook', 'Successfully executed preBackup hook.'),
          cond('ReadyForBackup', 'PreHookSucceeded', 'The pre hook succeeded; the backup can start.'),
          ...(running ? [] : [cond('PostBackupHookExecutionSucceeded', 'SuccessfullyExecutedPostBackupHook', 'Successfully executed postBackup hook.')]),
        ],
        stats: running
          ? []
          : [
              {
                hostname: 'host-0',
                phase: 'Succeeded',
                duration: '40s',
                snapshots: [
                  {
                    name: `snap-${i}`,
                    path: '/data',
                    totalSize: '1.2 GiB',
                    uploaded: '12 MiB',
                    fileStats: { totalFiles: 1200, newFiles: 3, modifiedFiles: 10, unmodifiedFiles: 1187 },
                  },
                ],
              },
            ],
      },
    ],
  };
}

async function fill(h: Harness, ns: string, from: number, to: number): Promise<void> {
  await pool(to - from, 32, async (j) => {
    const i = from + j;
    const name = `m-${i}`;
    await createSession(h.k, ns, name, { kind: 'BackupConfiguration', name: 'bc' });
    const cur = await must(h.k.send<Record<string, any>>('GET', `${STASH_API}/namespaces/${ns}/backupsessions/${name}`));
    await must(h.k.send('PUT', `${STASH_API}/namespaces/${ns}/backupsessions/${name}/status`, { ...cur.body, status: status(i) }));
  });
}

async function measure(h: Harness, running: number): Promise<{ rss: number; peak: number; listSeconds: number }> {
  const conn = await connectRedis(redisTarget().target, { purpose: 'producer' });
  const q = new Queue(QueueName.lifecycle, { connection: conn, prefix: h.prefix });
  try {
    await q.obliterate({ force: true }).catch(() => {});
    const t0 = performance.now();
    const [proc] = h.startRoles([{ role: 'watcher' }]);
    await until('the watcher publishing every running session', async () => (await q.count()) >= running, 120_000, 50);
    const listSeconds = (performance.now() - t0) / 1000;
    await sleep(running === 0 ? 4000 : 2000); // let it start and settle (GC, timers)
    const m = rssMb(proc.pid);
    await h.stopRoles();
    return { ...m, listSeconds: Math.round(listSeconds * 100) / 100 };
  } finally {
    await q.close();
    conn.disconnect();
  }
}

export async function watcherMemory(counts: number[], hopts: HarnessOptions): Promise<MemoryRow[]> {
  const h = await startHarness({ ...hopts, executor: false, roles: [] });
  const rows: MemoryRow[] = [];
  try {
    const ns = 'memory';
    await must(h.k.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    // Baseline: the same watcher process against a cluster with no session.
    const base = await measure(h, 0);
    let have = 0;
    for (const n of counts) {
      await fill(h, ns, have, n);
      have = n;
      const m = await measure(h, Math.ceil(n / 10));
      rows.push({
        sessions: n,
        rssMb: m.rss,
        peakRssMb: m.peak,
        baselineRssMb: base.rss,
        kbPerSession: Math.round(((m.rss - base.rss) * 1024 * 10) / n) / 10,
        listSeconds: m.listSeconds,
      });
    }
    return rows;
  } finally {
    await h.close();
  }
}
