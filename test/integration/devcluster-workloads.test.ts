// Workload controllers: Running pods with distinct bindable loopback IPs, replicas followed,
// StatefulSet pod names, Endpoints over ready pods, owner references and garbage collection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { eventually } from '../fixtures/devcluster/helpers.js';

let cluster: DevCluster;
let core: CoreV1Api;
let apps: AppsV1Api;

test.before(async () => {
  cluster = await startDevCluster({ executor: false });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
});

test.after(async () => {
  await cluster.close();
});

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: `${app}:1`, ports: [{ name: 'http', containerPort: 8080 }] }] },
});

async function podsOf(selector: string, n: number): Promise<V1Pod[]> {
  return eventually(`${n} pods for ${selector}`, async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: selector })).items;
    return pods.length === n ? pods : undefined;
  });
}

test('a Deployment gets Running, Ready pods with distinct loopback IPs that a server can bind', async () => {
  await apps.createNamespacedDeployment({
    namespace: 'default',
    body: { metadata: { name: 'web' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('web') } },
  });
  const pods = await podsOf('app=web', 3);
  const ips = pods.map((p) => p.status!.podIP!);
  assert.equal([...ips].sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4'], 'pod IPs count up from 127.0.0.2');
  for (const p of pods) {
    assert.is(p.status!.phase, 'Running');
    assert.ok(p.status!.conditions!.some((c) => c.type === 'Ready' && c.status === 'True'));
    assert.match(p.status!.podIP!, /^127\.0\.\d+\.\d+$/);
    assert.is(p.metadata!.ownerReferences![0].kind, 'ReplicaSet');
    assert.is(p.metadata!.ownerReferences![0].controller, true);
  }
  const server = createServer((_req, res) => res.end('pod says hi'));
  await new Promise<void>((resolve) => server.listen(0, ips[0], resolve));
  try {
    const port = (server.address() as { port: number }).port;
    assert.is(await (await fetch(`http://${ips[0]}:${port}/`)).text(), 'pod says hi');
  } finally {
    server.close();
  }
  const d = await eventually('deployment status', async () => {
    const x = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    return x.status?.readyReplicas === 3 ? x : undefined;
  });
  assert.is(d.status!.availableReplicas, 3);
  assert.is(d.status!.observedGeneration, 1);
});

test('scaling follows replicas; deleting the Deployment removes its ReplicaSet and pods', async () => {
  await apps.patchNamespacedDeployment(
    { name: 'web', namespace: 'default', body: { spec: { replicas: 1 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await podsOf('app=web', 1);
  await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'default' });
  await podsOf('app=web', 0);
  assert.is((await apps.listNamespacedReplicaSet({ namespace: 'default' })).items.length, 0);
});

test('a StatefulSet names its pods <name>-0..n-1 and a DaemonSet runs one pod', async () => {
  await apps.createNamespacedStatefulSet({
    namespace: 'default',
    body: { metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') } },
  });
  const pods = await podsOf('app=db', 2);
  assert.equal(pods.map((p) => p.metadata!.name).sort(), ['db-0', 'db-1']);
  await apps.patchNamespacedStatefulSet(
    { name: 'db', namespace: 'default', body: { spec: { replicas: 3 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal((await podsOf('app=db', 3)).map((p) => p.metadata!.name).sort(), ['db-0', 'db-1', 'db-2']);
  await apps.createNamespacedDaemonSet({
    namespace: 'default',
    body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') } },
  });
  const agent = await podsOf('app=agent', 1);
  assert.is(agent[0].metadata!.ownerReferences![0].kind, 'DaemonSet');
});

test('Endpoints follow the Service selector over ready pods, with named target ports resolved', async () => {
  await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'db' }, spec: { selector: { app: 'db' }, ports: [{ name: 'sql', port: 5432, targetPort: 'http' }] } },
  });
  const ep = await eventually('endpoints with 3 addresses', async () => {
    const e = await core.readNamespacedEndpoints({ name: 'db', namespace: 'default' }).catch(() => undefined);
    return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
  });
  assert.equal(JSON.parse(JSON.stringify(ep.subsets![0].ports)), [{ name: 'sql', port: 8080, protocol: 'TCP' }]);
  assert.equal(ep.subsets![0].addresses!.map((a) => a.targetRef!.name).sort(), ['db-0', 'db-1', 'db-2']);
  // A pod that turns not-ready moves to notReadyAddresses.
  const pod = await core.readNamespacedPod({ name: 'db-1', namespace: 'default' });
  pod.status!.conditions = pod.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c));
  await core.replaceNamespacedPodStatus({ name: 'db-1', namespace: 'default', body: pod });
  const after = await eventually('db-1 not ready', async () => {
    const e = await core.readNamespacedEndpoints({ name: 'db', namespace: 'default' });
    return e.subsets?.[0]?.notReadyAddresses?.length === 1 ? e : undefined;
  });
  assert.is(after.subsets![0].notReadyAddresses![0].targetRef!.name, 'db-1');
  assert.is(after.subsets![0].addresses!.length, 2);
});

test('a bare Pod runs at once and frees its IP when deleted', async () => {
  const pod = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'solo' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
  assert.is(pod.status!.phase, 'Running');
  assert.match(pod.status!.podIP!, /^127\.0\./);
  const invalid = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'empty' }, spec: { containers: [] } } }).then(
    () => 0,
    (e: { code?: number }) => e.code,
  );
  assert.is(invalid, 422);
  await core.deleteNamespacedPod({ name: 'solo', namespace: 'default' });
});

test('firstPodIp moves the pod range of a cluster; a bad one is refused by name', async () => {
  const other = await startDevCluster({ executor: false, firstPodIp: '127.0.9.10' });
  try {
    const pod = await other.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    assert.is(pod.status!.podIP, '127.0.9.10');
  } finally {
    await other.close();
  }
  const refused = await startDevCluster({ firstPodIp: '10.0.0.1' }).then(
    async (c) => {
      await c.close();
      return 'started';
    },
    (e: Error) => e.message,
  );
  assert.match(refused, /firstPodIp must be a 127\.0\.x\.y address/);
});

test.run();
