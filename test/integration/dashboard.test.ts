// The dashboard over real Redis and real HTTP, without a browser: who gets in, what they see,
// and that a read-only board refuses to change anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startDashboard, type Dashboard } from '../../dashboard/dashboard.js';
import { isLoopbackHost } from '../../dashboard/auth.js';
import { readableJobName } from '../../dashboard/job-view.js';
import { hookJobId, hookJobName, type HookJobData, type HookJobResult } from '../../shared/queues.js';

const REDIS = { host: '127.0.0.1', port: 6379 };
const prefix = `sh-test-dash-${randomBytes(4).toString('hex')}`;
const USER = 'ops';
const PASSWORD = 'correct horse battery staple';
// What a state-changing request must carry (dashboard/request-guard.ts).
const JSON_MUTATION = { 'content-type': 'application/json', 'x-stash-hooks-csrf': '1' };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

const hookData: HookJobData = {
  session: { kind: 'BackupSession', namespace: 'demo', name: 'app-backup-1700000000', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' },
  hook: 'preBackup',
  scope: 'local',
  targetIndex: 0,
  target: { kind: 'Deployment', name: 'app' },
};
const jobId = hookJobId(hookData);
const result: HookJobResult = {
  outcome: 'succeeded',
  message: 'Successfully executed preBackup hook.',
  hosts: [{ where: 'demo/app-7d4b9c-x2x9z', statusCode: 200, durationMs: 14, output: 'HTTP 200 OK; echoed Authorization: Bearer s3cr3t-t0ken-value' }],
  durationMs: 15,
};

let redis: Redis;
const opened: Dashboard[] = [];

async function open(options: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<Dashboard> {
  const d = await startDashboard({ connection: `redis://${REDIS.host}:${REDIS.port}`, prefix, host: '127.0.0.1', port: 0, discoverIntervalMs: 0, ...options });
  opened.push(d);
  return d;
}

test.before(async () => {
  redis = new Redis(REDIS);
  // A completed hook job, processed by a real BullMQ worker, and a failed one whose error text
  // carries a credential.
  const queue = new Queue('pre-backup', { connection: REDIS, prefix });
  const worker = new Worker<HookJobData, HookJobResult>(
    'pre-backup',
    async (job) => {
      if (job.data.targetIndex === 1) throw new Error('GET https://admin:hunter2@db.demo.svc/flush returned 500');
      return result;
    },
    { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix },
  );
  const done = new Promise<void>((resolve) => {
    let n = 0;
    const tick = () => ++n === 2 && resolve();
    worker.on('completed', tick);
    worker.on('failed', tick);
  });
  await queue.add(hookJobName(hookData), hookData, { jobId });
  const failing = { ...hookData, targetIndex: 1, target: { kind: 'Deployment', name: 'db' } };
  await queue.add(hookJobName(failing), failing, { jobId: hookJobId(failing) });
  await done;
  await worker.close();
  await queue.close();
  // A queue the product does not know about, created under the same prefix.
  const extra = new Queue('custom-notify', { connection: REDIS, prefix });
  await extra.add('ping', {});
  await extra.close();
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

test('basic auth: 401 without or with wrong credentials, 200 with them', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const anonymous = await fetch(`${d.url}api/queues`);
  assert.is(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="stash-hooks dashboard"/);
  const page = await fetch(d.url);
  assert.is(page.status, 401, 'the UI itself is protected, not only the API');
  assert.is((await fetch(`${d.url}api/queues`, { headers: basic(USER, 'wrong') })).status, 401);
  assert.is((await fetch(`${d.url}api/queues`, { headers: basic('root', PASSWORD) })).status, 401);
  assert.is((await fetch(`${d.url}api/queues`, { headers: { authorization: `Bearer ${PASSWORD}` } })).status, 401);
  const ok = await fetch(`${d.url}api/queues`, { headers: basic(USER, PASSWORD) });
  assert.is(ok.status, 200);
});

test('bearer token: only the right token gets in', async () => {
  const d = await open({ auth: { token: 'tkn-0123456789abcdef' } });
  assert.is((await fetch(`${d.url}api/queues`)).status, 401);
  assert.is((await fetch(`${d.url}api/queues`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  assert.is((await fetch(`${d.url}api/queues`, { headers: { authorization: 'Bearer tkn-0123456789abcdef' } })).status, 200);
});

test('shows every queue of the prefix, readable job names and redacted results', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const res = await fetch(`${d.url}api/queues?activeQueue=pre-backup&status=latest&page=1&jobsPerPage=10`, { headers: basic(USER, PASSWORD) });
  const body = (await res.json()) as {
    queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: Array<Record<string, unknown>> }>;
  };
  const names = body.queues.map((q) => q.name).sort();
  assert.equal(names, ['coordinator', 'custom-notify', 'lifecycle', 'post-backup', 'post-restore', 'pre-backup', 'pre-restore']);
  const pre = body.queues.find((q) => q.name === 'pre-backup')!;
  assert.ok(pre.readOnlyMode);
  assert.is(pre.counts.completed, 1);
  assert.is(pre.counts.failed, 1);
  const completed = pre.jobs.find((j) => j.id === jobId)!;
  assert.is(completed.name, 'preBackup demo/app-backup-1700000000 Deployment/app');
  const shown = JSON.stringify(pre.jobs);
  assert.not.match(shown, 's3cr3t-t0ken-value');
  assert.not.match(shown, 'hunter2');
  assert.equal(completed.returnValue, {
    ...result,
    hosts: [{ ...result.hosts[0], output: 'HTTP 200 OK; echoed Authorization: Bearer [redacted]' }],
  });
  const failed = pre.jobs.find((j) => j.id !== jobId)!;
  assert.is(failed.failedReason, 'GET https://admin:[redacted]@db.demo.svc/flush returned 500');

  const one = await fetch(`${d.url}api/queues/pre-backup/${jobId}`, { headers: basic(USER, PASSWORD) });
  assert.is(one.status, 200);
  assert.not.match(await one.text(), 's3cr3t-t0ken-value');
  // The flow view makes bull-board build a FlowProducer over the queue's bullmq 6 backend.
  const flow = await fetch(`${d.url}api/queues/pre-backup/${jobId}/flow`, { headers: basic(USER, PASSWORD) });
  assert.is(flow.status, 200);
  const tree = (await flow.json()) as { flowRoot: { id: string; name: string; state: string } };
  assert.equal([tree.flowRoot.id, tree.flowRoot.name, tree.flowRoot.state], [jobId, 'preBackup demo/app-backup-1700000000 Deployment/app', 'completed']);
});

test('read-only by default: retry, clean and remove are refused and change nothing', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD } });
  const h = basic(USER, PASSWORD);
  const failedId = hookJobId({ ...hookData, targetIndex: 1 });
  for (const [method, path] of [
    ['PUT', 'api/queues/pre-backup/retry/failed'],
    ['PUT', 'api/queues/pre-backup/clean/completed'],
    ['PUT', `api/queues/pre-backup/${failedId}/retry`],
    ['PUT', `api/queues/pre-backup/${jobId}/clean`],
    ['PUT', 'api/queues/pre-backup/empty'],
    ['PUT', 'api/queues/pre-backup/obliterate'],
  ] as const) {
    // With the CSRF header and a JSON body, so what refuses it is the read-only mode.
    const res = await fetch(`${d.url}${path}`, { method, headers: { ...h, ...JSON_MUTATION }, body: '{}' });
    assert.is(res.status, 405, `${method} ${path}`);
    assert.equal(await res.json(), { error: { key: 'ERRORS.QUEUE_READ_ONLY' } });
  }
  const queue = new Queue('pre-backup', { connection: REDIS, prefix });
  try {
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting');
    assert.equal(counts, { completed: 1, failed: 1, waiting: 0 });
  } finally {
    await queue.close();
  }
});

test('allowActions: the same job clean call works', async () => {
  const d = await open({ auth: { user: USER, password: PASSWORD }, allowActions: true });
  // (Queue-wide clean spares jobs younger than bull-board's 5 s grace time; a job clean does not.)
  const failedId = hookJobId({ ...hookData, targetIndex: 1 });
  const res = await fetch(`${d.url}api/queues/pre-backup/${failedId}/clean`, {
    method: 'PUT',
    headers: { ...basic(USER, PASSWORD), ...JSON_MUTATION },
    body: '{}',
  });
  assert.ok(res.status < 300, `status ${res.status}`);
  const queue = new Queue('pre-backup', { connection: REDIS, prefix });
  try {
    assert.equal(await queue.getJobCounts('completed', 'failed'), { completed: 1, failed: 0 });
  } finally {
    await queue.close();
  }
});

test('refuses to listen beyond loopback without credentials', async () => {
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'dashboard.example.internal']) {
    try {
      await open({ host });
      assert.unreachable(`started on ${host} without credentials`);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_CONFIG');
      assert.match((err as Error).message, `refusing to listen on ${host} without credentials`);
      assert.match((err as Error).message, 'STASH_HOOKS_DASHBOARD_PASSWORD');
    }
  }
  try {
    await open({ host: '0.0.0.0', auth: { user: USER, password: '' } });
    assert.unreachable('accepted an empty password');
  } catch (err) {
    assert.match((err as Error).message, 'STASH_HOOKS_DASHBOARD_PASSWORD');
  }
  // On loopback it may run open.
  const d = await open({ host: '127.0.0.1' });
  assert.is((await fetch(`${d.url}api/queues`)).status, 200);
});

test('a client passed in is used and left open for its owner', async () => {
  const client = new Redis(REDIS);
  const d = await startDashboard({ connection: client, prefix, host: '127.0.0.1', port: 0, discoverIntervalMs: 0 });
  const res = await fetch(`${d.url}api/queues`);
  assert.is(res.status, 200);
  assert.ok(d.queueNames().includes('custom-notify'), 'discovered through the given client');
  await d.close();
  assert.is(await client.ping(), 'PONG');
  client.disconnect();
});

test('starts without Redis, shows the known queues, and fails requests, not the process', async () => {
  // Port 1 on loopback: nothing listens, so every Redis call fails fast.
  const d = await open({ connection: { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null } });
  assert.equal([...d.queueNames()].sort(), ['coordinator', 'lifecycle', 'post-backup', 'post-restore', 'pre-backup', 'pre-restore']);
  const res = await fetch(`${d.url}api/queues`);
  assert.ok(res.status >= 500, `status ${res.status}`);
  await d.close();
});

test('loopback detection', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.1', 'example.com', '128.0.0.1']) assert.not.ok(isLoopbackHost(h), h);
});

test('names built from data when a producer gave a bare name', () => {
  assert.is(readableJobName({ name: 'hook', data: hookData }), 'preBackup demo/app-backup-1700000000 Deployment/app');
  assert.is(readableJobName({ name: 'hook', data: { ...hookData, scope: 'global', target: undefined } }), 'preBackup demo/app-backup-1700000000 global');
  assert.is(
    readableJobName({ name: 'TargetCompleted', data: { type: 'TargetCompleted', session: hookData.session, targetIndex: 2, observedAt: 1 } }),
    'TargetCompleted demo/app-backup-1700000000 target 2',
  );
  assert.is(readableJobName({ name: 'ping', data: {} }), 'ping');
});

test.run();
