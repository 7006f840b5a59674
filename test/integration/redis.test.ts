import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { parseRedisUrl, createRedisClient, connectRedis, redisOptions, bullPrefix, describeRedisTarget } from '../../shared/redis.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const target = parseRedisUrl(URL);

test('a producer client talks to the real server', async () => {
  const client = await connectRedis(target, { purpose: 'producer', connectionName: 'stash-hooks-test' });
  try {
    assert.is(await client.ping(), 'PONG');
    const key = `stash-hooks-test:${randomUUID()}`;
    await client.set(key, 'v', 'EX', 10);
    assert.is(await client.get(key), 'v');
    await client.del(key);
  } finally {
    client.disconnect();
  }
});

test('a producer fails fast when Redis is down instead of queueing commands', async () => {
  const down = parseRedisUrl('redis://:hunter2@127.0.0.1:1');
  const client = createRedisClient(down, { purpose: 'producer' });
  client.on('error', () => {});
  try {
    await client.ping();
    assert.unreachable('ping to a closed port must fail');
  } catch (err) {
    assert.match(String((err as Error).message), /Stream isn't writeable|enableOfflineQueue/);
  } finally {
    client.disconnect();
  }
});

test('connecting to a Redis that is down names the server and the cause, never the password', async () => {
  try {
    await connectRedis(parseRedisUrl('redis://:hunter2@127.0.0.1:1'), { purpose: 'producer' }, 1500);
    assert.unreachable('must fail');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_REDIS');
    assert.match((err as Error).message, /^cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.not.match((err as Error).message, /hunter2/);
  }
  assert.is(describeRedisTarget(parseRedisUrl('rediss-sentinel://u:p@[::1]:26379,b/m')), 'rediss-sentinel://[::1]:26379,b:26379/m');
});

test('a worker client is patient: maxRetriesPerRequest is null, as BullMQ requires', () => {
  assert.is(redisOptions(target, { purpose: 'worker' }).maxRetriesPerRequest, null);
  assert.is(redisOptions(target, { purpose: 'producer' }).enableOfflineQueue, false);
});

test('user and password from the URL authenticate (a private ACL user, deleted after)', async () => {
  const admin = await connectRedis(target, { purpose: 'producer' });
  const user = `sh-test-${randomUUID().slice(0, 8)}`;
  const pass = `p@ss-${randomUUID()}`;
  try {
    await admin.call('ACL', 'SETUSER', user, 'on', `>${pass}`, '~stash-hooks-test:*', '+ping', '+set', '+get', '+del');
    const host = target.nodes[0];
    const ok = await connectRedis(parseRedisUrl(`redis://${user}:${encodeURIComponent(pass)}@${host.host}:${host.port}`), { purpose: 'producer' });
    try {
      assert.is(await ok.ping(), 'PONG');
    } finally {
      ok.disconnect();
    }
    const bad = createRedisClient(parseRedisUrl(`redis://${user}:wrong@${host.host}:${host.port}`), { purpose: 'producer' });
    const authError = await new Promise<Error>((resolve) => bad.once('error', resolve));
    bad.disconnect();
    assert.match(authError.message, /WRONGPASS|invalid username-password/);
  } finally {
    await admin.call('ACL', 'DELUSER', user);
    admin.disconnect();
  }
});

test('BullMQ runs a job over our clients with a private prefix, cleaned after', async () => {
  const prefix = `sh-test-${randomUUID().slice(0, 8)}`;
  // BullMQ does not close connections it was given: the test owns and closes them.
  const producer = createRedisClient(target, { purpose: 'producer' });
  const consumer = createRedisClient(target, { purpose: 'worker' });
  const queue = new Queue('redis-smoke', { connection: producer, prefix });
  const worker = new Worker('redis-smoke', async (job) => ({ echoed: job.data.n * 2 }), { connection: consumer, prefix });
  try {
    const done = new Promise<unknown>((resolve) => worker.on('completed', (_job, result) => resolve(result)));
    await queue.add('double', { n: 21 }, { jobId: 'smoke.1' });
    assert.equal(await done, { echoed: 42 });
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
  const probe = await connectRedis(target, { purpose: 'producer' });
  const left = await probe.keys(`${prefix}:*`);
  probe.disconnect();
  assert.equal(left, []);
});

test('the BullMQ prefix is hash-tagged on a Cluster only', () => {
  assert.is(bullPrefix('stash-hooks', { mode: 'cluster' }), '{stash-hooks}');
  assert.is(bullPrefix('{mine}', { mode: 'cluster' }), '{mine}');
  assert.is(bullPrefix('stash-hooks', { mode: 'standalone' }), 'stash-hooks');
  assert.is(bullPrefix('stash-hooks', { mode: 'sentinel' }), 'stash-hooks');
});

test('Sentinel URLs become ioredis sentinel options', () => {
  const o = redisOptions(parseRedisUrl('redis-sentinel://:pw@s1:26379,s2:26380/mymaster/2'), { purpose: 'worker' });
  assert.equal(o.sentinels, [
    { host: 's1', port: 26379 },
    { host: 's2', port: 26380 },
  ]);
  assert.is(o.name, 'mymaster');
  assert.is(o.db, 2);
  assert.is(o.password, 'pw');
  assert.is(o.sentinelPassword, 'pw');
});

test.run();
