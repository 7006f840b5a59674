/**
 * Scenario 5: hook worker scale-out. Hooks take 100 ms (the sink delays its answer); the jobs are
 * put straight on the `pre-backup` queue (as the coordinator would) for sessions that already
 * exist, and `stash-hooks worker --queues pre-backup` processes run them at concurrency 10, 50
 * and 200, one process or two. Ideal = processes × concurrency × (1000 / hook ms) hooks/s.
 */
import { Queue } from 'bullmq';
import { connectRedis } from '../../shared/redis.js';
import { hookJobId, hookJobName, QueueName, type HookJobData } from '../../shared/queues.js';
import { HOOK_JOB_OPTIONS } from '../../workers/flow-plan.js';
import { createBackupBatch, createSession, httpGet, must } from '../lib/fixtures.js';
import { startHarness, type HarnessOptions } from '../lib/harness.js';
import { pool } from '../lib/kube-http.js';
import { redisTarget } from '../lib/processes.js';
import { ratio, sleep, until } from '../lib/stats.js';

export interface ScaleRow {
  processes: number;
  concurrency: number;
  hooks: number;
  seconds: number;
  hooksPerSecond: number;
  idealPerSecond: number;
  ratio: number;
  cpuSeconds: { devcluster: number; workers: number };
}

export async function scaleOut(
  configs: Array<{ processes: number; concurrency: number }>,
  opts: HarnessOptions & { hookMs: number; seconds: number; maxHooks: number },
): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const cfg of configs) {
    const h = await startHarness({ ...opts, executor: false, roles: [], concurrency: cfg.concurrency, slowMs: opts.hookMs });
    const conn = await connectRedis(redisTarget().target, { purpose: 'producer' });
    const queue = new Queue(QueueName.preBackup, { connection: conn, prefix: h.prefix });
    try {
      const ideal = (cfg.processes * cfg.concurrency * 1000) / opts.hookMs;
      const hooks = Math.max(100, Math.min(opts.maxHooks, Math.round(ideal * opts.seconds)));
      const ns = 'scale';
      await must(h.k.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
      await createBackupBatch(h.k, ns, 'batch', 1, { global: { preBackup: httpGet(h.sink.port, '/slow/{{ .Name }}') } });
      const jobs: Array<{ name: string; data: HookJobData; opts: typeof HOOK_JOB_OPTIONS }> = [];
      await pool(hooks, 32, async (i) => {
        const name = `s-${i}`;
        const uid = await createSession(h.k, ns, name, { kind: 'BackupBatch', name: 'batch' });
        const data: HookJobData = { session: { kind: 'BackupSession', namespace: ns, name, uid }, hook: 'preBackup', scope: 'global' };
        jobs.push({ name: hookJobName(data), data, opts: { ...HOOK_JOB_OPTIONS, jobId: hookJobId(data) } });
      });
      h.startRoles(Array.from({ length: cfg.processes }, () => ({ role: 'worker', args: ['--queues', 'pre-backup'] })));
      await until('worker processes connected', async () => (await queue.getWorkersCount()) >= cfg.processes, 30_000, 100);
      await sleep(500);
      const cpu0 = h.cpu();
      const t0 = performance.now();
      for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
      await until('every hook at the sink', () => h.sink.arrivals.size >= hooks, 300_000, 10);
      // A hook is done when its answer is back: the last one arrived, plus its duration.
      const seconds = (Math.max(...h.sink.arrivals.values()) + opts.hookMs - t0) / 1000;
      const cpu1 = h.cpu();
      const hooksPerSecond = Math.round(hooks / seconds);
      rows.push({
        ...cfg,
        hooks,
        seconds: Math.round(seconds * 100) / 100,
        hooksPerSecond,
        idealPerSecond: ideal,
        ratio: ratio(hooksPerSecond, ideal),
        cpuSeconds: { devcluster: Math.round((cpu1.devcluster - cpu0.devcluster) * 100) / 100, workers: Math.round((cpu1.roles - cpu0.roles) * 100) / 100 },
      });
    } finally {
      await queue.close();
      conn.disconnect();
      await h.close();
    }
  }
  return rows;
}
