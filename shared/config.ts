/**
 * Configuration: every setting of every role, read from flags over environment variables, parsed
 * and validated once at start-up (CONVENTIONS "Options and configuration"). This is the only
 * module that knows environment variable names; callers pass `process.env` in, nothing is read
 * at import time. Every problem names the flag, the variable, the value and what is accepted.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { HOOK_QUEUES, type HookQueueName } from './queues.js';
import { parseRedisUrl, type RedisTarget } from './redis.js';

export const ROLES = ['watcher', 'coordinator', 'worker', 'dashboard', 'all', 'devcluster', 'demo'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SUMMARY: Record<Role, string> = {
  watcher: 'watch BackupSessions/RestoreSessions and publish lifecycle events (one active replica per cluster, by Lease)',
  coordinator: 'consume lifecycle events and order hooks with BullMQ flows; write final phases',
  worker: 'run hooks from the phase queues (pre-backup, post-backup, pre-restore, post-restore)',
  dashboard: 'serve the bull-board queue dashboard',
  all: 'every role in one process',
  devcluster: 'run the embedded Kubernetes API server and backup executor simulator',
  demo: 'start devcluster and every role, apply examples/, show the hooks run, exit 0 when all finished as expected',
};

const CLUSTER_ROLES: Role[] = ['watcher', 'coordinator', 'worker', 'dashboard', 'all', 'demo'];
const KUBE_ROLES: Role[] = ['watcher', 'coordinator', 'worker', 'all'];
const SERVED_ROLES: Role[] = ['watcher', 'coordinator', 'worker', 'dashboard', 'all', 'demo'];

/** Everything a role may be configured with, after parsing. */
export interface Config {
  kubeconfig?: string;
  redisUrl: string;
  redis: RedisTarget;
  redisCaFile?: string;
  prefix: string;
  namespaces: string[];
  queues: HookQueueName[];
  concurrency: number;
  httpHost: string;
  httpPort: number;
  dashboardHost: string;
  dashboardPort: number;
  allowActions: boolean;
  dashboardAuth?: { user: string; password: string } | { token: string };
  /** HMAC key sealing kept hook outcomes (workers/outcome-seal.ts); from the environment only. */
  outcomeKey?: string;
  logLevel: LogLevel;
  hookTimeoutSeconds: number;
  sessionTimeout: string;
  sessionTimeoutMs: number;
  watchdogSeconds: number;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  shutdownGraceSeconds: number;
  denyCidrs: string[];
  allowCidrs: string[];
  protectedNamespaces: string[];
  allowLoopback: 'auto' | boolean;
  ownNamespace: string;
  namespaceConcurrency?: number;
  maxHookTimeoutSeconds: number;
}

type Env = Record<string, string | undefined>;

/** One setting: its flag, environment variable, default, what it accepts and which roles use it. */
export interface Setting {
  key: keyof Config;
  flag: string;
  env?: string;
  description: string;
  accepted: string;
  roles: readonly Role[];
  /** Shown in help; `defaultValue(env)` computes the effective default. */
  defaultText: string;
  defaultValue: (env: Env) => string | undefined;
  /** Returns the parsed value, or throws `Error(reason)`. */
  parse: (raw: string) => unknown;
  boolean?: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function zodParse<T>(schema: z.ZodType<T>): (raw: string) => T {
  return (raw) => {
    const r = schema.safeParse(raw);
    if (!r.success) throw new Error('invalid');
    return r.data;
  };
}

const intIn = (min: number, max: number) => zodParse(z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)));
const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const bool = zodParse(z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v)));

function parseCidr(raw: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(raw);
  const family = m ? isIP(m[1]) : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) throw new Error(`"${raw}" is not a CIDR`);
  return raw;
}

function parseHost(raw: string): string {
  if (raw === 'localhost' || isIP(raw) !== 0 || /^[a-z0-9.-]+$/i.test(raw)) return raw;
  throw new Error('invalid');
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'kubeconfig',
    flag: '--kubeconfig',
    env: 'KUBECONFIG',
    roles: KUBE_ROLES,
    description: 'kubeconfig file of the cluster to act on',
    accepted: 'a path to a kubeconfig file (several joined by ":" are merged, as kubectl does)',
    defaultText: '~/.kube/config, else the in-cluster service account',
    defaultValue: () => undefined,
    parse: (raw) => {
      if (raw.trim() === '') throw new Error('empty');
      return raw;
    },
  },
  {
    key: 'redisUrl',
    flag: '--redis-url',
    env: 'REDIS_URL',
    roles: CLUSTER_ROLES,
    description: 'Redis for the queues',
    accepted: 'redis://, rediss://, redis-sentinel://host:26379/master or redis-cluster://h1:p1,h2:p2',
    defaultText: 'redis://127.0.0.1:6379',
    defaultValue: () => 'redis://127.0.0.1:6379',
    parse: (raw) => raw,
  },
  {
    key: 'redisCaFile',
    flag: '--redis-ca-file',
    env: 'REDIS_CA_FILE',
    roles: CLUSTER_ROLES,
    description: 'CA certificate (PEM) for rediss:// with a private CA',
    accepted: 'a path to a PEM file',
    defaultText: 'the system CAs',
    defaultValue: () => undefined,
    parse: (raw) => raw,
  },
  {
    key: 'prefix',
    flag: '--prefix',
    env: 'STASH_HOOKS_PREFIX',
    roles: CLUSTER_ROLES,
    description: 'BullMQ key prefix (hash-tagged automatically on Redis Cluster)',
    accepted: '1-64 characters of letters, digits, {}, "-", "_" or "."',
    defaultText: 'stash-hooks',
    defaultValue: () => 'stash-hooks',
    parse: zodParse(z.string().regex(/^[A-Za-z0-9{}_.-]{1,64}$/)),
  },
  {
    key: 'namespaces',
    flag: '--namespaces',
    env: 'STASH_HOOKS_NAMESPACES',
    roles: ['watcher', 'all', 'demo'],
    description: 'namespaces to watch, comma-separated',
    accepted: 'comma-separated namespace names (DNS labels)',
    defaultText: 'all namespaces',
    defaultValue: () => '',
    parse: (raw) => {
      const l = list(raw);
      if (!l.every((n) => DNS_LABEL.test(n) && n.length <= 63)) throw new Error('invalid');
      return l;
    },
  },
  {
    key: 'queues',
    flag: '--queues',
    env: 'STASH_HOOKS_QUEUES',
    roles: ['worker', 'all'],
    description: 'hook queues this worker consumes, comma-separated',
    accepted: `a comma-separated subset of ${HOOK_QUEUES.join(', ')}`,
    defaultText: HOOK_QUEUES.join(','),
    defaultValue: () => HOOK_QUEUES.join(','),
    parse: (raw) => {
      const l = list(raw);
      if (l.length === 0 || !l.every((q) => (HOOK_QUEUES as readonly string[]).includes(q))) throw new Error('invalid');
      return [...new Set(l)];
    },
  },
  {
    key: 'concurrency',
    flag: '--concurrency',
    env: 'STASH_HOOKS_CONCURRENCY',
    roles: ['worker', 'all', 'demo'],
    description: 'hooks run at once per queue by this process',
    accepted: 'an integer 1-1000',
    defaultText: '10',
    defaultValue: () => '10',
    parse: intIn(1, 1000),
  },
  {
    key: 'httpHost',
    flag: '--http-host',
    env: 'STASH_HOOKS_HTTP_HOST',
    roles: SERVED_ROLES,
    description: 'address of the /healthz, /readyz and /metrics server',
    accepted: 'an IP address or host name',
    defaultText: '127.0.0.1',
    defaultValue: () => '127.0.0.1',
    parse: parseHost,
  },
  {
    key: 'httpPort',
    flag: '--http-port',
    env: 'STASH_HOOKS_HTTP_PORT',
    roles: SERVED_ROLES,
    description: 'port of the /healthz, /readyz and /metrics server (0: any free port)',
    accepted: 'an integer 0-65535',
    defaultText: '9090',
    defaultValue: () => '9090',
    parse: intIn(0, 65535),
  },
  {
    key: 'dashboardHost',
    flag: '--dashboard-host',
    env: 'STASH_HOOKS_DASHBOARD_HOST',
    roles: ['dashboard', 'all', 'demo'],
    description: 'address the dashboard binds; non-loopback requires credentials',
    accepted: 'an IP address or host name',
    defaultText: '127.0.0.1',
    defaultValue: () => '127.0.0.1',
    parse: parseHost,
  },
  {
    key: 'dashboardPort',
    flag: '--dashboard-port',
    env: 'STASH_HOOKS_DASHBOARD_PORT',
    roles: ['dashboard', 'all', 'demo'],
    description: 'dashboard port (0: any free port)',
    accepted: 'an integer 0-65535',
    defaultText: '3000',
    defaultValue: () => '3000',
    parse: intIn(0, 65535),
  },
  {
    key: 'allowActions',
    flag: '--allow-actions',
    env: 'STASH_HOOKS_DASHBOARD_ALLOW_ACTIONS',
    roles: ['dashboard', 'all'],
    boolean: true,
    description: 'let dashboard users retry, clean and remove jobs',
    accepted: 'true or false',
    defaultText: 'false (read-only)',
    defaultValue: () => 'false',
    parse: bool,
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'LOG_LEVEL',
    roles: ROLES,
    description: 'log level (JSON logs on stdout)',
    accepted: `one of ${LOG_LEVELS.join(', ')}`,
    defaultText: 'info',
    defaultValue: () => 'info',
    parse: zodParse(z.enum(LOG_LEVELS)),
  },
  {
    key: 'hookTimeoutSeconds',
    flag: '--hook-timeout-seconds',
    env: 'STASH_HOOKS_HOOK_TIMEOUT_SECONDS',
    roles: ['worker', 'all', 'demo'],
    description: 'timeout of a hook without timeoutSeconds',
    accepted: 'an integer 1-86400',
    defaultText: '300',
    defaultValue: () => '300',
    parse: intIn(1, 86400),
  },
  {
    // The worker needs it too: a post job that wakes at the coordinator's deadline re-checks it, and
    // with the default in its place it slept again until 24h (a session hung far past its deadline).
    key: 'sessionTimeout',
    flag: '--session-timeout',
    env: 'STASH_HOOKS_SESSION_TIMEOUT',
    roles: ['coordinator', 'worker', 'all', 'demo'],
    description: 'deadline of a session whose invoker has no spec.timeOut',
    accepted: 'a duration such as 30m, 2h or 1h30m (at least 1s)',
    defaultText: '24h',
    defaultValue: () => '24h',
    parse: (raw) => {
      const ms = parseDuration(raw);
      if (ms === undefined || ms < 1000) throw new Error('invalid');
      return raw;
    },
  },
  {
    key: 'watchdogSeconds',
    flag: '--watchdog-seconds',
    env: 'STASH_HOOKS_WATCHDOG_SECONDS',
    roles: ['watcher', 'all', 'demo'],
    description: 'restart a watch that has been silent this long',
    accepted: 'an integer 5-3600',
    defaultText: '120',
    defaultValue: () => '120',
    parse: intIn(5, 3600),
  },
  {
    key: 'leaseName',
    flag: '--lease-name',
    env: 'STASH_HOOKS_LEASE_NAME',
    roles: ['watcher', 'all'],
    description: 'coordination.k8s.io Lease that elects the active watcher',
    accepted: 'a DNS label',
    defaultText: 'stash-hooks-watcher',
    defaultValue: () => 'stash-hooks-watcher',
    parse: zodParse(z.string().max(63).regex(DNS_LABEL)),
  },
  {
    key: 'leaseNamespace',
    flag: '--lease-namespace',
    env: 'STASH_HOOKS_LEASE_NAMESPACE',
    roles: ['watcher', 'worker', 'all', 'demo'],
    description: "namespace of the watcher's Lease and of the hook workers' heartbeat Leases",
    accepted: 'a DNS label',
    defaultText: '$POD_NAMESPACE, else default',
    defaultValue: (env) => env.POD_NAMESPACE || 'default',
    parse: zodParse(z.string().max(63).regex(DNS_LABEL)),
  },
  {
    key: 'identity',
    flag: '--identity',
    env: 'POD_NAME',
    roles: ['watcher', 'worker', 'all', 'demo'],
    description: "this replica's name: its identity in the Lease, and in the User-Agent of its HTTP hooks",
    accepted: 'a non-empty string',
    defaultText: 'the host name',
    defaultValue: () => hostname(),
    parse: zodParse(z.string().min(1).max(253)),
  },
  {
    key: 'shutdownGraceSeconds',
    flag: '--shutdown-grace-seconds',
    env: 'STASH_HOOKS_SHUTDOWN_GRACE_SECONDS',
    roles: SERVED_ROLES,
    description: 'on SIGTERM, how long in-flight hooks may finish before they are handed back',
    accepted: 'an integer 0-3600',
    defaultText: '30',
    defaultValue: () => '30',
    parse: intIn(0, 3600),
  },
  {
    key: 'denyCidrs',
    flag: '--deny-cidrs',
    env: 'STASH_HOOKS_DENY_CIDRS',
    roles: ['worker', 'all', 'demo'],
    description:
      "hook destinations refused after DNS resolution, in addition to the built-in ones (loopback, link-local, cloud metadata, the API server, stash-hooks' pods and Redis); wins over --allow-cidrs",
    accepted: 'comma-separated CIDRs such as 10.20.0.0/16,fd00::/8',
    defaultText: 'none',
    defaultValue: () => '',
    parse: (raw) => list(raw).map(parseCidr),
  },
  {
    key: 'allowCidrs',
    flag: '--allow-cidrs',
    env: 'STASH_HOOKS_ALLOW_CIDRS',
    roles: ['worker', 'all', 'demo'],
    description:
      'exempt these from the built-in hook destination rules, each at least as specific as the rule it overrides (10.96.0.1/32 reopens that address; 10.0.0.0/8 does not)',
    accepted: 'comma-separated CIDRs',
    defaultText: 'none',
    defaultValue: () => '',
    parse: (raw) => list(raw).map(parseCidr),
  },
  {
    // DESIGN §11: exec in stash-hooks' own pods would hand a tenant REDIS_URL and the dashboard credentials.
    key: 'protectedNamespaces',
    flag: '--protected-namespaces',
    env: 'STASH_HOOKS_PROTECTED_NAMESPACES',
    roles: ['worker', 'all', 'demo'],
    description: 'namespaces no hook from another namespace may act in, even if they opt in',
    accepted: 'comma-separated namespace names (DNS labels)',
    // The same default as --own-namespace, so that both name the same namespace outside a pod too.
    defaultText: "$POD_NAMESPACE (stash-hooks' own; else stash-hooks) and kube-system",
    defaultValue: (env) => [env.POD_NAMESPACE || 'stash-hooks', 'kube-system'].join(','),
    parse: (raw) => {
      const l = list(raw);
      if (!l.every((n) => DNS_LABEL.test(n) && n.length <= 63)) throw new Error('invalid');
      return [...new Set(l)];
    },
  },
  {
    key: 'allowLoopback',
    flag: '--allow-loopback',
    env: 'STASH_HOOKS_ALLOW_LOOPBACK',
    roles: ['worker', 'all', 'demo'],
    description: "let hooks reach loopback addresses (devcluster gives its pods 127.0.0.x); the API server's and Redis's ports stay refused",
    accepted: 'auto (only when the API server is devcluster on loopback), true or false',
    defaultText: 'auto',
    defaultValue: () => 'auto',
    parse: (raw) => (raw === 'auto' ? 'auto' : bool(raw)),
  },
  {
    key: 'ownNamespace',
    flag: '--own-namespace',
    env: 'POD_NAMESPACE',
    roles: ['worker', 'all', 'demo'],
    description: "stash-hooks' own namespace: hooks may not reach its pods (app.kubernetes.io/name=stash-hooks)",
    accepted: 'a DNS label',
    defaultText: '$POD_NAMESPACE, else stash-hooks',
    defaultValue: () => 'stash-hooks',
    parse: zodParse(z.string().max(63).regex(DNS_LABEL)),
  },
  {
    key: 'namespaceConcurrency',
    flag: '--namespace-concurrency',
    env: 'STASH_HOOKS_NAMESPACE_CONCURRENCY',
    roles: ['worker', 'all', 'demo'],
    description: 'hooks of one namespace run at once per queue by this process; a hook over it waits without holding a slot',
    accepted: 'an integer 1-1000',
    defaultText: 'half of --concurrency (at least 1), so that one namespace never holds every slot',
    defaultValue: () => undefined,
    parse: intIn(1, 1000),
  },
  {
    key: 'maxHookTimeoutSeconds',
    flag: '--max-hook-timeout-seconds',
    env: 'STASH_HOOKS_MAX_HOOK_TIMEOUT_SECONDS',
    roles: ['worker', 'all', 'demo'],
    description: "cluster-wide ceiling on a hook's timeoutSeconds; longer ones are clamped to it",
    accepted: 'an integer 1-86400',
    defaultText: '3600',
    defaultValue: () => '3600',
    parse: intIn(1, 86400),
  },
];

/** Settings that only come from the environment, because they are secrets. */
export const SECRET_ENV = {
  dashboardUser: 'STASH_HOOKS_DASHBOARD_USER',
  dashboardPassword: 'STASH_HOOKS_DASHBOARD_PASSWORD',
  dashboardToken: 'STASH_HOOKS_DASHBOARD_TOKEN',
} as const;

/**
 * The key that seals the hook outcome a worker keeps on its job (DESIGN §11), shared by every
 * worker through a Secret; a secret, so it comes from the environment only.
 */
export const OUTCOME_KEY_ENV = 'STASH_HOOKS_OUTCOME_KEY';
/** The shortest outcome key accepted: 32 characters (`openssl rand -base64 32` gives 44). */
export const OUTCOME_KEY_MIN_LENGTH = 32;

export function settingsFor(role: Role): Setting[] {
  return SETTINGS.filter((s) => s.roles.includes(role));
}

/** `--redis-url` → `redisUrl`, the key commander uses for a flag. */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Builds the configuration of `role` from parsed flags (commander's camel-cased keys) over `env`,
 * over defaults. Throws one `ConfigError` listing every bad setting.
 */
export function loadConfig(role: Role, flags: Record<string, unknown>, env: Env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const s of settingsFor(role)) {
    const fromFlag = flags[flagKey(s.flag)];
    const fromEnv = s.env ? env[s.env] : undefined;
    let raw: string | undefined;
    let source: string;
    if (fromFlag !== undefined) {
      raw = typeof fromFlag === 'boolean' ? String(fromFlag) : String(fromFlag);
      source = s.flag;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      source = s.env!;
    } else {
      raw = s.defaultValue(env);
      source = 'default';
    }
    if (raw === undefined) continue;
    try {
      out[s.key] = s.parse(raw);
    } catch {
      const name = source === s.flag && s.env ? `${s.flag} (${s.env})` : source === 'default' ? s.flag : `${s.env} (${s.flag})`;
      const shown = s.key === 'redisUrl' ? '<redacted>' : raw;
      problems.push(`${name}: "${shown}" is not valid; expected ${s.accepted}`);
    }
  }
  if (typeof out.redisUrl === 'string') {
    try {
      out.redis = parseRedisUrl(out.redisUrl, env.REDIS_URL !== undefined && flags.redisUrl === undefined ? 'REDIS_URL' : '--redis-url');
      // Every role's clients need the CA, not only the start-up probe (issue 8: rediss:// with a self-signed CA).
      if (typeof out.redisCaFile === 'string') (out.redis as RedisTarget).caFile = out.redisCaFile;
    } catch (err) {
      problems.push(...((err as ConfigError).problems ?? [String(err)]));
    }
  }
  if (typeof out.hookTimeoutSeconds === 'number' && typeof out.maxHookTimeoutSeconds === 'number' && out.hookTimeoutSeconds > out.maxHookTimeoutSeconds) {
    problems.push(
      `--hook-timeout-seconds (STASH_HOOKS_HOOK_TIMEOUT_SECONDS): ${out.hookTimeoutSeconds} is more than --max-hook-timeout-seconds (${out.maxHookTimeoutSeconds})`,
    );
  }
  if (typeof out.sessionTimeout === 'string') out.sessionTimeoutMs = parseDuration(out.sessionTimeout);

  const user = env[SECRET_ENV.dashboardUser];
  const password = env[SECRET_ENV.dashboardPassword];
  const token = env[SECRET_ENV.dashboardToken];
  if (token) out.dashboardAuth = { token };
  else if (user || password) {
    if (!user || !password) {
      problems.push(
        `${SECRET_ENV.dashboardUser} and ${SECRET_ENV.dashboardPassword}: set both for basic auth, or ${SECRET_ENV.dashboardToken} for a bearer token`,
      );
    } else out.dashboardAuth = { user, password };
  }
  const outcomeKey = env[OUTCOME_KEY_ENV];
  if (outcomeKey) {
    // The value never goes into a message: it is a secret.
    if (outcomeKey.length < OUTCOME_KEY_MIN_LENGTH || /\s/.test(outcomeKey)) {
      problems.push(
        `${OUTCOME_KEY_ENV}: must be at least ${OUTCOME_KEY_MIN_LENGTH} characters without whitespace (got ${outcomeKey.length}); ` +
          'generate one with `openssl rand -base64 32`',
      );
    } else out.outcomeKey = outcomeKey;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as unknown as Config;
}
