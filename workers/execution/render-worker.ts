/**
 * The worker thread of the render pool (render-pool.ts): renders one Handler's templates per
 * message, off the worker's event loop, and answers with the rendered Handler or the error.
 */
import { parentPort } from 'node:worker_threads';
import type { Handler } from '../../shared/resources.js';
import type { Summary } from '../../shared/summary.js';
import { renderHandler } from './render-handler.js';

/** A request from the pool. */
export interface RenderRequest {
  id: number;
  handler: Handler;
  summary: Summary;
  maxOutputBytes: number;
}

/** The answer: the rendered Handler, or the error as plain fields (classes do not cross threads). */
export type RenderReply = { id: number; ok: true; handler: Handler } | { id: number; ok: false; error: { name: string; code?: string; message: string } };

function outputBytes(h: Handler): number {
  return Buffer.byteLength(JSON.stringify([h.exec?.command, h.httpGet, h.httpPost]));
}

/** Sent once the modules are loaded: the pool starts a hook's budget only then (a boot is not the hook's time). */
export const READY = 'ready';

parentPort?.postMessage(READY);
parentPort?.on('message', (req: RenderRequest) => {
  let reply: RenderReply;
  try {
    const handler = renderHandler(req.handler, req.summary);
    const bytes = outputBytes(handler);
    if (bytes > req.maxOutputBytes) {
      reply = {
        id: req.id,
        ok: false,
        error: {
          name: 'TemplateError',
          code: 'ERR_TEMPLATE',
          message: `rendered templates of this hook are ${bytes} bytes, over the limit of ${req.maxOutputBytes} bytes per hook`,
        },
      };
    } else reply = { id: req.id, ok: true, handler };
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { id: req.id, ok: false, error: { name: e.name, code: e.code, message: e.message } };
  }
  parentPort!.postMessage(reply);
});
