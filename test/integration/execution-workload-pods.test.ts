// Where a workload's hooks run, against devcluster: Deployment, ReplicaSet, ReplicationController
// and DeploymentConfig hooks run in ONE pod — the holder of Stash's leader lock (a Lease or a
// ConfigMap `lock-<kind>-<name>-backup|restore`), else the first Ready pod by name; StatefulSet and
// DaemonSet hooks run in every running pod; HTTP without host follows the same choice; exec enters
// a running init container (`stash-init`) or a native sidecar.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiextensionsV1Api, AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, type V1Container, type V1PodSpec } from '@kubernetes/client-node';
import type { Handler } from '../../shared/resources.js';
import { runHandler } from '../../workers/execution/run-handler.js';
import type { ExecutionDeps, HookContext } from '../../workers/execution/types.js';
import { LEADER_ANNOTATION } from '../../workers/execution/workload-pods.js';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { kubeAccessFromConfig } from '../../workers/execution/types.js';
import { failure } from '../fixtures/execution/expect-failure.js';
import { SEED_SUMMARY } from '../fixtures/execution/seed-summary.js';
import { startHttpServer, type TestServer } from '../fixtures/execution/servers.js';

const NS = 'wl';
let cluster: DevCluster;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let coordination: CoordinationV1Api;
let deps: ExecutionDeps;

const app: V1Container[] = [{ name: 'app', image: 'app:1' }];
const template = (name: string, podSpec: V1PodSpec = { containers: app }, annotations?: Record<string, string>) => ({
  metadata: { labels: { app: name }, annotations },
  spec: podSpec,
});

function ctx(kind: string, name: string, over: Partial<HookContext> = {}): HookContext {
  return { hookName: 'preBackup', scope: 'local', namespace: NS, target: { apiVersion: 'apps/v1', kind, name }, summary: SEED_SUMMARY, ...over };
}
const whoami: Handler = { exec: { command: ['sh', '-c', 'echo "$POD_NAME/$CONTAINER_NAME"'] } };
/** `<pod>/<container>` of each host the hook ran on (success output is not kept, DESIGN §11: the host's `where` names it). */
const ran = async (c: HookContext, h: Handler = whoami) =>
  (await runHandler(h, c, deps)).hosts.map((x) => {
    const m = /^pod [^/]+\/(\S+) container (\S+)$/.exec(x.where);
    return m ? `${m[1]}/${m[2]}` : x.where;
  });

async function podsOf(label: string, count: number): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${label}` });
    const names = list.items
      .filter((p) => p.status?.podIP)
      .map((p) => p.metadata!.name!)
      .sort();
    if (names.length === count) return names;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${count} pods of ${label} never appeared`);
}

async function setReady(name: string, ready: boolean): Promise<void> {
  const pod = await core.readNamespacedPodStatus({ namespace: NS, name });
  const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
  pod.status = { ...pod.status, conditions: [...others, { type: 'Ready', status: ready ? 'True' : 'False' }] };
  await core.replaceNamespacedPodStatus({ namespace: NS, name, body: pod });
}

/** A Lease as client-go's leader election writes it; `ageSeconds` back-dates the renewal. */
async function lease(name: string, holder: string, ageSeconds = 0): Promise<void> {
  const renewTime = new Date(Date.now() - ageSeconds * 1000);
  await coordination.createNamespacedLease({
    namespace: NS,
    body: {
      metadata: { name, namespace: NS },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 0 },
    },
  });
}

/** A ConfigMap lock as client-go's `ConfigMapLock` writes it (the record in an annotation). */
async function configMapLock(name: string, holder: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const record = { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaderTransitions: 0 };
  await core.createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name, namespace: NS, annotations: { [LEADER_ANNOTATION]: JSON.stringify(record) } } },
  });
}

test.before(async () => {
  cluster = await startDevCluster({ port: 0, executor: false });
  const kc = cluster.kubeConfig;
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  coordination = kc.makeApiClient(CoordinationV1Api);
  // devcluster's pods have loopback IPs: the guard lets hooks reach them, as in devcluster mode.
  deps = { kube: kubeAccessFromConfig(kc), network: { allowLoopback: true } };
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const spec = (name: string, replicas: number, podSpec?: V1PodSpec, annotations?: Record<string, string>) => ({
    replicas,
    selector: { matchLabels: { app: name } },
    template: template(name, podSpec, annotations),
  });
  await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'api' }, spec: spec('api', 3) } });
  await apps.createNamespacedReplicaSet({ namespace: NS, body: { metadata: { name: 'rs' }, spec: spec('rs', 2) } });
  await apps.createNamespacedStatefulSet({ namespace: NS, body: { metadata: { name: 'sts' }, spec: { ...spec('sts', 2), serviceName: 'sts' } } });
  await apps.createNamespacedDaemonSet({
    namespace: NS,
    body: { metadata: { name: 'ds' }, spec: { selector: { matchLabels: { app: 'ds' } }, template: template('ds') } },
  });
  await core.createNamespacedReplicationController({
    namespace: NS,
    body: { metadata: { name: 'rc' }, spec: { replicas: 2, selector: { app: 'rc' }, template: template('rc') } },
  });
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
    body: {
      metadata: { name: 'deploymentconfigs.apps.openshift.io' },
      spec: {
        group: 'apps.openshift.io',
        scope: 'Namespaced',
        names: { plural: 'deploymentconfigs', singular: 'deploymentconfig', kind: 'DeploymentConfig', listKind: 'DeploymentConfigList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  await custom.createNamespacedCustomObject({
    group: 'apps.openshift.io',
    version: 'v1',
    namespace: NS,
    plural: 'deploymentconfigs',
    body: {
      apiVersion: 'apps.openshift.io/v1',
      kind: 'DeploymentConfig',
      metadata: { name: 'dc' },
      spec: { replicas: 2, selector: { app: 'dc' }, template: template('dc') },
    },
  });
  // A restore in progress: every pod waits in Stash's restore init container.
  await apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'restoring' },
      spec: spec(
        'restoring',
        2,
        { initContainers: [{ name: 'stash-init', image: 'stash:1' }], containers: app },
        { 'devcluster.stash-hooks.dev/init-running': 'stash-init' },
      ),
    },
  });
  // A native sidecar (an init container with restartPolicy Always) and an init container that finished.
  await apps.createNamespacedStatefulSet({
    namespace: NS,
    body: {
      metadata: { name: 'side' },
      spec: {
        ...spec('side', 1, {
          initContainers: [
            { name: 'setup', image: 'busybox' },
            { name: 'proxy', image: 'envoy', restartPolicy: 'Always' },
          ],
          containers: app,
        }),
        serviceName: 'side',
      },
    },
  });
});
test.after(async () => {
  await cluster?.close();
});

test('Deployment: no lock held → the first Ready pod by name; a not-Ready pod is passed over', async () => {
  const pods = await podsOf('api', 3);
  assert.equal(await ran(ctx('Deployment', 'api')), [`${pods[0]}/app`]);
  await setReady(pods[0], false);
  try {
    assert.equal(await ran(ctx('Deployment', 'api')), [`${pods[1]}/app`]);
  } finally {
    await setReady(pods[0], true);
  }
});

test('Deployment: the holder of the backup Lease lock-deployment-api-backup runs backup hooks; restore hooks use the restore lock', async () => {
  const pods = await podsOf('api', 3);
  await lease('lock-deployment-api-backup', pods[2]);
  try {
    assert.equal(await ran(ctx('Deployment', 'api')), [`${pods[2]}/app`]);
    assert.equal(await ran(ctx('Deployment', 'api', { hookName: 'postBackup' })), [`${pods[2]}/app`]);
    // No restore lock is held: a restore hook goes to the first Ready pod.
    assert.equal(await ran(ctx('Deployment', 'api', { hookName: 'preRestore' })), [`${pods[0]}/app`]);
    await lease('lock-deployment-api-restore', pods[1]);
    assert.equal(await ran(ctx('Deployment', 'api', { hookName: 'postRestore' })), [`${pods[1]}/app`]);
  } finally {
    await coordination.deleteNamespacedLease({ namespace: NS, name: 'lock-deployment-api-backup' });
    await coordination.deleteNamespacedLease({ namespace: NS, name: 'lock-deployment-api-restore' });
  }
});

test('Deployment: an expired lock, or one held by a pod that is not the workload’s, is no leader', async () => {
  const pods = await podsOf('api', 3);
  await lease('lock-deployment-api-backup', pods[2], 60);
  try {
    assert.equal(await ran(ctx('Deployment', 'api')), [`${pods[0]}/app`]);
  } finally {
    await coordination.deleteNamespacedLease({ namespace: NS, name: 'lock-deployment-api-backup' });
  }
  await lease('lock-deployment-api-backup', 'some-other-pod');
  try {
    assert.equal(await ran(ctx('Deployment', 'api')), [`${pods[0]}/app`]);
  } finally {
    await coordination.deleteNamespacedLease({ namespace: NS, name: 'lock-deployment-api-backup' });
  }
});

test('ReplicaSet: one pod, the first Ready by name; with a ConfigMap lock (Stash before Leases), its holder', async () => {
  const pods = await podsOf('rs', 2);
  assert.equal(await ran(ctx('ReplicaSet', 'rs')), [`${pods[0]}/app`]);
  await configMapLock('lock-replicaset-rs-backup', pods[1]);
  assert.equal(await ran(ctx('ReplicaSet', 'rs')), [`${pods[1]}/app`]);
});

test('ReplicationController: one pod; the lock holder wins', async () => {
  const pods = await podsOf('rc', 2);
  const c = ctx('ReplicationController', 'rc', { target: { apiVersion: 'v1', kind: 'ReplicationController', name: 'rc' } });
  assert.equal(await ran(c), [`${pods[0]}/app`]);
  await lease('lock-replicationcontroller-rc-backup', pods[1]);
  assert.equal(await ran(c), [`${pods[1]}/app`]);
});

test('DeploymentConfig (apps.openshift.io/v1): read through the custom objects API; one pod; the lock holder wins', async () => {
  const pods = await podsOf('dc', 2);
  const c = ctx('DeploymentConfig', 'dc', { target: { apiVersion: 'apps.openshift.io/v1', kind: 'DeploymentConfig', name: 'dc' } });
  assert.equal(await ran(c), [`${pods[0]}/app`]);
  await lease('lock-deploymentconfig-dc-backup', pods[1]);
  assert.equal(await ran(c), [`${pods[1]}/app`]);
  const missing = await failure(runHandler(whoami, { ...c, target: { ...c.target!, name: 'nope' } }, deps));
  assert.is(missing.message, `DeploymentConfig ${NS}/nope not found`);
});

test('StatefulSet and DaemonSet: every running pod, even with a lock present', async () => {
  const sts = await podsOf('sts', 2);
  await lease('lock-statefulset-sts-backup', sts[1]);
  assert.equal(
    await ran(ctx('StatefulSet', 'sts')),
    sts.map((p) => `${p}/app`),
  );
  const ds = await podsOf('ds', 1);
  assert.equal(
    await ran(ctx('DaemonSet', 'ds')),
    ds.map((p) => `${p}/app`),
  );
});

test('httpGet without host goes to the chosen Deployment pod only', async () => {
  const pods = await podsOf('api', 3);
  const ips: Record<string, string> = {};
  for (const p of pods) ips[p] = (await core.readNamespacedPod({ namespace: NS, name: p })).status!.podIP!;
  const anchor = await startHttpServer('127.0.0.1');
  const servers: TestServer[] = [];
  try {
    for (const p of pods) servers.push(await startHttpServer(ips[p], anchor.port));
    await lease('lock-deployment-api-backup', pods[1]);
    const r = await runHandler({ httpGet: { port: anchor.port, path: '/hook' } }, ctx('Deployment', 'api'), deps);
    assert.equal(
      r.hosts.map((h) => h.where),
      [`http://${ips[pods[1]]}:${anchor.port}/hook`],
    );
    assert.equal(
      servers.map((s) => s.received.length),
      [0, 1, 0],
    );
  } finally {
    await coordination.deleteNamespacedLease({ namespace: NS, name: 'lock-deployment-api-backup' }).catch(() => {});
    for (const s of [...servers, anchor]) await s.close();
  }
});

test('exec enters a running init container (containerName: stash-init) of a pod still initialising', async () => {
  const pods = await podsOf('restoring', 2);
  const c = ctx('Deployment', 'restoring', { hookName: 'preRestore' });
  assert.equal(await ran(c, { ...whoami, containerName: 'stash-init' }), [`${pods[0]}/stash-init`]);
  await lease('lock-deployment-restoring-restore', pods[1]);
  assert.equal(await ran(c, { ...whoami, containerName: 'stash-init' }), [`${pods[1]}/stash-init`]);
  // The app container has not started yet, so no pod can take a hook there.
  const err = await failure(runHandler({ ...whoami, containerName: 'app' }, c, deps));
  assert.match(err.message, /^no running pod of Deployment wl\/restoring \(selector app=restoring\)$/);
});

test('exec enters a native sidecar; an init container that finished is refused by name', async () => {
  const [pod] = await podsOf('side', 1);
  assert.equal(await ran(ctx('StatefulSet', 'side'), { ...whoami, containerName: 'proxy' }), [`${pod}/proxy`]);
  const done = await failure(runHandler({ ...whoami, containerName: 'setup' }, ctx('StatefulSet', 'side'), deps));
  assert.is(done.message, `init container "setup" of pod ${NS}/${pod} is not running, so exec cannot enter it`);
  const none = await failure(runHandler({ ...whoami, containerName: 'nope' }, ctx('StatefulSet', 'side'), deps));
  assert.is(none.message, `container "nope" not found in pod ${NS}/${pod} (containers: app; init containers: setup, proxy)`);
});

test.run();
