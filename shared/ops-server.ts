/**
 * The health and metrics server every role runs (DESIGN §7): `/healthz`, `/readyz`, `/metrics`.
 *
 * Kept apart from the dashboard's port so that probes and scrapes never need dashboard
 * credentials, and on plain `node:http` so that a role without the dashboard loads no web
 * framework.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What `/readyz` reports: overall readiness and one line per check (`ok` or the problem). */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface OpsServerOptions {
  /** Address to bind; default `127.0.0.1` (manifests set `0.0.0.0`). */
  host?: string;
  /** Port to bind; default 9090; 0 picks a free port (tests). */
  port?: number;
  /** The registry served on `/metrics`. */
  registry: Registry;
  /** Asked on every `/readyz`; default: always ready with no checks. */
  readiness?: () => Promise<Readiness>;
  /** How long `/readyz` waits for `readiness` before answering 503; default 5000. */
  readinessTimeoutMs?: number;
}

export interface OpsServer {
  /** `http://host:port` as bound (the real port when 0 was asked for). */
  readonly url: string;
  /** Stops accepting and drops open connections; idempotent. */
  close(): Promise<void>;
}

const DEFAULTS = { host: '127.0.0.1', port: 9090, readinessTimeoutMs: 5000 };

/** Starts the ops server; resolves once it listens, rejects if the port cannot be bound. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const opts = { ...DEFAULTS, ...stripUndefined(options) };
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new RangeError(`ops server: port must be an integer 0-65535, got ${String(options.port)}`);
  }
  if (!Number.isInteger(opts.readinessTimeoutMs) || opts.readinessTimeoutMs <= 0) {
    throw new RangeError(`ops server: readinessTimeoutMs must be a positive integer, got ${String(options.readinessTimeoutMs)}`);
  }
  const readiness = opts.readiness ?? (async () => ({ ready: true, checks: {} }));
  const { registry } = options;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${errorText(err)}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    switch (path) {
      case '/healthz':
        // Liveness only: answering at all proves the event loop runs. Dependencies belong in
        // /readyz, or a Redis outage would have Kubernetes restart every pod at once.
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      case '/readyz': {
        const result = await checkReadiness(readiness, opts.readinessTimeoutMs);
        return send(res, result.ready ? 200 : 503, 'application/json', JSON.stringify(result) + '\n');
      }
      case '/metrics': {
        const body = await registry.metrics();
        return send(res, 200, registry.contentType, body);
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Builds a `readiness` function from named checks: each resolves when healthy and rejects with
 * the problem otherwise. Ready when every check resolves.
 */
export function readinessFromChecks(checks: Record<string, () => Promise<unknown>>): () => Promise<Readiness> {
  return async () => {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, errorText(err)] as const;
        }
      }),
    );
    return { ready: entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
  };
}

async function checkReadiness(readiness: () => Promise<Readiness>, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, checks: { readiness: `no answer within ${timeoutMs} ms` } }), timeoutMs);
  });
  try {
    return await Promise.race([readiness().catch((err: unknown) => ({ ready: false, checks: { readiness: errorText(err) } })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
