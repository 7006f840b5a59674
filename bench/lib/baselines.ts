/**
 * The queue's own floor, measured in the same run on the same Redis: plain BullMQ with no-op
 * processors, no Kubernetes and no hook. Every scenario divides its figure by one of these.
 */
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { connectRedis, type RedisTarget } from '../../shared/redis.js';
import { latencySummary, sleep, until } from './stats.js';

interface Bull {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

async function bull(target: RedisTarget, prefix: string, name: string, concurrency: number, processor: (job: Job) => Promise<unknown>): Promise<Bull> {
  const producer = await connectRedis(target, { purpose: 'producer' });
  const consumer = await connectRedis(target, { purpose: 'worker' });
  const queue = new Queue(name, { connection: producer, prefix });
  const worker = new Worker(name, processor, { connection: consumer, prefix, concurrency });
  await worker.waitUntilReady();
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
    },
  };
}

/** Plain `Queue.add` → processor start latency, jobs added at `rate`/s for `seconds`. */
export async function baselineAddLatency(target: RedisTarget, prefix: string, rate: number, seconds: number): Promise<ReturnType<typeof latencySummary>> {
  const latencies: number[] = [];
  const b = await bull(target, prefix, 'baseline-latency', 10, async (job) => {
    latencies.push(performance.now() - (job.data as { t: number }).t);
  });
  try {
    const total = Math.round(rate * seconds);
    const t0 = performance.now();
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      adds.push(b.queue.add('noop', { t: performance.now() }, { removeOnComplete: true }));
    }
    await Promise.all(adds);
    await until('baseline latency jobs', () => latencies.length >= total, 30_000);
    return latencySummary(latencies);
  } finally {
    await b.close();
  }
}

/** Plain no-op jobs/s: `count` jobs added with addBulk, processed with `concurrency`. */
export async function baselineThroughput(
  target: RedisTarget,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<{ jobsPerSecond: number; seconds: number }> {
  let done = 0;
  const b = await bull(target, prefix, 'baseline-throughput', concurrency, async () => {
    done++;
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i += 1000) {
      await b.queue.addBulk(
        Array.from({ length: Math.min(1000, count - i) }, (_v, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })),
      );
    }
    await until('baseline throughput jobs', () => done >= count, 120_000, 2);
    const seconds = (performance.now() - t0) / 1000;
    return { jobsPerSecond: Math.round(count / seconds), seconds: Math.round(seconds * 1000) / 1000 };
  } finally {
    await b.close();
  }
}

/**
 * A no-op flow of the batch's shape: a parent (finalize) waiting on `children` no-op jobs;
 * seconds until the parent completes.
 */
export async function baselineFlow(target: RedisTarget, prefix: string, children: number, concurrency: number): Promise<number> {
  const b = await bull(target, prefix, 'baseline-flow', concurrency, async () => 'ok');
  const conn = await connectRedis(target, { purpose: 'producer' });
  const flows = new FlowProducer({ connection: conn, prefix });
  try {
    const t0 = performance.now();
    const tree = await flows.add({
      name: 'finalize',
      queueName: 'baseline-flow',
      children: Array.from({ length: children }, (_v, i) => ({ name: 'hook', queueName: 'baseline-flow', data: { i } })),
    });
    await until('baseline flow parent', async () => (await tree.job.getState()) === 'completed', 120_000, 5);
    return Math.round(performance.now() - t0) / 1000;
  } finally {
    await flows.close();
    conn.disconnect();
    await b.close();
  }
}
