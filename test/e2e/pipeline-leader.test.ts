// Two watcher replicas with Lease election (DESIGN §6): exactly one leads and watches, sessions
// run their hooks once, and closing the leader hands the Lease to the standby, which carries on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { startPipeline, applySinkSession, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { Watcher } from '../../producers/watcher.js';
import { connectRedis } from '../../shared/redis.js';
import type { BackupSession } from '../../shared/resources.js';

const LEASE = 'stash-hooks-watcher-e2e';

let p: Pipeline;
const watchers: Watcher[] = [];
test.before(async () => {
  p = await startPipeline({ roles: false, verbose: !!process.env.VERBOSE });
  p.startRoles({ watcher: false });
});
test.after(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  await p?.close();
});

function replica(identity: 'a' | 'b', withLease = true, leaseName = LEASE): Watcher {
  const w = new Watcher({
    kubeConfig: p.kubeConfig,
    redis: p.redis,
    prefix: p.prefix,
    logger: p.logger,
    namespaces: [],
    watchdogSeconds: 60,
    resyncIntervalMs: 1000,
    ...(withLease ? { lease: { name: leaseName, namespace: 'default', identity, leaseDurationSeconds: 3, renewIntervalMs: 500, retryIntervalMs: 300 } } : {}),
  });
  watchers.push(w);
  return w;
}

async function runSession(ns: string): Promise<BackupSession> {
  await applySinkSession(p, ns);
  return (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
}

async function holder(): Promise<string | undefined> {
  const lease = await p.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: 'default' });
  return lease.spec?.holderIdentity;
}

/** Lifecycle jobs of one session, by type: each type must have been added once. */
async function lifecycleJobTypes(uid: string): Promise<string[]> {
  const client = await connectRedis(p.redis, { purpose: 'producer' });
  const q = new Queue('lifecycle', { connection: client, prefix: p.prefix });
  try {
    const jobs = await q.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
    return jobs
      .filter((j) => j.data.session.uid === uid)
      .map((j) => j.name)
      .sort();
  } finally {
    await q.close();
    client.disconnect();
  }
}

test('one leader watches, the standby does not; hooks run once; closing the leader hands over', async () => {
  const a = replica('a');
  const b = replica('b');
  a.start();
  b.start();
  await waitFor('a leader', () => a.isLeader || b.isLeader);
  // Let the loser retry a few times: it must stay a standby.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal([a.isLeader, b.isLeader].filter(Boolean).length, 1, 'exactly one leader');
  const [leader, standby] = a.isLeader ? [a, b] : [b, a];
  const [leaderId, standbyId] = a.isLeader ? ['a', 'b'] : ['b', 'a'];
  assert.ok(leader.isWatching, 'the leader watches');
  assert.not.ok(standby.isWatching, 'the standby does not');
  assert.is(await holder(), leaderId);

  const first = await runSession('lead1');
  assert.is(first.status?.phase, 'Succeeded', JSON.stringify(first.status));
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/lead1/')).map((r) => r.path),
    ['/lead1/pre', '/lead1/post'],
  );
  assert.equal(await lifecycleJobTypes(first.metadata.uid!), ['SessionObserved', 'TargetCompleted']);

  await leader.close();
  await waitFor('the standby to take over', () => standby.isLeader, 10_000);
  assert.ok(standby.isWatching);
  assert.is(await holder(), standbyId);

  const second = await runSession('lead2');
  assert.is(second.status?.phase, 'Succeeded', JSON.stringify(second.status));
  // The new leader's initial list saw the finished first session too: it must not re-run it.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(
    p.sink.requests.map((r) => r.path),
    ['/lead1/pre', '/lead1/post', '/lead2/pre', '/lead2/post'],
  );
  assert.equal(await lifecycleJobTypes(second.metadata.uid!), ['SessionObserved', 'TargetCompleted']);
});

test('even two watchers both watching (no Lease) publish nothing twice: deterministic job ids', async () => {
  for (const w of watchers.splice(0)) await w.close();
  const a = replica('a', false);
  const b = replica('b', false);
  a.start();
  b.start();
  assert.ok(a.isWatching && b.isWatching);
  const s = await runSession('nolease');
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  await new Promise((r) => setTimeout(r, 1500)); // both resync every second meanwhile
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/nolease/')).map((r) => r.path),
    ['/nolease/pre', '/nolease/post'],
  );
  assert.equal(await lifecycleJobTypes(s.metadata.uid!), ['SessionObserved', 'TargetCompleted']);
});

test('a Lease whose holder stopped renewing (a crashed replica) is taken over only once it expires', async () => {
  for (const w of watchers.splice(0)) await w.close();
  const name = `${LEASE}-ghost`;
  const leases = p.kubeConfig.makeApiClient(CoordinationV1Api);
  await leases.createNamespacedLease({
    namespace: 'default',
    body: {
      metadata: { name, namespace: 'default' },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 3, acquireTime: new Date(), renewTime: new Date(), leaseTransitions: 4 },
    },
  });
  const a = replica('a', true, name);
  a.start();
  await new Promise((r) => setTimeout(r, 1000));
  assert.not.ok(a.isLeader, 'a fresh Lease of another holder is respected');
  assert.not.ok(a.isWatching);
  await waitFor('the takeover', () => a.isLeader, 10_000);
  const lease = await leases.readNamespacedLease({ name, namespace: 'default' });
  assert.equal([lease.spec?.holderIdentity, lease.spec?.leaseTransitions], ['a', 5]);
  const s = await runSession('takeover');
  assert.is(s.status?.phase, 'Succeeded');
});

test.run();
