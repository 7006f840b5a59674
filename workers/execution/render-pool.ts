/**
 * Template rendering off the event loop (DESIGN §11 "No tenant can stall or starve others"): a
 * hook's templates are the one piece of tenant-supplied computation a worker runs, and Liquid
 * loops can burn seconds per field. Rendered on the worker's own thread they blocked `/healthz`
 * and BullMQ's lock renewal for as long as they ran. Here every hook's fields are rendered
 * together in a worker thread under one wall-clock budget; a thread over budget is terminated
 * (the only way to stop a synchronous render) and replaced, and the hook fails naming the limit.
 * Cheap caps (field count, template size) are checked before a thread is involved; the rendered
 * size and the thread's heap are capped inside it.
 *
 * The thread script sits next to this module with this module's extension, so the pool works
 * from TypeScript sources under tsx (tests) and from compiled JavaScript in dist/ (production);
 * the parent's `execArgv` (tsx's `--import`) is passed through.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TemplateError } from '../../shared/errors.js';
import type { Handler } from '../../shared/resources.js';
import type { Summary } from '../../shared/summary.js';
import { templatedFields } from './render-handler.js';
import { READY, type RenderReply, type RenderRequest } from './render-worker.js';

export interface RenderLimits {
  /** Wall-clock budget for all of one hook's fields together, once a thread has it. Default 2000. */
  budgetMs: number;
  /** Templated fields per hook (exec.command elements, path, header values, body, form values). Default 64. */
  maxFields: number;
  /** Bytes of template source per hook, all fields together. Default 64 KiB. */
  maxTemplateBytes: number;
  /** Bytes of rendered output per hook, all fields together. Default 1 MiB. */
  maxOutputBytes: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = { budgetMs: 2000, maxFields: 64, maxTemplateBytes: 64 * 1024, maxOutputBytes: 1024 * 1024 };

export interface RenderPoolOptions {
  /** Threads at most; default the number of CPUs, at least 2. Threads start on demand. */
  size?: number;
  limits?: Partial<RenderLimits>;
  /** Heap of each thread (MiB). Default 64: a template that allocates more fails instead of the worker. */
  maxHeapMb?: number;
}

interface Task {
  request: Omit<RenderRequest, 'id'>;
  resolve: (h: Handler) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  /** The script has loaded; until then a posted task waits in the port and its budget has not started. */
  ready: boolean;
  /** Settles when the thread has loaded its script, or failed to. */
  booted: Promise<void>;
  task?: Task & { id: number; timer?: NodeJS.Timeout };
}

/** A thread that has not loaded its script by then is broken (not the hook's fault). */
const BOOT_TIMEOUT_MS = 30_000;

/**
 * A thread running `./render-worker.js` (dist/) or, from sources, `./render-worker.ts` through
 * tsx: a worker thread does not inherit tsx's `--import` loader for its entry module in Node 20,
 * so from sources the thread registers tsx itself before importing the script.
 */
function startThread(options: ConstructorParameters<typeof Worker>[1]): Worker {
  const ext = extname(fileURLToPath(import.meta.url)) || '.js';
  const script = new URL(`./render-worker${ext}`, import.meta.url);
  if (ext !== '.ts') return new Worker(script, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** A small pool of render threads shared by every hook of a worker process. */
export class RenderPool {
  readonly limits: RenderLimits;
  private readonly size: number;
  private readonly maxHeapMb: number;
  private readonly threads: Thread[] = [];
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;
  private warmed = false;

  constructor(options: RenderPoolOptions = {}) {
    this.limits = { ...DEFAULT_RENDER_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`render limit ${k} must be an integer ≥ 1, got ${v}`);
    }
    this.size = options.size ?? Math.max(2, availableParallelism());
    this.maxHeapMb = options.maxHeapMb ?? 64;
  }

  /** Renders every templated field of `handler`; throws {@link TemplateError} (a hook's own failure). */
  render(handler: Handler, summary: Summary): Promise<Handler> {
    const fields = templatedFields(handler);
    const { maxFields, maxTemplateBytes, maxOutputBytes } = this.limits;
    if (fields.length > maxFields) {
      return Promise.reject(new TemplateError(`this hook has ${fields.length} templated fields, over the limit of ${maxFields} per hook`));
    }
    const bytes = fields.reduce((n, f) => n + Buffer.byteLength(f.source), 0);
    if (bytes > maxTemplateBytes) {
      return Promise.reject(new TemplateError(`the templates of this hook are ${bytes} bytes, over the limit of ${maxTemplateBytes} bytes per hook`));
    }
    if (this.closed) return Promise.reject(new Error('render pool closed'));
    return new Promise<Handler>((resolve, reject) => {
      this.waiting.push({ request: { handler, summary, maxOutputBytes }, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Starts every thread now, so that no hook waits for a thread to load its modules (seconds
   * under tsx, and counted against a session's deadline). Threads stopped for overrunning their
   * budget are replaced at once too.
   */
  warm(): Promise<void> {
    this.warmed = true;
    while (!this.closed && this.threads.length < this.size) this.spawn();
    return Promise.all(this.threads.map((t) => t.booted)).then(() => undefined);
  }

  /** Terminates every thread; renders in flight or waiting fail. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.reject(new Error('render pool closed'));
    await Promise.all(this.threads.splice(0).map((t) => this.retire(t, new Error('render pool closed'))));
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let thread = this.threads.find((t) => !t.task);
      if (!thread) {
        if (this.threads.length >= this.size) return;
        thread = this.spawn();
      }
      const task = this.waiting.shift()!;
      thread.task = { ...task, id: this.nextId++ };
      thread.worker.ref();
      thread.worker.postMessage({ id: thread.task.id, ...task.request } satisfies RenderRequest);
      if (thread.ready) this.startBudget(thread);
    }
  }

  private startBudget(thread: Thread): void {
    const task = thread.task;
    if (!task || task.timer) return;
    task.timer = setTimeout(() => {
      this.remove(thread);
      void this.retire(
        thread,
        new TemplateError(
          `rendering the templates of this hook took more than the budget of ${this.limits.budgetMs} ms (all fields together); simplify its loops`,
        ),
      );
      if (this.warmed) this.warm();
      this.dispatch();
    }, this.limits.budgetMs);
  }

  private spawn(): Thread {
    const worker = startThread({
      execArgv: process.execArgv,
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: Math.max(4, Math.floor(this.maxHeapMb / 8)) },
    });
    let booted = () => {};
    const thread: Thread = { worker, ready: false, booted: new Promise<void>((r) => (booted = r)) };
    const boot = setTimeout(() => {
      this.remove(thread);
      void this.retire(thread, new Error(`a render thread did not start within ${BOOT_TIMEOUT_MS} ms`));
      this.dispatch();
    }, BOOT_TIMEOUT_MS);
    boot.unref();
    worker.on('message', (reply: RenderReply | typeof READY) => {
      if (reply === READY) {
        clearTimeout(boot);
        booted();
        thread.ready = true;
        this.startBudget(thread);
        return;
      }
      const task = thread.task;
      if (!task || task.id !== reply.id) return;
      clearTimeout(task.timer);
      thread.task = undefined;
      worker.unref(); // an idle thread must not keep the process alive
      if (reply.ok) task.resolve(reply.handler);
      else
        task.reject(
          reply.error.code === 'ERR_TEMPLATE'
            ? new TemplateError(reply.error.message)
            : Object.assign(new Error(reply.error.message), { name: reply.error.name }),
        );
      this.dispatch();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      clearTimeout(boot);
      booted();
      this.remove(thread);
      const task = thread.task;
      if (task) {
        clearTimeout(task.timer);
        thread.task = undefined;
        // ERR_WORKER_OUT_OF_MEMORY: the hook's templates, not the worker, ran out.
        task.reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new TemplateError(`rendering the templates of this hook used more than ${this.maxHeapMb} MiB of memory`)
            : err,
        );
      }
      this.dispatch();
    });
    worker.on('exit', () => {
      clearTimeout(boot);
      booted();
      this.remove(thread);
    });
    this.threads.push(thread);
    return thread;
  }

  private remove(thread: Thread): void {
    const i = this.threads.indexOf(thread);
    if (i >= 0) this.threads.splice(i, 1);
  }

  private async retire(thread: Thread, reason: Error): Promise<void> {
    const task = thread.task;
    thread.task = undefined;
    if (task) {
      clearTimeout(task.timer);
      task.reject(reason);
    }
    await thread.worker.terminate().catch(() => undefined);
  }
}
