/**
 * The queue dashboard: bull-board over every queue of one prefix (DESIGN §9), served by
 * `stash-hooks dashboard` and inside `all`/`demo`.
 *
 * Safe by default: open only on loopback, credentials required anywhere else, read-only unless
 * `allowActions`, readable job names, and every job redacted before it leaves the process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { KubeConfig } from '@kubernetes/client-node';
import { ALL_QUEUES, HOOK_QUEUES } from '../shared/queues.js';
import type { Logger } from '../shared/logger.js';
import { authMiddleware, LoginThrottle, validateDashboardAuth, type DashboardAuth, type LoginThrottleOptions } from './auth.js';
import { CSRF_SCRIPT, CSRF_SCRIPT_PATH, requestGuard } from './request-guard.js';
import { SafeBullMQAdapter } from './job-view.js';
import { discoverQueueNames } from './queue-discovery.js';
import { sessionsRouter } from './sessions.js';

export type { DashboardAuth, LoginThrottleOptions } from './auth.js';
export { CSRF_HEADER } from './request-guard.js';

export interface DashboardOptions {
  /**
   * Redis: a URL (`redis://`, `rediss://`) or ioredis options, from which the dashboard makes
   * (and on close ends) its own connection; or a connected ioredis `Redis`/`Cluster` client
   * (e.g. from shared/redis.ts `createRedisClient`, for Sentinel and Cluster), which the caller
   * keeps and closes.
   */
  connection: string | RedisOptions | Redis | Cluster;
  /** BullMQ key prefix; default `stash-hooks`. */
  prefix?: string;
  /** Address to bind; default `127.0.0.1`. Anything but loopback requires `auth`. */
  host?: string;
  /** Port to bind; default 3000; 0 picks a free port. */
  port?: number;
  /** Basic-auth user and password, or a bearer token. */
  auth?: DashboardAuth;
  /** Allow retry, clean, remove, pause …; default false (read-only). */
  allowActions?: boolean;
  /** How often to look for queues that appeared under the prefix; default 30 000 ms, 0 = never. */
  discoverIntervalMs?: number;
  /** Board title; default `stash-hooks`. */
  title?: string;
  /** The cluster whose sessions the Sessions page shows; without one the page says so. */
  kubeConfig?: KubeConfig;
  /** How failed logins are slowed down per client address; defaults in {@link LoginThrottleOptions}. */
  loginThrottle?: LoginThrottleOptions;
  logger?: Logger;
}

export interface Dashboard {
  /** `http://host:port/` as bound. */
  readonly url: string;
  /** Queue names on the board, sorted as shown. */
  queueNames(): string[];
  /** Stops the server, the queues and the Redis connection; idempotent. */
  close(): Promise<void>;
}

const QUEUE_DESCRIPTIONS: Record<string, string> = {
  lifecycle: 'session events from the watcher',
  coordinator: 'flow control: release targets, finalize sessions',
  'pre-backup': 'preBackup hooks',
  'post-backup': 'postBackup hooks',
  'pre-restore': 'preRestore hooks',
  'post-restore': 'postRestore hooks',
};

// bull-board's page pulls its fonts from a public CDN. The board must work in air-gapped
// clusters and leak nothing to third parties, so the browser is told to load only from us
// (system fonts are the fallback). Its scripts are all external files, so no 'unsafe-inline'
// is needed for them.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

function securityHeaders(_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
}

// bull-board renders its page from its own template; the CSRF script (see request-guard.ts) goes
// in first, as a plain script in <head> so it runs before bull-board's deferred ones.
function withCsrfScript(_req: express.Request, res: express.Response, next: () => void): void {
  const render = res.render.bind(res) as (view: string, locals: object, cb: (err: Error | null, html?: string) => void) => void;
  res.render = ((view: string, locals?: object) => {
    render(view, locals ?? {}, (err, html) => {
      if (err || html === undefined) {
        res.status(500).type('text/plain').send('the dashboard page could not be rendered\n');
        return;
      }
      res.send(html.replace('</head>', `<script src="${CSRF_SCRIPT_PATH.slice(1)}"></script></head>`));
    });
  }) as express.Response['render'];
  next();
}

/** Starts the dashboard; resolves once it listens. Throws `ConfigError` on unsafe settings. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const opts = {
    prefix: 'stash-hooks',
    host: '127.0.0.1',
    port: 3000,
    allowActions: false,
    discoverIntervalMs: 30_000,
    title: 'stash-hooks',
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as Required<Omit<DashboardOptions, 'auth' | 'logger' | 'kubeConfig' | 'loginThrottle'>> &
    Pick<DashboardOptions, 'auth' | 'logger' | 'kubeConfig' | 'loginThrottle'>;
  validateDashboardAuth(opts.host, opts.auth);
  const throttle = new LoginThrottle(opts.loginThrottle);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new RangeError(`dashboard: port must be an integer 0-65535, got ${String(options.port)}`);
  }
  if (!opts.prefix) throw new RangeError('dashboard: prefix must not be empty');
  const log = opts.logger?.child({ component: 'dashboard' });

  const given = opts.connection instanceof Redis || opts.connection instanceof Cluster ? opts.connection : undefined;
  const redis: Redis | Cluster = given ?? (typeof opts.connection === 'string' ? new Redis(opts.connection) : new Redis(opts.connection as RedisOptions));
  const onRedisError = (err: Error) => log?.warn({ err: err.message }, 'dashboard redis error');
  redis.on('error', onRedisError);
  const releaseRedis = async (): Promise<void> => {
    redis.off('error', onRedisError);
    if (given) return;
    await redis.quit().then(
      () => undefined,
      () => redis.disconnect(),
    );
  };

  const queues = new Map<string, Queue>();
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('');
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: {
      // Redis INFO (version, OS, memory, clients) tells an attacker about the datastore and
      // nothing an operator of the hooks needs: bull-board then answers 403 on /api/redis/stats.
      uiConfig: { boardTitle: opts.title, hideDocsLink: true, hideRedisDetails: true, miscLinks: [{ text: 'Sessions', url: '/sessions' }] },
    },
  });

  // bull-board is CommonJS and `require`s bullmq's CJS build while these Queues come from its
  // ESM build, so its `instanceof Queue` check fails; it then accepts the queue by
  // `metaValues.version` ("bullmq:6.x") and reaches Redis through `getBackend()` (bullmq 6 has
  // no `Queue#client`), which is why no adapter shim is needed here (tested in
  // test/integration/dashboard.test.ts, job flow view included).
  function addQueue(name: string): void {
    if (queues.has(name)) return;
    const queue = new Queue(name, { connection: redis, prefix: opts.prefix });
    queue.on('error', (err) => log?.warn({ queue: name, err: err.message }, 'dashboard queue error'));
    queues.set(name, queue);
    board.addQueue(new SafeBullMQAdapter(queue, { allowActions: opts.allowActions, description: QUEUE_DESCRIPTIONS[name] }));
  }

  let discoverTimer: NodeJS.Timeout | undefined;
  let server: Server | undefined;
  try {
    for (const name of [...HOOK_QUEUES, ...ALL_QUEUES]) addQueue(name);
    // Redis may not be up yet (or a fail-fast client not connected): the known queues are on
    // the board anyway and the periodic discovery finds the rest later.
    const found = await discoverQueueNames(redis, opts.prefix).catch((err: Error) => {
      log?.warn({ err: err.message }, 'dashboard queue discovery failed; showing the known queues');
      return [];
    });
    for (const name of found) addQueue(name);

    const app = express();
    app.disable('x-powered-by');
    app.use(securityHeaders);
    app.use(requestGuard({ host: opts.host, authRequired: opts.auth !== undefined }));
    app.get(CSRF_SCRIPT_PATH, (_req, res) => {
      res.type('application/javascript').set('Cache-Control', 'no-cache').send(CSRF_SCRIPT);
    });
    app.use(authMiddleware(opts.auth, throttle));
    app.use(withCsrfScript);
    app.use('/sessions', sessionsRouter({ kubeConfig: opts.kubeConfig, redis, prefix: opts.prefix, logger: opts.logger }));
    // bull-board's router is an express app of its own, which would announce itself again.
    const boardApp = serverAdapter.getRouter() as express.Express;
    boardApp.disable('x-powered-by');
    app.use('/', boardApp);
    server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.port, opts.host, () => {
        server!.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await Promise.allSettled([...queues.values()].map((q) => q.close()));
    await releaseRedis();
    throw err;
  }

  if (opts.discoverIntervalMs > 0) {
    discoverTimer = setInterval(() => {
      discoverQueueNames(redis, opts.prefix).then(
        (names) => names.forEach(addQueue),
        (err: Error) => log?.warn({ err: err.message }, 'dashboard queue discovery failed'),
      );
    }, opts.discoverIntervalMs);
    discoverTimer.unref();
  }

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}/`;
  log?.info({ url, readOnly: !opts.allowActions, auth: opts.auth ? ('token' in opts.auth ? 'bearer' : 'basic') : 'none' }, 'dashboard listening');

  let closing: Promise<void> | undefined;
  const listening = server;
  return {
    url,
    queueNames: () => [...queues.keys()],
    close() {
      closing ??= (async () => {
        clearInterval(discoverTimer);
        // Every step runs even if an earlier one fails, so nothing is left holding the process.
        await Promise.allSettled([
          new Promise<void>((resolve) => {
            listening.close(() => resolve());
            listening.closeAllConnections();
          }),
          ...[...queues.values()].map((q) => q.close()),
        ]);
        await releaseRedis();
      })();
      return closing;
    },
  };
}
