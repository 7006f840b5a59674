// The pipeline's end-to-end smoke test (a BackupConfiguration session with a pre and a post hook
// ends Succeeded, each hook run once) against each Redis topology the product supports, on
// private servers this file starts and kills: a 3-master Cluster, a master behind a Sentinel,
// and a TLS-only server with a self-signed CA (skipped, with the reason, on a build without TLS).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import { startRedisCluster, startRedisSentinel, startRedisTls, redisTlsUnsupported } from '../helpers/redis-servers.js';
import { parseRedisUrl, connectRedis, bullPrefix } from '../../shared/redis.js';
import { skipUnless } from '../helpers/skip.js';

/**
 * The harness's close() cleans Redis with the plain prefix, which on a Cluster fails with
 * CROSSSLOT before it closes the sink and devcluster; the servers die with the test anyway, so
 * the rest is closed here.
 */
async function closePipeline(p: Pipeline | undefined): Promise<void> {
  if (!p) return;
  await p.close().catch(async () => {
    await p.sink.close().catch(() => {});
    await p.cluster.close();
  });
}

async function smoke(redisUrl: string, caFile?: string): Promise<{ p: Pipeline; keys: string[] }> {
  const saved = process.env.REDIS_URL;
  process.env.REDIS_URL = redisUrl;
  let p: Pipeline;
  try {
    p = await startPipeline({ roles: false, verbose: !!process.env.VERBOSE });
  } finally {
    if (saved === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = saved;
  }
  // The roles read the CA from the target (REDIS_CA_FILE in the CLI).
  if (caFile) p.redis.caFile = caFile;
  p.startRoles();
  await p.apply(appYaml('topo', 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: app-backup, namespace: topo}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkPost(p.sink, '/pre/{{ .Name }}')}
    postBackup: ${sinkPost(p.sink, '/post/{{ .Name }}')}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: s1, namespace: topo}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: app-backup}
`);
  const s = await p.waitForPhase('BackupSession', 'topo', 's1', 30_000);
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(p.sink.requests.map((r) => `${r.path} ${r.body}`).sort(), ['/post/s1 Succeeded', '/pre/s1 Succeeded']);
  const client = await connectRedis(p.redis, { purpose: 'producer', tlsCaFile: caFile });
  let keys: string[] = [];
  try {
    const nodes = 'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client];
    for (const n of nodes) keys.push(...(await n.keys(`${bullPrefix(p.prefix, p.redis)}:*`)));
  } finally {
    client.disconnect();
  }
  return { p, keys };
}

test('Redis Cluster (3 masters): the smoke session succeeds and every queue key shares the hash-tagged prefix', async () => {
  const cluster = await startRedisCluster(3);
  let p: Pipeline | undefined;
  try {
    const r = await smoke(cluster.url);
    p = r.p;
    assert.ok(r.keys.length > 0, 'queue keys exist');
    assert.ok(
      r.keys.every((k) => k.startsWith(`{${p!.prefix}}:`)),
      r.keys.slice(0, 5).join(' '),
    );
  } finally {
    await closePipeline(p);
    await cluster.stop();
  }
});

test('Redis Sentinel: the smoke session succeeds through the Sentinel-resolved master', async () => {
  const s = await startRedisSentinel('mymaster');
  let p: Pipeline | undefined;
  try {
    const r = await smoke(s.url);
    p = r.p;
    assert.ok(r.keys.length > 0);
  } finally {
    await closePipeline(p);
    await s.stop();
  }
});

// A redis-server without TLS cannot run these: they are counted as skipped, with the reason.
const tlsTest = skipUnless(await redisTlsUnsupported());

tlsTest('TLS (rediss://, self-signed CA): the smoke session succeeds', async () => {
  const tls = await startRedisTls();
  let p: Pipeline | undefined;
  try {
    const r = await smoke(tls.url, tls.caFile);
    p = r.p;
    assert.ok(r.keys.length > 0);
  } finally {
    await closePipeline(p);
    await tls.stop();
  }
});

tlsTest('TLS: a client without the CA is refused (the certificate is really verified)', async () => {
  const tls = await startRedisTls();
  try {
    const err = await connectRedis(parseRedisUrl(tls.url), { purpose: 'producer' }, 2000).then(
      (c) => (c.disconnect(), undefined),
      (e: Error) => e,
    );
    assert.ok(err, 'connection without the CA must fail');
    assert.match(err!.message, /cannot connect to Redis at rediss:\/\/127\.0\.0\.1/);
  } finally {
    await tls.stop();
  }
});

test.run();
