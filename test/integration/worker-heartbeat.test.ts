// workers/worker-heartbeat.ts against devcluster: a worker process's Lease is created, kept
// renewed past its duration, read by other workers to judge "is the worker that runs this hook
// alive", and deleted on shutdown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { heartbeatLeaseName, WorkerHeartbeat } from '../../workers/worker-heartbeat.js';
import { silentLogger } from '../../shared/logger.js';

let cluster: DevCluster;
test.before(async () => {
  cluster = await startDevCluster({ executor: false });
});
test.after(async () => {
  await cluster.close();
});

const heartbeat = (podName: string) =>
  new WorkerHeartbeat({ kubeConfig: cluster.kubeConfig, namespace: 'default', podName, logger: silentLogger(), leaseDurationSeconds: 2, renewIntervalMs: 400 });

test('a live worker stays alive past its Lease duration; a closed one and an unknown one are not', async () => {
  const a = heartbeat('worker-a');
  const b = heartbeat('worker-b');
  await Promise.all([a.start(), b.start()]);
  try {
    assert.match(a.worker, /^worker-a\/[0-9a-f]{8}$/);
    assert.ok(await b.isAlive(a.worker), 'alive right after start');
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(await b.isAlive(a.worker), 'still alive after more than its 2 s Lease: renewals land');
    assert.ok(a.healthy);
    const lease = await cluster.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: heartbeatLeaseName(a.worker), namespace: 'default' });
    assert.is(lease.spec?.holderIdentity, a.worker);
    assert.ok(Date.now() - new Date(lease.spec!.renewTime!).getTime() < 2000, 'renewTime is recent');
    assert.not.ok(await b.isAlive('worker-c/00000000'), 'a worker without a Lease is not alive');
    await a.close();
    assert.not.ok(await b.isAlive(a.worker), 'a closed worker deleted its Lease');
    assert.not.ok(await a.isAlive(a.worker), 'a closed worker is not alive to itself either');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('Lease names are valid DNS subdomains, whatever the pod name', () => {
  for (const name of ['Worker_1', 'pod.with.dots', '-x-', 'a'.repeat(300)]) {
    const n = heartbeatLeaseName(`${name}/0a1b2c3d`);
    assert.ok(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n) && n.length <= 253, n);
  }
});

test.run();
