// The dashboard's defences over real HTTP and real Redis (DESIGN §11, "Dashboard"): CSRF on
// state-changing routes, Host checks against DNS rebinding, login throttling, and what the
// responses must not reveal (X-Powered-By, Redis INFO).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startDashboard, type Dashboard } from '../../dashboard/dashboard.js';

const REDIS = { host: '127.0.0.1', port: 6379 };
const prefix = `sh-test-dashsec-${randomBytes(4).toString('hex')}`;
const USER = 'ops';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const CSRF = { 'content-type': 'application/json', 'x-stash-hooks-csrf': '1' };

let redis: Redis;
const opened: Dashboard[] = [];

async function open(options: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<Dashboard> {
  const d = await startDashboard({ connection: `redis://${REDIS.host}:${REDIS.port}`, prefix, host: '127.0.0.1', port: 0, discoverIntervalMs: 0, ...options });
  opened.push(d);
  return d;
}

/** One HTTP request with full control of the headers (fetch forbids setting Host and Origin). */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function failedJobCount(): Promise<number> {
  const q = new Queue('pre-backup', { connection: REDIS, prefix });
  try {
    return (await q.getJobCounts('failed')).failed;
  } finally {
    await q.close();
  }
}

let failedJobId = '';

test.before(async () => {
  redis = new Redis(REDIS);
  const queue = new Queue('pre-backup', { connection: REDIS, prefix });
  const worker = new Worker(
    'pre-backup',
    async () => {
      throw new Error('hook failed');
    },
    { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix },
  );
  const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
  failedJobId = (await queue.add('preBackup demo/s Deployment/app', {}, { jobId: 'job-1' })).id!;
  await failed;
  await worker.close();
  await queue.close();
});

test.after(async () => {
  await Promise.allSettled(opened.map((d) => d.close()));
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
});

test('CSRF: a job clean without the header, with a form content type or from a foreign Origin is refused', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD }, allowActions: true });
  const url = `${d.url}api/queues/pre-backup/${failedJobId}/clean`;
  const host = new URL(d.url).host;
  const auth = basic(USER, PASSWORD);
  const attempts: Array<[string, Record<string, string>, string | undefined, number, RegExp]> = [
    ['no CSRF header', { ...auth, 'content-type': 'application/json' }, '{}', 403, /X-Stash-Hooks-CSRF: 1/],
    ['wrong CSRF value', { ...auth, 'content-type': 'application/json', 'x-stash-hooks-csrf': 'yes' }, '{}', 403, /X-Stash-Hooks-CSRF/],
    ['form content type', { ...auth, 'content-type': 'application/x-www-form-urlencoded', 'x-stash-hooks-csrf': '1' }, 'a=1', 415, /application\/json/],
    ['text/plain', { ...auth, 'content-type': 'text/plain', 'x-stash-hooks-csrf': '1' }, '{}', 415, /application\/json/],
    ['no content type', { ...auth, 'x-stash-hooks-csrf': '1' }, undefined, 415, /application\/json/],
    ['foreign Origin', { ...auth, ...CSRF, origin: 'https://evil.example' }, '{}', 403, /Origin https:\/\/evil.example is not this dashboard/],
    ['Origin on another port', { ...auth, ...CSRF, origin: 'http://127.0.0.1:1' }, '{}', 403, /cross-origin/],
    ['opaque Origin', { ...auth, ...CSRF, origin: 'null' }, '{}', 403, /cross-origin/],
  ];
  for (const [what, headers, body, status, message] of attempts) {
    const res = await raw(url, { method: 'PUT', headers, body });
    assert.is(res.status, status, what);
    assert.match(res.body, message, what);
  }
  assert.is(await failedJobCount(), 1, 'nothing was cleaned');
  // The same request from the board's own page: same Origin, the header, JSON.
  const ok = await raw(url, { method: 'PUT', headers: { ...auth, ...CSRF, origin: `http://${host}` }, body: '{}' });
  assert.ok(ok.status < 300, `status ${ok.status}: ${ok.body}`);
  assert.is(await failedJobCount(), 0);
});

test('the board page loads the CSRF script before bull-board, and the script is served', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const page = await (await fetch(d.url, { headers: basic(USER, PASSWORD) })).text();
  const script = page.indexOf('<script src="stash-hooks/csrf.js"></script>');
  assert.ok(script > 0, 'script tag present');
  assert.ok(script < page.indexOf('<script defer'), "before bull-board's scripts");
  const js = await fetch(`${d.url}stash-hooks/csrf.js`, { headers: basic(USER, PASSWORD) });
  assert.is(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', 'javascript');
  assert.match(await js.text(), '"X-Stash-Hooks-CSRF"');
});

test('loopback without credentials: a foreign Host (DNS rebinding) is refused, loopback names pass', async () => {
  const d = await open();
  const port = new URL(d.url).port;
  for (const host of [`evil.example:${port}`, `rebind.attacker.test`, `10.0.0.5:${port}`, `127.0.0.1.nip.io:${port}`]) {
    const res = await raw(`${d.url}api/queues`, { headers: { host } });
    assert.is(res.status, 421, host);
    assert.match(res.body, 'answers only to a loopback Host', host);
    assert.not.match(res.body, '"queues"', host);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
    const res = await raw(`${d.url}api/queues`, { headers: { host } });
    assert.is(res.status, 200, host);
  }
  // The page itself too, not only the API.
  assert.is((await raw(d.url, { headers: { host: 'evil.example' } })).status, 421);
});

test('with credentials the Host is not restricted (a Service name or Ingress host is fine)', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const res = await raw(`${d.url}api/queues`, { headers: { ...basic(USER, PASSWORD), host: 'dashboard.stash-hooks.svc:3000' } });
  assert.is(res.status, 200);
});

test('failed logins are throttled per client address, with 429 and Retry-After', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD }, loginThrottle: { freeFailures: 3, baseDelayMs: 1500 } });
  const url = `${d.url}api/queues`;
  for (let i = 1; i <= 3; i++) {
    assert.is((await raw(url, { headers: basic(USER, `guess-${i}`) })).status, 401, `guess ${i}`);
  }
  // The fourth failure starts the lockout; from then on even the right password waits.
  assert.is((await raw(url, { headers: basic(USER, 'guess-4') })).status, 401);
  const locked = await raw(url, { headers: basic(USER, PASSWORD) });
  assert.is(locked.status, 429);
  assert.is(locked.headers['retry-after'], '2');
  assert.match(locked.body, 'too many failed logins');
  assert.is((await raw(url, { headers: basic(USER, 'guess-5') })).status, 429);
  // Another client address is not locked out by this one's guesses.
  const other = await raw(url, { headers: basic(USER, PASSWORD), localAddress: '127.0.0.2' });
  assert.is(other.status, 200);
  // A browser's first, credential-less request still gets the login prompt, not a 429.
  assert.is((await raw(url, {})).status, 401);
  // After the wait the right password gets in, and the next failure locks out for twice as long.
  await new Promise((r) => setTimeout(r, 1600));
  assert.is((await raw(url, { headers: basic(USER, 'guess-6') })).status, 401);
  const longer = await raw(url, { headers: basic(USER, PASSWORD) });
  assert.is(longer.status, 429);
  assert.is(longer.headers['retry-after'], '3');
});

test("a success clears the address's failures", async () => {
  const d = await open({ auth: { token: 'tkn-0123456789abcdef' }, loginThrottle: { freeFailures: 2, baseDelayMs: 60_000 } });
  const url = `${d.url}api/queues`;
  assert.is((await raw(url, { headers: { authorization: 'Bearer nope-1' } })).status, 401);
  assert.is((await raw(url, { headers: { authorization: 'Bearer tkn-0123456789abcdef' } })).status, 200);
  assert.is((await raw(url, { headers: { authorization: 'Bearer nope-2' } })).status, 401);
  assert.is((await raw(url, { headers: { authorization: 'Bearer nope-3' } })).status, 401);
  assert.is((await raw(url, { headers: { authorization: 'Bearer nope-4' } })).status, 401, 'third failure since the success');
  assert.is((await raw(url, { headers: { authorization: 'Bearer tkn-0123456789abcdef' } })).status, 429);
});

test('no X-Powered-By on any response, and no Redis server info anywhere', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const h = basic(USER, PASSWORD);
  const paths = [
    '',
    'api/queues',
    'api/queues?activeQueue=pre-backup&status=failed&page=1&jobsPerPage=10',
    `api/queues/pre-backup/${failedJobId}`,
    'api/redis/stats',
    'stash-hooks/csrf.js',
    'no-such-page',
    'static/js/none.js',
  ];
  const info = (await redis.info('server')).match(/redis_version:(\S+)/)![1];
  for (const path of paths) {
    const res = await raw(`${d.url}${path}`, { headers: h });
    assert.is(res.headers['x-powered-by'], undefined, `${path}: X-Powered-By`);
    assert.not.match(res.body, /redis_version|used_memory|tcp_port|connected_clients/, `${path}: Redis INFO`);
    if (path.startsWith('api/')) assert.not.match(res.body, `"version":"${info}"`, `${path}: Redis version`);
  }
  assert.is((await raw(`${d.url}api/redis/stats`, { headers: h })).status, 403);
  assert.is((await raw(`${d.url}api/queues`, {})).headers['x-powered-by'], undefined, 'not on a 401 either');
  // The page tells bull-board not to show the Redis panel.
  assert.match(await (await fetch(d.url, { headers: h })).text(), '"hideRedisDetails":true');
});

test.run();
