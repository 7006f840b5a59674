// The Sessions routes of the dashboard over HTTP, against devcluster and real Redis: behind the
// same auth and headers as bull-board, read-only, clear errors for bad input, secrets redacted,
// the event stream of a finished session, and a hook's job times read from Redis.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { applyObjects, readManifests } from '../../cli/apply.js';
import { startDashboard, type Dashboard } from '../../dashboard/dashboard.js';
import { hookCondition } from '../../shared/conditions.js';
import { hookJobId, hookJobName, type HookJobData, type HookJobResult } from '../../shared/queues.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDIS = { host: '127.0.0.1', port: 6379 };
const prefix = `sh-test-sessions-${randomBytes(4).toString('hex')}`;
const auth = { user: 'ops', password: `pw-${randomBytes(6).toString('hex')}` };
const basic = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
let cluster: DevCluster;
let dashboard: Dashboard;
let redis: Redis;
let uid = '';

const GROUP = { group: 'stash.appscode.com', version: 'v1beta1', namespace: 'team-a' };

async function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(new URL(path, dashboard.url), { ...init, headers: { Authorization: basic, ...(init.headers ?? {}) } });
}

test.before(async () => {
  cluster = await startDevCluster({ executor: false });
  await applyObjects(cluster.kubeConfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
    ...readManifests(`${ROOT}k8s-manifests/base/crds/backupsessions.yaml`, `${ROOT}k8s-manifests/base/crds/restoresessions.yaml`),
  ]);
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const created = (await custom.createNamespacedCustomObject({
    ...GROUP,
    plural: 'backupsessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 'nightly', namespace: 'team-a' },
      spec: { invoker: { kind: 'BackupConfiguration', name: 'db' } },
    },
  })) as { metadata: { uid: string } & Record<string, unknown> };
  uid = created.metadata.uid;
  const failed = hookCondition('preBackup', 'local', { kind: 'failed', error: 'POST http://db:8080/lock: 500; Authorization: Bearer s3cr3t-token' });
  await custom.replaceNamespacedCustomObjectStatus({
    ...GROUP,
    plural: 'backupsessions',
    name: 'nightly',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: created.metadata,
      spec: { invoker: { kind: 'BackupConfiguration', name: 'db' } },
      status: {
        phase: 'Failed',
        sessionDuration: '3s',
        targets: [
          {
            ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'db' },
            phase: 'Failed',
            conditions: [{ ...failed, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }],
          },
        ],
      },
    },
  });
  await custom.createNamespacedCustomObject({
    ...GROUP,
    plural: 'restoresessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'restore-1', namespace: 'team-a' },
      spec: { target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'db' } } },
    },
  });

  // The hook's job, run by a real BullMQ worker, so its timestamps are BullMQ's own.
  redis = new Redis(REDIS);
  const data: HookJobData = {
    session: { kind: 'BackupSession', namespace: 'team-a', name: 'nightly', uid },
    hook: 'preBackup',
    scope: 'local',
    targetIndex: 0,
    target: { kind: 'Deployment', name: 'db' },
  };
  const queue = new Queue('pre-backup', { connection: REDIS, prefix });
  const worker = new Worker<HookJobData, HookJobResult>(
    'pre-backup',
    async () => {
      await new Promise((r) => setTimeout(r, 120));
      return {
        outcome: 'failed',
        message: 'x',
        hosts: [{ where: 'http://db:8080/lock', statusCode: 500, durationMs: 110, output: 'token=abc' }],
        durationMs: 120,
      };
    },
    { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix, autorun: false },
  );
  const done = new Promise<void>((resolve) => worker.on('completed', () => resolve()));
  await queue.add(hookJobName(data), data, { jobId: hookJobId(data) });
  void worker.run();
  await done;
  await worker.close();
  await queue.close();

  dashboard = await startDashboard({
    connection: `redis://${REDIS.host}:${REDIS.port}`,
    prefix,
    host: '127.0.0.1',
    port: 0,
    auth,
    discoverIntervalMs: 0,
    kubeConfig: cluster.kubeConfig,
  });
});

test.after(async () => {
  await dashboard?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await cluster?.close();
});

test('the Sessions page and its API need the same credentials as bull-board and send the same headers', async () => {
  for (const path of ['sessions', 'sessions/api/list', 'sessions/assets/sessions-timeline.js']) {
    const res = await fetch(new URL(path, dashboard.url));
    assert.is(res.status, 401, path);
  }
  const page = await get('sessions');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', "script-src 'self'");
  const html = await page.text();
  assert.match(html, '/sessions/assets/sessions-list.js');
  assert.not.match(html, /https?:\/\//, 'no external URL in the page');
  const js = await (await get('sessions/assets/sessions-timeline.js')).text();
  assert.not.match(js, /https?:\/\//, 'no external fetch from the script');
});

test('the list: newest first, filtered by namespace, phase and kind, with clear errors', async () => {
  const all = (await (await get('sessions/api/list')).json()) as {
    items: Array<{ name: string; kind: string; phase: string }>;
    total: number;
    namespaces: string[];
  };
  assert.equal(all.items.map((i) => i.name).sort(), ['nightly', 'restore-1']);
  assert.equal(all.namespaces, ['team-a']);
  const failed = (await (await get('sessions/api/list?phase=Failed')).json()) as { items: Array<{ name: string }> };
  assert.equal(
    failed.items.map((i) => i.name),
    ['nightly'],
  );
  const restores = (await (await get('sessions/api/list?kind=restoresession')).json()) as { items: Array<{ name: string }> };
  assert.equal(
    restores.items.map((i) => i.name),
    ['restore-1'],
  );
  const none = (await (await get('sessions/api/list?namespace=other')).json()) as { total: number };
  assert.is(none.total, 0);
  for (const [q, message] of [
    ['kind=pods', 'kind: "pods" is not backupsession or restoresession'],
    ['pageSize=1000', 'pageSize: "1000" is not an integer 1-200'],
    ['page=0', 'page: "0" is not a positive integer'],
  ]) {
    const res = await get(`sessions/api/list?${q}`);
    assert.is(res.status, 400, q);
    assert.is(((await res.json()) as { error: string }).error, message);
  }
});

test('a timeline: the condition says what failed (secrets masked), the job says when and where', async () => {
  const res = await get('sessions/api/timeline/backupsession/team-a/nightly');
  assert.is(res.status, 200);
  const body = await res.text();
  assert.not.match(body, 's3cr3t-token');
  assert.not.match(body, 'token=abc', 'hook output never reaches the page');
  const { timeline, jobsRead } = JSON.parse(body) as {
    jobsRead: boolean;
    timeline: {
      rows: Array<{
        label: string;
        bars: Array<{ label: string; outcome: string; message: string; where: string; startMs: number; endMs: number; source: string; job: { id: string } }>;
      }>;
    };
  };
  assert.ok(jobsRead);
  const pre = timeline.rows[0].bars[0];
  assert.equal([timeline.rows[0].label, pre.label, pre.outcome, pre.source, pre.where], ['Deployment/db', 'preBackup', 'failed', 'job', 'http://db:8080/lock']);
  assert.is(pre.message, 'Failed to execute preBackup hook. Reason: POST http://db:8080/lock: 500; Authorization: Bearer [redacted]');
  assert.ok(pre.endMs - pre.startMs >= 100, `the job ran ${pre.endMs - pre.startMs} ms`);
  assert.is(pre.job.id, `hook.preBackup.t0.${uid}`);

  const missing = await get('sessions/api/timeline/backupsession/team-a/nope');
  assert.is(missing.status, 404);
  assert.is(((await missing.json()) as { error: string }).error, 'BackupSession team-a/nope not found');
  const bad = await get('sessions/api/timeline/pods/team-a/x');
  assert.is(bad.status, 400);
});

test('the event stream of a finished session sends its timeline, then done, then ends', async () => {
  const res = await get('sessions/api/events/backupsession/team-a/nightly');
  assert.is(res.headers.get('content-type'), 'text/event-stream');
  const text = await res.text();
  const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
  assert.equal(events, ['timeline', 'done']);
});

test('read-only: nothing but GET is served', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await get('sessions/api/list', { method });
    // 403: the dashboard's CSRF guard refuses a state-changing request before any route sees it.
    assert.ok(res.status === 403 || res.status === 404 || res.status === 405, `${method} answered ${res.status}`);
  }
});

test.run();
