// The health and metrics server, over real HTTP on loopback: what a kubelet probe and a
// Prometheus scrape see.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { createMetrics, queueDepthsFrom } from '../../shared/metrics.js';
import { readinessFromChecks, startOpsServer, type Readiness } from '../../shared/ops-server.js';

test('/healthz is 200 and unknown paths are 404', async () => {
  const server = await startOpsServer({ host: '127.0.0.1', port: 0, registry: new Registry() });
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.is(health.status, 200);
    assert.is(await health.text(), 'ok\n');
    const missing = await fetch(`${server.url}/nope`);
    assert.is(missing.status, 404);
    const post = await fetch(`${server.url}/healthz`, { method: 'POST' });
    assert.is(post.status, 405);
  } finally {
    await server.close();
  }
});

test('/readyz follows the readiness function and reports its checks', async () => {
  let state: Readiness = { ready: false, checks: { redis: 'connect ECONNREFUSED 127.0.0.1:1', kubernetes: 'ok' } };
  const server = await startOpsServer({ port: 0, registry: new Registry(), readiness: async () => state });
  try {
    const notReady = await fetch(`${server.url}/readyz`);
    assert.is(notReady.status, 503);
    assert.equal(await notReady.json(), state);
    state = { ready: true, checks: { redis: 'ok', kubernetes: 'ok' } };
    const ready = await fetch(`${server.url}/readyz`);
    assert.is(ready.status, 200);
    assert.equal(await ready.json(), state);
  } finally {
    await server.close();
  }
});

test('/readyz is 503 when readiness throws or never answers', async () => {
  let mode: 'throw' | 'hang' = 'throw';
  const server = await startOpsServer({
    port: 0,
    registry: new Registry(),
    readinessTimeoutMs: 200,
    readiness: () => (mode === 'throw' ? Promise.reject(new Error('informers not synced')) : new Promise(() => {})),
  });
  try {
    const thrown = await fetch(`${server.url}/readyz`);
    assert.is(thrown.status, 503);
    assert.equal(await thrown.json(), { ready: false, checks: { readiness: 'informers not synced' } });
    mode = 'hang';
    const hung = await fetch(`${server.url}/readyz`);
    assert.is(hung.status, 503);
    assert.match((await hung.json()).checks.readiness, /no answer within 200 ms/);
  } finally {
    await server.close();
  }
});

test('readinessFromChecks names the failing check', async () => {
  const readiness = readinessFromChecks({
    redis: async () => 'PONG',
    kubernetes: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    },
  });
  assert.equal(await readiness(), { ready: false, checks: { redis: 'ok', kubernetes: 'connect ECONNREFUSED 127.0.0.1:6443' } });
});

test('/metrics serves the hook, dispatch, queue, watcher and leader metrics', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { defaultMetrics: false });
  metrics.recordHook({ phase: 'preBackup', scope: 'local', action: 'httpGet', result: 'succeeded' }, 0.2);
  metrics.recordHook({ phase: 'preBackup', scope: 'local', action: 'httpGet', result: 'succeeded' }, 0.3);
  metrics.recordHook({ phase: 'postBackup', scope: 'global', action: 'exec', result: 'failed' }, 2);
  metrics.recordDispatch({ phase: 'preBackup', scope: 'local' }, 1_000, 1_040);
  metrics.watcherEvents.inc({ type: 'ADDED' });
  metrics.watcherRestarts.inc({ reason: 'gone' });
  metrics.leader.set(1);
  const fakeQueue = (name: string, counts: Record<string, number>) => ({ name, getJobCounts: async () => counts });
  let counts = { waiting: 3, active: 1, completed: 7 };
  metrics.setQueueDepthSource(queueDepthsFrom([fakeQueue('pre-backup', counts), fakeQueue('post-backup', { waiting: 0 })]));

  const server = await startOpsServer({ port: 0, registry });
  try {
    const res = await fetch(`${server.url}/metrics`);
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const body = await res.text();
    assert.match(body, 'stash_hooks_hooks_total{phase="preBackup",scope="local",action="httpGet",result="succeeded"} 2');
    assert.match(body, 'stash_hooks_hooks_total{phase="postBackup",scope="global",action="exec",result="failed"} 1');
    assert.match(body, 'stash_hooks_hook_duration_seconds_count{phase="preBackup",scope="local",action="httpGet",result="succeeded"} 2');
    assert.match(body, 'stash_hooks_hook_duration_seconds_sum{phase="preBackup",scope="local",action="httpGet",result="succeeded"} 0.5');
    assert.match(body, 'stash_hooks_dispatch_latency_seconds_bucket{le="0.05",phase="preBackup",scope="local"} 1');
    assert.match(body, 'stash_hooks_queue_depth{queue="pre-backup",state="waiting"} 3');
    assert.match(body, 'stash_hooks_queue_depth{queue="post-backup",state="waiting"} 0');
    assert.match(body, 'stash_hooks_watcher_events_total{type="ADDED"} 1');
    assert.match(body, 'stash_hooks_watcher_restarts_total{reason="gone"} 1');
    assert.match(body, /^stash_hooks_leader 1$/m);

    // Depths are read at scrape time, and a failing source empties the gauge instead of a 500.
    counts.waiting = 0;
    metrics.setQueueDepthSource(async () => {
      throw new Error('redis down');
    });
    const again = await fetch(`${server.url}/metrics`);
    assert.is(again.status, 200);
    assert.not.match(await again.text(), /stash_hooks_queue_depth\{/);
  } finally {
    await server.close();
  }
});

test('default process metrics carry the product prefix', async () => {
  const registry = new Registry();
  createMetrics(registry);
  const server = await startOpsServer({ port: 0, registry });
  try {
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^stash_hooks_process_cpu_seconds_total /m);
  } finally {
    await server.close();
  }
});

test('a port in use is a clear error; close is idempotent', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    await startOpsServer({ port, registry: new Registry() }).then(
      () => assert.unreachable('should not bind a port in use'),
      (err: NodeJS.ErrnoException) => assert.is(err.code, 'EADDRINUSE'),
    );
  } finally {
    blocker.close();
  }
  const server = await startOpsServer({ port: 0, registry: new Registry() });
  await Promise.all([server.close(), server.close()]);
  await server.close();
  try {
    await startOpsServer({ port: 70000, registry: new Registry() });
    assert.unreachable('port 70000 accepted');
  } catch (err) {
    assert.match((err as Error).message, /port must be an integer 0-65535/);
  }
});

test.run();
