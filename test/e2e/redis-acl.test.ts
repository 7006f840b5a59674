// The Redis ACL that docs/security.md recommends for production, proven on a private
// redis-server: the default user is off, and stash-hooks' user may touch only keys under its
// prefix and no dangerous command except the few BullMQ needs (INFO for the server version,
// CLIENT SETNAME/LIST for worker names). The whole pipeline (watcher, coordinator, hook workers)
// and the dashboard work as that user; KEYS, FLUSHALL, CONFIG and keys outside the prefix do not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startPipeline, appYaml, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import { freePort } from '../helpers/redis-servers.js';
import { startDashboard } from '../../dashboard/dashboard.js';

/**
 * The ACL rule of docs/security.md ("Redis"), with the prefix pattern the test harness uses
 * (`sh-test-…`) in place of `stash-hooks`.
 */
export const STASH_HOOKS_ACL = (password: string, prefix: string) =>
  `user stash-hooks on >${password} resetkeys ~${prefix}:* resetchannels &${prefix}:* ` +
  '-@all +@read +@write +@keyspace +@list +@hash +@set +@sortedset +@stream +@string +@bitmap ' +
  '+@scripting +@transaction +@connection +@pubsub +@fast +@slow -@dangerous -@admin +info +client|setname +client|list';

const PASSWORD = randomBytes(12).toString('hex');
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
let dir: string;
let child: ChildProcess;
let port: number;
let p: Pipeline | undefined;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redis-acl-'));
  port = await freePort();
  writeFileSync(
    join(dir, 'redis.conf'),
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'save ""',
      'appendonly no',
      `dir ${dir}`,
      'user default off',
      `user admin on >${ADMIN_PASSWORD} ~* &* +@all`,
      STASH_HOOKS_ACL(PASSWORD, 'sh-test-*'),
      '',
    ].join('\n'),
  );
  child = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const probe = new Redis({ port, username: 'admin', password: ADMIN_PASSWORD, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    const ok = await probe.connect().then(
      () => probe.ping(),
      () => undefined,
    );
    probe.disconnect();
    if (ok === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the ACL redis-server did not start');
});

test.after(async () => {
  if (p) {
    // The harness's cleanup uses KEYS, which this user may not run; the server dies anyway.
    await p.close().catch(async () => {
      await p!.sink.close().catch(() => {});
      await p!.cluster.close();
    });
  }
  child?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the pipeline and the dashboard work as the restricted user; nothing else does', async () => {
  const saved = process.env.REDIS_URL;
  process.env.REDIS_URL = `redis://stash-hooks:${PASSWORD}@127.0.0.1:${port}`;
  try {
    p = await startPipeline({ verbose: !!process.env.VERBOSE });
  } finally {
    if (saved === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = saved;
  }
  await p.apply(appYaml('acl', 'app'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: app-backup, namespace: acl}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkPost(p.sink, '/pre')}
    postBackup: ${sinkPost(p.sink, '/post')}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: s1, namespace: acl}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: app-backup}
`);
  const s = await p.waitForPhase('BackupSession', 'acl', 's1', 30_000);
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(p.sink.requests.map((r) => r.path).sort(), ['/post', '/pre']);

  // The dashboard as the same user: queues found by SCAN, job lists, worker list (CLIENT LIST).
  const d = await startDashboard({
    // The private ACL'd server, never REDIS_URL (CI exports the shared one).
    connection: `redis://stash-hooks:${PASSWORD}@127.0.0.1:${port}`,
    prefix: p.prefix,
    port: 0,
    discoverIntervalMs: 0,
  });
  try {
    const res = await fetch(`${d.url}api/queues?activeQueue=pre-backup&status=completed&page=1&jobsPerPage=10`);
    assert.is(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    assert.is(body.queues.find((q) => q.name === 'pre-backup')?.counts.completed, 1);
    assert.is((await fetch(`${d.url}api/queues/pre-backup/workers`)).status, 200);
  } finally {
    await d.close();
  }

  // What the user must not do.
  const user = new Redis({ port, username: 'stash-hooks', password: PASSWORD, maxRetriesPerRequest: 0 });
  try {
    for (const [what, call] of [
      ['a key outside the prefix', () => user.set('other-app:secret', 'x')],
      ['KEYS', () => user.keys('*')],
      ['FLUSHALL', () => user.flushall()],
      ['CONFIG GET', () => user.config('GET', 'requirepass')],
      ['ACL LIST', () => user.acl('LIST')],
      ['SHUTDOWN', () => user.call('SHUTDOWN', 'NOSAVE')],
    ] as const) {
      const err = await (call as () => Promise<unknown>)().then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, `${what} was allowed`);
      assert.match(err!.message, /NOPERM/, what);
    }
  } finally {
    user.disconnect();
  }
  // The default user (no password) is off.
  const anonymous = new Redis({ port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  const errors: string[] = [];
  anonymous.on('error', (e: Error) => errors.push(e.message));
  const refused = await anonymous
    .connect()
    .then(() => anonymous.get('x'))
    .then(
      () => undefined,
      (e: Error) => e,
    );
  anonymous.disconnect();
  assert.ok(refused, 'an anonymous GET was answered');
  assert.match([refused!.message, ...errors].join(' | '), /NOAUTH/);
});

test.run();
