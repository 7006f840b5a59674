/**
 * Redis connection factories for every topology the product supports (DESIGN §7):
 *
 *   redis://[user[:password]@]host[:port][/db]                      standalone
 *   rediss://…                                                      standalone over TLS
 *   redis-sentinel://[user[:password]@]host:port[,host:port…]/master[/db]   Sentinel (rediss-sentinel: TLS)
 *   redis-cluster://[user[:password]@]host:port[,host:port…]        Cluster (rediss-cluster: TLS)
 *
 * Two flavours, after BullMQ's production guide: producers fail fast (`enableOfflineQueue: false`,
 * so a dead Redis surfaces as an error instead of a growing in-memory queue); workers are patient
 * (`maxRetriesPerRequest: null`, which BullMQ requires for blocking commands).
 */
import { readFileSync } from 'node:fs';
import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis';
import { ConfigError, RedisError } from './errors.js';
import { redactUrl } from './logger.js';

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface RedisTarget {
  mode: RedisMode;
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** Sentinel only: the monitored master's name. */
  masterName?: string;
  /**
   * PEM file with the CA for TLS (`REDIS_CA_FILE`). Carried on the target so that every client the
   * roles create trusts it, not only the start-up probe.
   */
  caFile?: string;
}

const SCHEMES: Record<string, { mode: RedisMode; tls: boolean }> = {
  'redis:': { mode: 'standalone', tls: false },
  'rediss:': { mode: 'standalone', tls: true },
  'redis-sentinel:': { mode: 'sentinel', tls: false },
  'rediss-sentinel:': { mode: 'sentinel', tls: true },
  'redis-cluster:': { mode: 'cluster', tls: false },
  'rediss-cluster:': { mode: 'cluster', tls: true },
};

const DEFAULT_PORT: Record<RedisMode, number> = { standalone: 6379, sentinel: 26379, cluster: 6379 };

/**
 * Parses a Redis URL into a target; throws `ConfigError` naming `setting` and what is wrong.
 * Multi-host URLs are parsed by hand because WHATWG URL accepts a single host only.
 */
export function parseRedisUrl(url: string, setting = 'REDIS_URL'): RedisTarget {
  const bad = (why: string) => new ConfigError([`${setting}: ${why} (got "${redactUrl(url)}")`]);
  const m = /^([a-z-]+:)\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?$/i.exec(url.trim());
  if (!m) throw bad('must look like redis://host:6379, rediss://…, redis-sentinel://host:26379/mymaster or redis-cluster://host:6379,host:6380');
  const [, rawScheme, auth, hostList, rawPath = ''] = m;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (!scheme)
    throw bad(
      `scheme "${rawScheme.slice(0, -1)}" is not one of ${Object.keys(SCHEMES)
        .map((s) => s.slice(0, -1))
        .join(', ')}`,
    );

  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const i = auth.indexOf(':');
    username = decodeURIComponent(i < 0 ? auth : auth.slice(0, i)) || undefined;
    password = i < 0 ? undefined : decodeURIComponent(auth.slice(i + 1)) || undefined;
    // `redis://secret@host` is the common password-only form (as ioredis reads it).
    if (i < 0) [username, password] = [undefined, username];
  }

  if (hostList === '') throw bad('no host given');
  const nodes = hostList.split(',').map((h) => {
    const hm = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(h);
    if (!hm) throw bad(`"${h}" is not host or host:port`);
    const port = hm[2] === undefined ? DEFAULT_PORT[scheme.mode] : Number(hm[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${hm[2]} is not 1-65535`);
    return { host: hm[1].replace(/^\[|\]$/g, ''), port };
  });
  if (scheme.mode === 'standalone' && nodes.length > 1) throw bad('several hosts need redis-sentinel:// or redis-cluster://');

  const segments = rawPath.split('/').filter(Boolean);
  let masterName: string | undefined;
  if (scheme.mode === 'sentinel') {
    masterName = segments.shift();
    if (!masterName) throw bad('a Sentinel URL names the master: redis-sentinel://host:26379/mymaster');
  }
  let db = 0;
  if (segments.length > 0) {
    if (scheme.mode === 'cluster') throw bad('Redis Cluster has no database number');
    db = Number(segments[0]);
    if (segments.length > 1 || !Number.isInteger(db) || db < 0 || db > 15) throw bad(`database "${segments.join('/')}" is not 0-15`);
  }
  return { mode: scheme.mode, nodes, username, password, db, tls: scheme.tls, masterName };
}

export type RedisPurpose = 'producer' | 'worker';

export interface RedisClientOptions {
  purpose: RedisPurpose;
  /** PEM file with the CA that signed the server's certificate (for self-signed TLS). */
  tlsCaFile?: string;
  connectionName?: string;
}

export type RedisClient = Redis | Cluster;

function purposeOptions(purpose: RedisPurpose): Pick<RedisOptions, 'enableOfflineQueue' | 'maxRetriesPerRequest'> {
  return purpose === 'producer' ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : { enableOfflineQueue: true, maxRetriesPerRequest: null };
}

/** The ioredis options for a target and purpose; `createRedisClient` uses them, BullMQ may too. */
export function redisOptions(target: RedisTarget, options: RedisClientOptions): RedisOptions {
  const caFile = options.tlsCaFile ?? target.caFile;
  const tls = target.tls ? { ...(caFile ? { ca: readFileSync(caFile) } : {}) } : undefined;
  const common: RedisOptions = {
    username: target.username,
    password: target.password,
    db: target.db,
    tls,
    connectionName: options.connectionName,
    ...purposeOptions(options.purpose),
  };
  if (target.mode === 'sentinel') {
    return {
      ...common,
      sentinels: target.nodes,
      name: target.masterName,
      sentinelUsername: target.username,
      sentinelPassword: target.password,
      enableTLSForSentinelMode: target.tls,
      sentinelTLS: tls,
      // After a failover Sentinel makes the demoted master drop its clients, and ioredis asks the
      // Sentinels for the new one. A write that still reaches the demoted master (READONLY) is a
      // cue to reconnect and resend. (ioredis's failoverDetector is left off: its Sentinel
      // subscriptions outlive quit() and keep a stopping process alive, redis/ioredis#1362.)
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    };
  }
  return { ...common, host: target.nodes[0].host, port: target.nodes[0].port };
}

/** Creates an ioredis client (or Cluster) for `target`; the caller owns it and must `quit()` it. */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  if (target.mode === 'cluster') {
    const base = redisOptions(target, options);
    const clusterOptions: ClusterOptions = {
      redisOptions: { username: base.username, password: base.password, tls: base.tls, connectionName: base.connectionName },
      ...purposeOptions(options.purpose),
    };
    return new Cluster(target.nodes, clusterOptions);
  }
  return new Redis(redisOptions(target, options));
}

/**
 * The BullMQ key prefix for a topology. In a Cluster every key of a queue must hash to one slot,
 * so the prefix is wrapped in a hash tag (`{stash-hooks}`), as BullMQ's cluster guide requires.
 */
export function bullPrefix(prefix: string, target: Pick<RedisTarget, 'mode'>): string {
  if (target.mode !== 'cluster' || /\{[^}]+\}/.test(prefix)) return prefix;
  return `{${prefix}}`;
}

/** `redis://127.0.0.1:6379`, `redis-cluster://a:1,b:2` … for messages: never credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  const scheme = (target.tls ? 'rediss' : 'redis') + (target.mode === 'standalone' ? '' : `-${target.mode}`);
  const hosts = target.nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
  return `${scheme}://${hosts}${target.masterName ? `/${target.masterName}` : ''}`;
}

/**
 * Creates a client and waits until it is ready, so a fail-fast producer never sees its first
 * command rejected for a connection still in progress. Fails with a `RedisError` naming the
 * server (without credentials) and the cause after `timeoutMs`.
 */
export async function connectRedis(target: RedisTarget, options: RedisClientOptions, timeoutMs = 5000): Promise<RedisClient> {
  const client = createRedisClient(target, options);
  let lastError: Error | undefined;
  const onError = (err: Error) => (lastError = err);
  client.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(lastError?.message ?? `no answer within ${timeoutMs} ms`)), timeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } catch (err) {
    client.disconnect();
    throw new RedisError(`cannot connect to Redis at ${describeRedisTarget(target)}: ${(err as Error).message}`, { cause: err });
  } finally {
    client.off('error', onError);
  }
  return client;
}
