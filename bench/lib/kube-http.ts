/**
 * A lean HTTP client for the load generator: raw keep-alive requests and watch streams against
 * devcluster, so that the benchmark's own client costs as little CPU as possible (client-node
 * would be the bottleneck of the generator long before the pipeline's).
 */
import { Agent, request } from 'node:http';

export const STASH_API = '/apis/stash.appscode.com/v1beta1';

export interface KubeHttp {
  send<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
  /** Opens a watch; `onEvent` gets every event object; returns a stop function. */
  watch(path: string, onEvent: (type: string, obj: Record<string, any>) => void): Promise<() => void>;
  close(): void;
}

export function kubeHttp(url: string, maxSockets = 32): KubeHttp {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    send(method, path, body, contentType = 'application/json') {
      return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string | number> = { accept: 'application/json' };
        if (data !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': Buffer.byteLength(data) });
        const req = request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              /* not JSON: keep the text */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as never });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(data);
      });
    },
    watch(path, onEvent) {
      return new Promise((resolve, reject) => {
        const sep = path.includes('?') ? '&' : '?';
        const req = request({ host: base.hostname, port: base.port, path: `${path}${sep}watch=true`, headers: { accept: 'application/json' } }, (res) => {
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const ev = JSON.parse(line) as { type: string; object: Record<string, any> };
              onEvent(ev.type, ev.object);
            }
          });
          res.on('error', () => {});
          resolve(() => req.destroy());
        });
        req.on('error', reject);
        req.end();
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** Runs `count` tasks with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await task(i);
      }
    }),
  );
}
