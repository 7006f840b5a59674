import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, SETTINGS, ROLES, settingsFor } from '../../shared/config.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_CONFIG');
    return (err as { problems: string[] }).problems;
  }
  assert.unreachable('expected a ConfigError');
  return [];
}

test('defaults apply when neither flag nor environment is set', () => {
  const c = loadConfig('all', {}, {});
  assert.is(c.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(c.redis, {
    mode: 'standalone',
    nodes: [{ host: '127.0.0.1', port: 6379 }],
    username: undefined,
    password: undefined,
    db: 0,
    tls: false,
    masterName: undefined,
  });
  assert.is(c.prefix, 'stash-hooks');
  assert.equal(c.namespaces, []);
  assert.equal(c.queues, ['pre-backup', 'post-backup', 'pre-restore', 'post-restore']);
  assert.is(c.concurrency, 10);
  assert.is(c.httpHost, '127.0.0.1');
  assert.is(c.httpPort, 9090);
  assert.is(c.allowActions, false);
  assert.is(c.logLevel, 'info');
  assert.is(c.hookTimeoutSeconds, 300);
  assert.is(c.sessionTimeout, '24h');
  assert.is(c.sessionTimeoutMs, 86_400_000);
  assert.is(c.leaseNamespace, 'default');
  // The built-in rules (loopback, link-local, metadata, infrastructure) live in the guard; these only add.
  assert.equal(c.denyCidrs, []);
  assert.equal(c.allowCidrs, []);
  assert.equal(c.protectedNamespaces, ['stash-hooks', 'kube-system']);
  assert.is(c.allowLoopback, 'auto');
  assert.is(c.ownNamespace, 'stash-hooks');
  assert.is(c.namespaceConcurrency, undefined);
  assert.is(c.maxHookTimeoutSeconds, 3600);
  assert.is(c.dashboardAuth, undefined);
});

test("--protected-namespaces defaults to stash-hooks' own namespace and kube-system; bad names are named", () => {
  assert.equal(loadConfig('worker', {}, { POD_NAMESPACE: 'stash-hooks' }).protectedNamespaces, ['stash-hooks', 'kube-system']);
  assert.equal(loadConfig('worker', { protectedNamespaces: 'ops, kube-system,ops' }, {}).protectedNamespaces, ['ops', 'kube-system']);
  assert.throws(
    () => loadConfig('worker', {}, { STASH_HOOKS_PROTECTED_NAMESPACES: 'Kube_System' }),
    (e: Error) =>
      e.message.includes(
        'STASH_HOOKS_PROTECTED_NAMESPACES (--protected-namespaces): "Kube_System" is not valid; expected comma-separated namespace names (DNS labels)',
      ),
  );
});

test('environment overrides defaults and flags override environment', () => {
  const env = {
    REDIS_URL: 'redis://10.1.2.3:7000/2',
    STASH_HOOKS_CONCURRENCY: '5',
    STASH_HOOKS_NAMESPACES: 'demo, prod',
    POD_NAMESPACE: 'ops',
    LOG_LEVEL: 'debug',
  };
  const c = loadConfig('all', { concurrency: '50', queues: 'pre-backup,pre-backup,post-backup', allowActions: true }, env);
  assert.is(c.concurrency, 50);
  assert.equal(c.redis.nodes, [{ host: '10.1.2.3', port: 7000 }]);
  assert.is(c.redis.db, 2);
  assert.equal(c.namespaces, ['demo', 'prod']);
  assert.equal(c.queues, ['pre-backup', 'post-backup']);
  assert.is(c.leaseNamespace, 'ops');
  assert.is(c.logLevel, 'debug');
  assert.is(c.allowActions, true);
});

test('an empty environment variable counts as unset', () => {
  assert.is(loadConfig('worker', {}, { STASH_HOOKS_CONCURRENCY: '' }).concurrency, 10);
});

const BAD_SETTINGS: Array<[string, Record<string, unknown>, Record<string, string>, string]> = [
  ['concurrency not a number', { concurrency: 'many' }, {}, '--concurrency (STASH_HOOKS_CONCURRENCY): "many" is not valid; expected an integer 1-1000'],
  ['concurrency 0 from env', {}, { STASH_HOOKS_CONCURRENCY: '0' }, 'STASH_HOOKS_CONCURRENCY (--concurrency): "0" is not valid; expected an integer 1-1000'],
  ['concurrency too big', { concurrency: '1001' }, {}, '--concurrency (STASH_HOOKS_CONCURRENCY): "1001" is not valid; expected an integer 1-1000'],
  [
    'unknown queue',
    { queues: 'pre-backup,backups' },
    {},
    '--queues (STASH_HOOKS_QUEUES): "pre-backup,backups" is not valid; expected a comma-separated subset of pre-backup, post-backup, pre-restore, post-restore',
  ],
  ['http port', { httpPort: '70000' }, {}, '--http-port (STASH_HOOKS_HTTP_PORT): "70000" is not valid; expected an integer 0-65535'],
  ['dashboard port', {}, { STASH_HOOKS_DASHBOARD_PORT: 'x' }, 'STASH_HOOKS_DASHBOARD_PORT (--dashboard-port): "x" is not valid; expected an integer 0-65535'],
  ['log level', { logLevel: 'verbose' }, {}, '--log-level (LOG_LEVEL): "verbose" is not valid; expected one of fatal, error, warn, info, debug, trace, silent'],
  [
    'session timeout',
    {},
    { STASH_HOOKS_SESSION_TIMEOUT: '1 day' },
    'STASH_HOOKS_SESSION_TIMEOUT (--session-timeout): "1 day" is not valid; expected a duration such as 30m, 2h or 1h30m (at least 1s)',
  ],
  ['hook timeout', { hookTimeoutSeconds: '0' }, {}, '--hook-timeout-seconds (STASH_HOOKS_HOOK_TIMEOUT_SECONDS): "0" is not valid; expected an integer 1-86400'],
  [
    'prefix with colon',
    { prefix: 'a:b' },
    {},
    '--prefix (STASH_HOOKS_PREFIX): "a:b" is not valid; expected 1-64 characters of letters, digits, {}, "-", "_" or "."',
  ],
  [
    'namespace upper case',
    { namespaces: 'Demo' },
    {},
    '--namespaces (STASH_HOOKS_NAMESPACES): "Demo" is not valid; expected comma-separated namespace names (DNS labels)',
  ],
  [
    'deny cidr',
    { denyCidrs: '169.254.0.0/33' },
    {},
    '--deny-cidrs (STASH_HOOKS_DENY_CIDRS): "169.254.0.0/33" is not valid; expected comma-separated CIDRs such as 10.20.0.0/16,fd00::/8',
  ],
  [
    'allow cidr',
    {},
    { STASH_HOOKS_ALLOW_CIDRS: '10.0.0.0' },
    'STASH_HOOKS_ALLOW_CIDRS (--allow-cidrs): "10.0.0.0" is not valid; expected comma-separated CIDRs',
  ],
  [
    'allow loopback',
    { allowLoopback: 'sometimes' },
    {},
    '--allow-loopback (STASH_HOOKS_ALLOW_LOOPBACK): "sometimes" is not valid; expected auto (only when the API server is devcluster on loopback), true or false',
  ],
  [
    'namespace concurrency',
    {},
    { STASH_HOOKS_NAMESPACE_CONCURRENCY: '0' },
    'STASH_HOOKS_NAMESPACE_CONCURRENCY (--namespace-concurrency): "0" is not valid; expected an integer 1-1000',
  ],
  [
    'hook timeout over the ceiling',
    { hookTimeoutSeconds: '600', maxHookTimeoutSeconds: '300' },
    {},
    '--hook-timeout-seconds (STASH_HOOKS_HOOK_TIMEOUT_SECONDS): 600 is more than --max-hook-timeout-seconds (300)',
  ],
  ['watchdog', { watchdogSeconds: '1' }, {}, '--watchdog-seconds (STASH_HOOKS_WATCHDOG_SECONDS): "1" is not valid; expected an integer 5-3600'],
  ['lease name', { leaseName: 'Lease_1' }, {}, '--lease-name (STASH_HOOKS_LEASE_NAME): "Lease_1" is not valid; expected a DNS label'],
  [
    'allow actions',
    {},
    { STASH_HOOKS_DASHBOARD_ALLOW_ACTIONS: 'maybe' },
    'STASH_HOOKS_DASHBOARD_ALLOW_ACTIONS (--allow-actions): "maybe" is not valid; expected true or false',
  ],
  [
    'redis scheme',
    { redisUrl: 'http://localhost:6379' },
    {},
    '--redis-url: scheme "http" is not one of redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster (got "http://localhost:6379")',
  ],
  [
    'redis url shape',
    {},
    { REDIS_URL: 'localhost:6379' },
    'REDIS_URL: must look like redis://host:6379, rediss://…, redis-sentinel://host:26379/mymaster or redis-cluster://host:6379,host:6380 (got "localhost:6379")',
  ],
  ['redis port', {}, { REDIS_URL: 'redis://localhost:99999' }, 'REDIS_URL: port 99999 is not 1-65535 (got "redis://localhost:99999")'],
  ['redis db', {}, { REDIS_URL: 'redis://localhost/99' }, 'REDIS_URL: database "99" is not 0-15 (got "redis://localhost/99")'],
  [
    'redis sentinel without master',
    {},
    { REDIS_URL: 'redis-sentinel://a:26379,b:26379' },
    'REDIS_URL: a Sentinel URL names the master: redis-sentinel://host:26379/mymaster (got "redis-sentinel://a:26379,b:26379")',
  ],
  ['redis several hosts', {}, { REDIS_URL: 'redis://a,b' }, 'REDIS_URL: several hosts need redis-sentinel:// or redis-cluster:// (got "redis://a,b")'],
  ['redis password not shown', {}, { REDIS_URL: 'redis://user:hunter2@host:1/x' }, 'REDIS_URL: database "x" is not 0-15 (got "redis://user:***@host:1/x")'],
  [
    'half of basic auth',
    {},
    { STASH_HOOKS_DASHBOARD_USER: 'admin' },
    'STASH_HOOKS_DASHBOARD_USER and STASH_HOOKS_DASHBOARD_PASSWORD: set both for basic auth, or STASH_HOOKS_DASHBOARD_TOKEN for a bearer token',
  ],
];

for (const [name, flags, env, message] of BAD_SETTINGS) {
  test(`bad setting: ${name}`, () => {
    assert.equal(
      problems(() => loadConfig('all', flags, env)),
      [message],
    );
  });
}

test('the worker reads the session timeout the coordinator delays post hooks by', () => {
  assert.is(loadConfig('worker', {}, { STASH_HOOKS_SESSION_TIMEOUT: '1h' }).sessionTimeoutMs, 3_600_000);
  assert.is(loadConfig('worker', { sessionTimeout: '30m' }, {}).sessionTimeoutMs, 1_800_000);
});

test('every bad setting is reported at once', () => {
  const p = problems(() => loadConfig('worker', { concurrency: '0', queues: 'x' }, { LOG_LEVEL: 'loud' }));
  assert.is(p.length, 3);
});

test('Redis URL forms: password-only, ACL user, TLS, Sentinel, Cluster', () => {
  const r = (url: string) => loadConfig('worker', { redisUrl: url }, {}).redis;
  assert.equal(
    { ...r('redis://s3cret@h:1') },
    { mode: 'standalone', nodes: [{ host: 'h', port: 1 }], username: undefined, password: 's3cret', db: 0, tls: false, masterName: undefined },
  );
  assert.is(r('redis://app:p%40ss@h').password, 'p@ss');
  assert.is(r('redis://app:p%40ss@h').username, 'app');
  assert.is(r('rediss://h').tls, true);
  assert.is(r('rediss://h').nodes[0].port, 6379);
  const s = r('redis-sentinel://:pw@s1:26379,s2/mymaster/3');
  assert.equal(
    [s.mode, s.masterName, s.db, s.password, s.nodes],
    [
      'sentinel',
      'mymaster',
      3,
      'pw',
      [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
    ],
  );
  const c = r('rediss-cluster://n1:7000,n2:7001,[::1]:7002');
  assert.equal([c.mode, c.tls, c.nodes.map((n) => `${n.host}:${n.port}`)], ['cluster', true, ['n1:7000', 'n2:7001', '::1:7002']]);
});

test('dashboard credentials come from the environment only', () => {
  assert.equal(loadConfig('dashboard', {}, { STASH_HOOKS_DASHBOARD_USER: 'a', STASH_HOOKS_DASHBOARD_PASSWORD: 'b' }).dashboardAuth, {
    user: 'a',
    password: 'b',
  });
  assert.equal(loadConfig('dashboard', {}, { STASH_HOOKS_DASHBOARD_TOKEN: 't' }).dashboardAuth, { token: 't' });
});

test('the outcome seal key comes from the environment, long enough, and is never echoed', () => {
  const key = 'k'.repeat(32);
  assert.is(loadConfig('worker', {}, { STASH_HOOKS_OUTCOME_KEY: key }).outcomeKey, key);
  assert.is(loadConfig('worker', {}, {}).outcomeKey, undefined);
  const short = problems(() => loadConfig('worker', {}, { STASH_HOOKS_OUTCOME_KEY: 'tooshort-secret' }));
  assert.is(short.length, 1);
  assert.match(short[0], 'STASH_HOOKS_OUTCOME_KEY: must be at least 32 characters');
  assert.match(short[0], '(got 15)');
  assert.not.match(short[0], 'tooshort-secret');
  assert.match(problems(() => loadConfig('worker', {}, { STASH_HOOKS_OUTCOME_KEY: `${key} x` }))[0], 'without whitespace');
});

test('every role has settings, every setting a role, a unique flag and env', () => {
  for (const role of ROLES) if (role !== 'devcluster') assert.ok(settingsFor(role).length > 0, role);
  const flags = SETTINGS.map((s) => s.flag);
  const envs = SETTINGS.map((s) => s.env).filter(Boolean);
  assert.is(new Set(flags).size, flags.length);
  assert.is(new Set(envs).size, envs.length);
});

test.run();
