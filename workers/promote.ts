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

/**
 * What became of job `id`, in words for a condition message: why a hook has no condition yet
 * (still retrying, failed for good, lost with Redis). Includes the last attempt's error.
 */
export async function describeJob(queue: Queue, id: string): Promise<string> {
  const job = await Job.fromId(queue, id);
  if (!job) return 'its job no longer exists (Redis lost it)';
  const state = await job.getState();
  const last = job.failedReason ? `; the last attempt failed: ${job.failedReason}` : '';
  const attempts = `${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}`;
  switch (state) {
    case 'failed':
      return `its job failed for good after ${attempts}${last}`;
    case 'completed':
      return `its job ended without recording a condition (${(job.returnvalue as { message?: string } | null)?.message ?? 'no result'})${last}`;
    case 'active':
      return `its job was still running after ${attempts}${last}`;
    default:
      return `its job was still waiting to run (${state}) after ${attempts}${last}`;
  }
}
