/**
 * How the dashboard shows a job: a name a person can read and nothing secret.
 *
 * bull-board's own formatters cover `name`, `data` and `returnValue`; a failed job's
 * `failedReason`, its stack trace and its logs bypass them, so the adapter subclass below also
 * redacts whole job objects and log lines on their way to the browser.
 */
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Job, Queue } from 'bullmq';
import { hookJobName, type HookJobData, type LifecycleEvent } from '../shared/queues.js';
import { redact, redactText } from './redact.js';

type JobLike = { name?: string; data?: unknown };

/**
 * The name shown for a job: the producer's name when it is already readable
 * (`preBackup demo/app-backup-1700000000 Deployment/app`), else one built from its data.
 */
export function readableJobName(job: JobLike): string {
  const name = job.name ?? '';
  if (/\s/.test(name)) return name;
  const data = job.data;
  if (isHookJobData(data)) return hookJobName(data);
  if (isLifecycleEvent(data)) {
    const ref = `${data.session.namespace}/${data.session.name}`;
    return data.type === 'TargetCompleted' ? `${data.type} ${ref} target ${data.targetIndex}` : `${data.type} ${ref}`;
  }
  return name;
}

function isSessionRef(v: unknown): v is HookJobData['session'] {
  const s = v as HookJobData['session'] | undefined;
  return !!s && typeof s === 'object' && typeof s.namespace === 'string' && typeof s.name === 'string';
}

function isHookJobData(v: unknown): v is HookJobData {
  const d = v as HookJobData | undefined;
  return !!d && typeof d === 'object' && typeof d.hook === 'string' && (d.scope === 'global' || d.scope === 'local') && isSessionRef(d.session);
}

function isLifecycleEvent(v: unknown): v is LifecycleEvent {
  const d = v as LifecycleEvent | undefined;
  return !!d && typeof d === 'object' && typeof d.type === 'string' && isSessionRef(d.session);
}

type AdapterJob = Job;

// A view of the job whose JSON is redacted; methods (retry, remove, promote …) still reach the
// real job through the prototype chain, so actions, when allowed, act on the real thing.
function redactedJob(job: AdapterJob): AdapterJob {
  const view = Object.create(job) as AdapterJob;
  Object.defineProperty(view, 'toJSON', {
    value: () => {
      const json = job.toJSON() as unknown as Record<string, unknown>;
      return {
        ...json,
        data: redact(json.data),
        returnvalue: redact(json.returnvalue),
        failedReason: typeof json.failedReason === 'string' ? redactText(json.failedReason) : json.failedReason,
        stacktrace: Array.isArray(json.stacktrace) ? json.stacktrace.map((l) => (typeof l === 'string' ? redactText(l) : l)) : json.stacktrace,
      };
    },
  });
  return view;
}

/** Options of {@link SafeBullMQAdapter}. */
export interface SafeAdapterOptions {
  /** Retry, clean, remove, pause … only when true; the board is read-only otherwise. */
  allowActions: boolean;
  /** Shown under the queue name. */
  description?: string;
}

/**
 * bull-board's BullMQ adapter with readable names, redacted data, results, errors and logs, and
 * read-only mode unless actions are allowed.
 */
export class SafeBullMQAdapter extends BullMQAdapter {
  constructor(queue: Queue, options: SafeAdapterOptions) {
    super(queue, {
      readOnlyMode: !options.allowActions,
      allowRetries: options.allowActions,
      description: options.description ?? '',
    });
    this.setFormatter('name', (job: JobLike) => readableJobName(job));
    this.setFormatter('data', (data: unknown) => redact(data));
    this.setFormatter('returnValue', (value: unknown) => redact(value));
  }

  override async getJob(id: string): Promise<AdapterJob | undefined> {
    const job = await super.getJob(id);
    return job ? redactedJob(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<AdapterJob[]> {
    return (await super.getJobs(...args)).map(redactedJob);
  }

  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(redactText);
  }
}
