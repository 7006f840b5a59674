/**
 * Promoting a delayed job so it runs now: how a completed target wakes its post hook, which
 * otherwise sleeps until the session deadline (DESIGN §6).
 */
import { Job, type Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';

/**
 * Promotes job `id` of `queue` if it is delayed. Returns 'promoted', 'not-delayed' (it already
 * runs or ran) or 'missing' (not created yet, or removed after completion).
 */
export async function promoteJob(queue: Queue, id: string, log?: Logger): Promise<'promoted' | 'not-delayed' | 'missing'> {
  const job = await Job.fromId(queue, id);
  if (!job) return 'missing';
  try {
    await job.promote();
    log?.debug({ jobId: id }, 'promoted');
    return 'promoted';
  } catch {
    // promote() refuses jobs that are not delayed: someone else got there first, which is fine.
    return 'not-delayed';
  }
}
