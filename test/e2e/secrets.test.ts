// Secret hygiene (issue 8, DESIGN §10 "secrets stay out of Redis, logs and the dashboard"): a hook
// header comes from a Secret (secretKeyRef) and the same value reaches a template through
// `.Status.Error`; the hook endpoint echoes everything back (so the secret is in the hook's
// output) and one hook fails with it in the response. The hooks must really use the secret —
// the sink receives it — yet a scan of every Redis key under the prefix (strings, hashes, lists,
// sets, zsets, streams), every log line at debug level, every dashboard API response and every
// Kubernetes Event finds it zero times (plain or base64).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { startPipeline, appYaml, capturingLogger, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { startDashboard, type Dashboard } from '../../dashboard/dashboard.js';
import { connectRedis, bullPrefix } from '../../shared/redis.js';
import type { BackupSession } from '../../shared/resources.js';

const SECRET = 'sEcReT-7f3c9a1b-hygiene';
const FORMS = [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)];
const NS = 'secrets';

let p: Pipeline;
let echo: Server;
let echoPort = 0;
const received: Array<{ path: string; headers: Record<string, unknown>; body: string }> = [];
const logs: string[] = [];
let dashboard: Dashboard | undefined;
let dashboardRedis: Awaited<ReturnType<typeof connectRedis>> | undefined;

test.before(async () => {
  // Echoes the request (headers and body) in the response; /fail answers 500 with the same echo.
  echo = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.url?.startsWith('/fail') ? 500 : 200, { 'content-type': 'text/plain' }).end(`you sent ${JSON.stringify(req.headers)} ${body}`);
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  p = await startPipeline({ logger: capturingLogger(logs), concurrency: 5, defaultHookTimeoutSeconds: 10 });
  dashboardRedis = await connectRedis(p.redis, { purpose: 'worker' });
  dashboard = await startDashboard({ connection: dashboardRedis, prefix: bullPrefix(p.prefix, p.redis), port: 0, discoverIntervalMs: 200, logger: p.logger });
});
test.after(async () => {
  await dashboard?.close();
  dashboardRedis?.disconnect();
  await p?.close();
  echo?.closeAllConnections();
  await new Promise((r) => echo?.close(r));
});

/** Every value stored under the prefix, whatever its type. */
async function redisDump(): Promise<string[]> {
  const c = await connectRedis(p.redis, { purpose: 'producer' });
  const out: string[] = [];
  try {
    for (const key of await c.keys(`${bullPrefix(p.prefix, p.redis)}:*`)) {
      const type = await c.type(key);
      out.push(key);
      if (type === 'string') out.push((await c.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await c.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await c.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await c.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await c.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await c.xrange(key, '-', '+')));
      else out.push(`<unscanned type ${type}>`);
    }
  } finally {
    c.disconnect();
  }
  return out;
}

async function dashboardDump(): Promise<string[]> {
  const out: string[] = [];
  const get = async (path: string) => {
    const r = await fetch(`${dashboard!.url}${path}`);
    out.push(await r.text());
  };
  await get('api/queues');
  for (const q of dashboard!.queueNames()) {
    for (const status of ['latest', 'active', 'waiting', 'completed', 'failed', 'delayed', 'prioritized', 'paused', 'waiting-children']) {
      await get(`api/queues?activeQueue=${encodeURIComponent(q)}&status=${status}&page=1&jobsPerPage=1000`);
    }
  }
  return out;
}

const count = (hay: string[]) => FORMS.reduce((n, f) => n + hay.reduce((m, h) => m + h.split(f).length - 1, 0), 0);

test('a secret used by hooks is found zero times in Redis, logs, the dashboard API and Events', async () => {
  const failed = appYaml(NS, 'app', {
    annotations: { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': `disk full token=${SECRET}` },
  });
  await p.apply(failed);
  await p.apply(`
apiVersion: v1
kind: Secret
metadata: {name: hook-token, namespace: ${NS}, labels: {stash-hooks.dev/hook-secret: "true"}}
stringData: {token: ${SECRET}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${NS}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup:
      httpPost:
        host: 127.0.0.1
        port: ${echoPort}
        path: /pre
        httpHeaders: [{name: X-Token, valueFrom: {secretKeyRef: {name: hook-token, key: token}}}]
        body: 'session {{ .Name }}'
    postBackup:
      executionPolicy: Always
      httpPost:
        host: 127.0.0.1
        port: ${echoPort}
        path: /fail/post
        httpHeaders: [{name: X-Token, valueFrom: {secretKeyRef: {name: hook-token, key: token}}}]
        body: 'error was {{ .Status.Error }}'
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${NS}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
  const s = await p.waitForPhase('BackupSession', NS, 'cfg-1', 30_000);
  assert.is(s.status?.phase, 'Failed');
  // The hooks really used the secret: header on both, the template value in the post body.
  assert.equal(
    received.map((r) => [r.path, r.headers['x-token']]),
    [
      ['/pre', SECRET],
      ['/fail/post', SECRET],
    ],
  );
  assert.ok(received[1].body.includes(SECRET), received[1].body);
  // Once the dashboard has discovered every queue the run used, scan everything.
  await waitFor('the dashboard discovered the queues of the run', () =>
    ['lifecycle', 'coordinator', 'pre-backup', 'post-backup'].every((q) => dashboard!.queueNames().includes(q)),
  );
  const events = await p.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NS });
  const eventText = events.items.map((e) => JSON.stringify(e));
  const redis = await redisDump();
  const board = await dashboardDump();
  assert.ok(redis.length > 10, 'Redis holds the run (the scan is not vacuous)');
  assert.ok(
    redis.some((x) => x.includes('you sent')),
    'the echoed output (which carried the secret) is stored, redacted',
  );
  assert.ok(
    board.some((b) => b.includes('cfg-1')),
    'the dashboard shows the run',
  );
  assert.ok(
    logs.some((l) => l.includes('cfg-1')),
    'the logs mention the session',
  );
  assert.ok(
    eventText.some((e) => e.includes('HookFailed')),
    'the failed hook has an Event',
  );
  const where = { redis: count(redis), logs: count(logs), dashboard: count(board), events: count(eventText) };
  const show = (list: string[]) => list.filter((x) => FORMS.some((f) => x.includes(f))).map((x) => x.slice(0, 400));
  assert.equal(
    where,
    { redis: 0, logs: 0, dashboard: 0, events: 0 },
    JSON.stringify({ redis: show(redis), logs: show(logs), dashboard: show(board), events: show(eventText) }, null, 1).slice(0, 4000),
  );
});

test('a Secret printed by exec (pre succeeds, post fails) is absent from Redis, the status, Events and logs', async () => {
  const ns = 'secrets-exec';
  const printIt = (exit: number) =>
    JSON.stringify(['sh', '-c', `echo "starting; DB_PASSWORD=$DB_PASSWORD"; echo "login with $DB_PASSWORD failed" >&2; exit ${exit}`]);
  await p.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: Secret
metadata: {name: db-creds, namespace: ${ns}, labels: {stash-hooks.dev/hook-secret: "true"}}
stringData: {password: ${SECRET}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          image: mysql
          env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-creds, key: password}}}]
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}}
  hooks:
    preBackup:
      exec: {command: ${printIt(0)}}
      httpPost:
        host: 127.0.0.1
        port: ${echoPort}
        path: /exec-pre
        body: x
        httpHeaders: [{name: X-Password, valueFrom: {secretKeyRef: {name: db-creds, key: password}}}]
    postBackup:
      executionPolicy: Always
      exec: {command: ${printIt(1)}}
      httpPost:
        host: 127.0.0.1
        port: ${echoPort}
        path: /never
        body: x
        httpHeaders: [{name: X-Password, valueFrom: {secretKeyRef: {name: db-creds, key: password}}}]
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1', 30_000)) as BackupSession;
  const conditions = s.status?.targets?.[0]?.conditions ?? [];
  const pre = conditions.find((c) => c.type === 'PreBackupHookExecutionSucceeded');
  const post = conditions.find((c) => c.type === 'PostBackupHookExecutionSucceeded');
  // The exec really printed the password (it is redacted where the output is kept: the failure).
  assert.is(pre?.status, 'True', JSON.stringify(s.status));
  assert.is(post?.status, 'False');
  assert.match(
    post?.message ?? '',
    /exec failed on 2 of 2 hosts: exec in pod secrets-exec\/db-[^ ]+ container db exited with code 1: login with \[REDACTED\] failed/,
  );
  assert.is(received.filter((r) => r.path === '/exec-pre').length, 1);
  assert.equal(
    received.filter((r) => r.path === '/never'),
    [],
    'the failed exec stopped the hook before its HTTP action',
  );
  await new Promise((r) => setTimeout(r, 300));
  const events = await p.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
  const eventText = events.items.map((e) => JSON.stringify(e));
  const redis = await redisDump();
  const status = [JSON.stringify(s)];
  assert.ok(
    redis.some((x) => x.includes(`${ns}`)),
    'Redis holds this run (the scan is not vacuous)',
  );
  assert.ok(
    eventText.some((e) => e.includes('[REDACTED]')),
    "the failed hook's Event quotes the redacted output",
  );
  const where = { redis: count(redis), logs: count(logs), status: count(status), events: count(eventText) };
  assert.equal(where, { redis: 0, logs: 0, status: 0, events: 0 });
});

test('a Secret without the hook-secret label is refused before any action runs', async () => {
  const ns = 'secrets-unlabeled';
  await p.apply(appYaml(ns, 'app'));
  await p.apply(`
apiVersion: v1
kind: Secret
metadata: {name: kubeconfig, namespace: ${ns}}
stringData: {token: not-for-hooks}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup:
      exec: {command: ["node", "-e", "fetch('http://127.0.0.1:${echoPort}/unlabeled-exec', {method: 'POST', body: 'ran'})"]}
      httpPost:
        host: 127.0.0.1
        port: ${echoPort}
        path: /unlabeled
        body: x
        httpHeaders: [{name: Authorization, valueFrom: {secretKeyRef: {name: kubeconfig, key: token}}}]
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`);
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1', 30_000)) as BackupSession;
  const pre = s.status?.targets?.[0]?.conditions?.find((c) => c.type === 'PreBackupHookExecutionSucceeded');
  assert.is(pre?.status, 'False');
  assert.is(
    pre?.message,
    `Failed to execute preBackup hook. Reason: httpPost.httpHeaders[0] (Authorization): Secret ${ns}/kubeconfig is not a hook secret; ` +
      `label it stash-hooks.dev/hook-secret: "true" to let hooks use it (kubectl label secret -n ${ns} kubeconfig stash-hooks.dev/hook-secret=true)`,
  );
  assert.equal(
    received.filter((r) => r.path.startsWith('/unlabeled')),
    [],
    'neither the exec nor the request ran',
  );
});

test.run();
