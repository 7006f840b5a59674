/**
 * BullMQ Queues by name on one shared connection, made on first use and closed together: the
 * coordinator and the hook workers add and promote jobs on other queues than the ones they consume.
 */
import { Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../shared/redis.js';

export class QueueCache {
  private readonly queues = new Map<string, Queue>();

  /** `prefix`: the BullMQ prefix as `bullPrefix` gives it. */
  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  get(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', (err) => this.logger.warn({ queue: name, err: err.message }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
