// devcluster's REST semantics, through client-node (the client the product uses) and raw HTTP
// (for requests no client would send): object metadata, selectors, optimistic concurrency, the
// status subresource, the three patch types, Status error bodies and the bearer token.
import { request as httpsRequest } from 'node:https';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { eventually, installStashCrds, raw } from '../fixtures/devcluster/helpers.js';

let cluster: DevCluster;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

test.before(async () => {
  cluster = await startDevCluster({ executor: false });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  await installStashCrds(cluster);
});

test.after(async () => {
  await cluster.close();
});

async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
  throw new Error('expected the request to fail');
}

test('create fills uid, creationTimestamp, generation, resourceVersion; generateName and namespace defaulting', async () => {
  const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'cfg-' }, data: { a: '1' } } });
  assert.match(cm.metadata!.name!, /^cfg-[a-z0-9]{5}$/);
  assert.is(cm.metadata!.namespace, 'default');
  assert.match(cm.metadata!.uid!, /^[0-9a-f-]{36}$/);
  assert.ok(cm.metadata!.creationTimestamp instanceof Date);
  assert.is(cm.metadata!.generation, 1);
  assert.match(cm.metadata!.resourceVersion!, /^\d+$/);
  const again = await codeOf(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: cm.metadata!.name } } }));
  assert.is(again, 409);
  assert.is(await codeOf(core.createNamespacedConfigMap({ namespace: 'nowhere', body: { metadata: { name: 'x' } } })), 404);
});

test('generation moves on spec changes only; resourceVersion on every write', async () => {
  const d = await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'gen' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'gen' } },
        template: { metadata: { labels: { app: 'gen' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    },
  });
  const labelled = await apps.patchNamespacedDeployment(
    { name: 'gen', namespace: 'default', body: { metadata: { labels: { x: 'y' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.is(labelled.metadata!.generation, 1);
  assert.ok(Number(labelled.metadata!.resourceVersion) > Number(d.metadata!.resourceVersion));
  const scaled = await apps.patchNamespacedDeployment(
    { name: 'gen', namespace: 'default', body: { spec: { replicas: 0, paused: true } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.is(scaled.metadata!.generation, 2);
});

test('PUT with a stale resourceVersion is 409 Conflict with a Status body', async () => {
  const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cas' }, data: { v: '1' } } });
  await core.replaceNamespacedConfigMap({ name: 'cas', namespace: 'default', body: { ...cm, data: { v: '2' } } });
  const res = await raw(cluster, 'PUT', '/api/v1/namespaces/default/configmaps/cas', { ...cm, data: { v: '3' } });
  assert.is(res.status, 409);
  assert.is(res.body.kind, 'Status');
  assert.is(res.body.reason, 'Conflict');
  assert.is(res.body.code, 409);
  assert.match(res.body.message, /the object has been modified/);
  const now = await core.readNamespacedConfigMap({ name: 'cas', namespace: 'default' });
  assert.equal(now.data, { v: '2' });
  // A patch that names a stale resourceVersion conflicts too.
  const patched = await raw(
    cluster,
    'PATCH',
    '/api/v1/namespaces/default/configmaps/cas',
    { metadata: { resourceVersion: cm.metadata!.resourceVersion }, data: { v: '4' } },
    { 'content-type': 'application/merge-patch+json' },
  );
  assert.is(patched.status, 409);
});

test('labelSelector operators and fieldSelector', async () => {
  const mk = (name: string, labels: Record<string, string>) => core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name, labels } } });
  await mk('sel-a', { tier: 'db', env: 'prod' });
  await mk('sel-b', { tier: 'web', env: 'dev' });
  await mk('sel-c', { tier: 'cache' });
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await core.listNamespacedConfigMap({ namespace: 'default', labelSelector, fieldSelector })).items
      .map((i) => i.metadata!.name)
      .filter((n) => n!.startsWith('sel-'));
  assert.equal(await names('tier=db'), ['sel-a']);
  assert.equal(await names('tier==web'), ['sel-b']);
  assert.equal(await names('tier!=db,tier'), ['sel-b', 'sel-c']);
  assert.equal(await names('tier in (db,cache)'), ['sel-a', 'sel-c']);
  assert.equal(await names('tier notin (db),tier'), ['sel-b', 'sel-c']);
  assert.equal(await names('env'), ['sel-a', 'sel-b']);
  assert.equal(await names('!env'), ['sel-c']);
  assert.equal(await names(undefined, 'metadata.name=sel-b'), ['sel-b']);
  assert.equal(await names('tier', 'metadata.name!=sel-b,metadata.namespace=default'), ['sel-a', 'sel-c']);
  const bad = await raw(cluster, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=' + encodeURIComponent('tier in (db'));
  assert.is(bad.status, 400);
  assert.is(bad.body.reason, 'BadRequest');
  const badField = await raw(cluster, 'GET', '/api/v1/configmaps?fieldSelector=spec.foo%3Dbar');
  assert.is(badField.status, 400);
  assert.match(badField.body.message, /field label not supported: spec.foo/);
});

test('status subresource: the object ignores status, /status ignores everything else', async () => {
  const body = {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'BackupSession',
    metadata: { name: 'sub' },
    spec: { invoker: { kind: 'BackupConfiguration', name: 'x' } },
    status: { phase: 'Running' },
  };
  const created = (await custom.createNamespacedCustomObject({
    group: 'stash.appscode.com',
    version: 'v1beta1',
    namespace: 'default',
    plural: 'backupsessions',
    body,
  })) as any;
  assert.is(created.status, undefined, 'status is dropped on create');
  const withStatus = (await custom.replaceNamespacedCustomObjectStatus({
    group: 'stash.appscode.com',
    version: 'v1beta1',
    namespace: 'default',
    plural: 'backupsessions',
    name: 'sub',
    body: {
      ...created,
      spec: { invoker: { kind: 'Changed', name: 'y' } },
      metadata: { ...created.metadata, labels: { l: 'v' } },
      status: { phase: 'Running' },
    },
  })) as any;
  assert.equal(withStatus.status, { phase: 'Running' });
  assert.is(withStatus.spec.invoker.kind, 'BackupConfiguration', '/status does not change spec');
  assert.is(withStatus.metadata.labels, undefined, '/status does not change metadata');
  assert.is(withStatus.metadata.generation, 1);
  const main = await raw(
    cluster,
    'PATCH',
    '/apis/stash.appscode.com/v1beta1/namespaces/default/backupsessions/sub',
    { spec: { retryLeft: 2 }, status: { phase: 'Failed' } },
    { 'content-type': 'application/merge-patch+json' },
  );
  assert.is(main.status, 200);
  assert.is(main.body.status.phase, 'Running', 'the main resource ignores status');
  assert.is(main.body.spec.retryLeft, 2);
  assert.is(main.body.metadata.generation, 2);
  // Custom resources take no strategic merge patch, as in kube-apiserver.
  const smp = await raw(
    cluster,
    'PATCH',
    '/apis/stash.appscode.com/v1beta1/namespaces/default/backupsessions/sub',
    { spec: {} },
    { 'content-type': 'application/strategic-merge-patch+json' },
  );
  assert.is(smp.status, 415);
  assert.is(smp.body.reason, 'UnsupportedMediaType');
});

test('json patch, merge patch and strategic merge patch (containers merged by name)', async () => {
  await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'smp' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'smp' } },
        template: {
          metadata: { labels: { app: 'smp' } },
          spec: {
            containers: [
              { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
              { name: 'b', image: 'b:1' },
            ],
          },
        },
      },
    },
  });
  const s = await apps.patchNamespacedDeployment(
    {
      name: 'smp',
      namespace: 'default',
      body: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'b', image: 'b:2' },
                { name: 'c', image: 'c:1' },
                { name: 'a', $patch: 'delete' },
              ],
            },
          },
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  assert.equal(
    s.spec!.template.spec!.containers.map((c) => `${c.name}=${c.image}`),
    ['b=b:2', 'c=c:1'],
  );
  const j = await apps.patchNamespacedDeployment(
    { name: 'smp', namespace: 'default', body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'b:3' }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  assert.is(j.spec!.template.spec!.containers[0].image, 'b:3');
  const failedTest = await raw(cluster, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/smp', [{ op: 'test', path: '/spec/replicas', value: 5 }], {
    'content-type': 'application/json-patch+json',
  });
  assert.is(failedTest.status, 422);
  const m = await apps.patchNamespacedDeployment(
    {
      name: 'smp',
      namespace: 'default',
      body: { metadata: { annotations: { k: 'v' } }, spec: { template: { spec: { containers: [{ name: 'only', image: 'o' }] } } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(
    m.spec!.template.spec!.containers.map((c) => c.name),
    ['only'],
    'merge patch replaces lists',
  );
});

test('errors are Status bodies with the right code and reason; bad requests never crash the server', async () => {
  const cases: Array<[string, string, unknown, number, string, Record<string, string>?]> = [
    ['POST', '/api/v1/namespaces/default/configmaps', '{not json', 400, 'BadRequest'],
    ['GET', '/api/v1/namespaces/default/widgets', undefined, 404, 'NotFound'],
    ['GET', '/apis/nope.example.com/v1/things', undefined, 404, 'NotFound'],
    ['GET', '/api/v1/namespaces/default/configmaps/missing', undefined, 404, 'NotFound'],
    ['POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'Bad_Name' } }, 422, 'Invalid'],
    ['POST', '/api/v1/namespaces/default/configmaps', { metadata: {} }, 422, 'Invalid'],
    ['POST', '/api/v1/namespaces/default/configmaps', { kind: 'Secret', metadata: { name: 'k' } }, 400, 'BadRequest'],
    ['PATCH', '/api/v1/namespaces/default/configmaps/cas', { data: {} }, 415, 'UnsupportedMediaType', { 'content-type': 'text/plain' }],
    ['PATCH', '/api/v1/namespaces/default/configmaps/cas', '[1,2]', 400, 'BadRequest', { 'content-type': 'application/json-patch+json' }],
    ['PUT', '/api/v1/namespaces/default/configmaps', {}, 405, 'MethodNotAllowed'],
    ['GET', '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc', undefined, 400, 'BadRequest'],
    ['GET', '/api/v1/namespaces/default/pods/none/exec?command=ls', undefined, 404, 'NotFound'],
    ['GET', '/api/v1/namespaces/%E0%A4%A/configmaps', undefined, 400, 'BadRequest'],
    ['GET', '/api/v1/namespaces/default/configmaps?limit=1&continue=garbage', undefined, 400, 'BadRequest'],
    [
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ metadata: { name: 'big' }, data: { x: 'y'.repeat(4 * 1024 * 1024) } }),
      413,
      'RequestEntityTooLarge',
    ],
    ['POST', '/api/v1/namespaces/default/configmaps', 'null', 400, 'BadRequest'],
    ['POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'lbl', labels: { a: 1 } } }, 422, 'Invalid'],
  ];
  for (const [method, path, body, code, reason, headers] of cases) {
    const res = await raw(cluster, method, path, body, headers);
    assert.is(res.status, code, `${method} ${path}`);
    assert.is(res.body?.kind, 'Status', `${method} ${path} body: ${res.text}`);
    assert.is(res.body.status, 'Failure');
    assert.is(res.body.code, code);
    assert.is(res.body.reason, reason, `${method} ${path}`);
  }
  const version = await raw(cluster, 'GET', '/version');
  assert.is(version.status, 200, 'the server is still up');
});

test('delete: the object is gone, finalizers hold it with a deletionTimestamp', async () => {
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } } });
  await core.deleteNamespacedConfigMap({ name: 'fin', namespace: 'default' });
  const held = await core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' });
  assert.ok(held.metadata!.deletionTimestamp);
  await core.patchNamespacedConfigMap(
    { name: 'fin', namespace: 'default', body: { metadata: { finalizers: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.is(await codeOf(core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' })), 404);
});

test('namespaces: create, list across namespaces, delete takes the contents', async () => {
  await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
  const ns = await core.readNamespace({ name: 'team-a' });
  assert.is(ns.status!.phase, 'Active');
  await core.createNamespacedSecret({ namespace: 'team-a', body: { metadata: { name: 's' }, stringData: { password: 'hunter2' } } });
  const secret = await core.readNamespacedSecret({ name: 's', namespace: 'team-a' });
  assert.equal(secret.data, { password: Buffer.from('hunter2').toString('base64') });
  const all = await core.listSecretForAllNamespaces();
  assert.ok(all.items.some((s) => s.metadata!.namespace === 'team-a'));
  await core.deleteNamespace({ name: 'team-a' });
  const terminating = await core.readNamespace({ name: 'team-a' });
  assert.is(terminating.status!.phase, 'Terminating');
  assert.is(await codeOf(core.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'late' } } })), 403);
  await eventually('the namespace and its contents to go', async () => ((await codeOf(core.readNamespace({ name: 'team-a' }))) === 404 ? true : undefined));
  assert.is(await codeOf(core.readNamespacedSecret({ name: 's', namespace: 'team-a' })), 404);
});

test('discovery lists built-ins and served CRDs; deleting a CRD stops serving it', async () => {
  const apis = await raw(cluster, 'GET', '/apis');
  const groups = apis.body.groups.map((g: { name: string }) => g.name);
  for (const g of ['apps', 'coordination.k8s.io', 'apiextensions.k8s.io', 'stash.appscode.com', 'appcatalog.appscode.com']) assert.ok(groups.includes(g), g);
  const stash = await raw(cluster, 'GET', '/apis/stash.appscode.com/v1beta1');
  const bs = stash.body.resources.find((r: { name: string }) => r.name === 'backupsessions');
  assert.is(bs.kind, 'BackupSession');
  assert.is(bs.namespaced, true);
  assert.ok(stash.body.resources.some((r: { name: string }) => r.name === 'backupsessions/status'));
  const core1 = await raw(cluster, 'GET', '/api/v1');
  assert.ok(core1.body.resources.some((r: { name: string }) => r.name === 'pods/exec'));
  await raw(cluster, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/appbindings.appcatalog.appscode.com');
  assert.is((await raw(cluster, 'GET', '/apis/appcatalog.appscode.com/v1alpha1/namespaces/default/appbindings')).status, 404);
});

/** Protobuf length-delimited field, as Kubernetes' generated code writes it. */
function pb(num: number, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const varint = (n: number): number[] => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return out;
  };
  return Buffer.concat([Buffer.from(varint((num << 3) | 2)), Buffer.from(varint(bytes.length)), bytes]);
}

test('protobuf bodies (what kubectl create sends) for ConfigMap; other kinds get 415', async () => {
  const meta = Buffer.concat([pb(1, 'from-proto'), pb(11, Buffer.concat([pb(1, 'team'), pb(2, 'a')]))]);
  const configMap = Buffer.concat([pb(1, meta), pb(2, Buffer.concat([pb(1, 'mode'), pb(2, 'demo')]))]);
  const envelope = (kind: string, raw: Buffer) => Buffer.concat([Buffer.from('k8s\0', 'latin1'), pb(1, Buffer.concat([pb(1, 'v1'), pb(2, kind)])), pb(2, raw)]);
  const res = await fetch(`${cluster.url}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    body: envelope('ConfigMap', configMap),
  });
  assert.is(res.status, 201);
  const cm = await core.readNamespacedConfigMap({ name: 'from-proto', namespace: 'default' });
  assert.equal(cm.data, { mode: 'demo' });
  assert.equal(cm.metadata!.labels, { team: 'a' });
  const pod = await fetch(`${cluster.url}/api/v1/namespaces/default/pods`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    body: envelope('Pod', Buffer.alloc(0)),
  });
  assert.is(pod.status, 415);
  const garbage = await fetch(`${cluster.url}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    body: Buffer.from('k8s\0\xff\xff', 'latin1'),
  });
  assert.is(garbage.status, 400);
});

test('a CRD with two served versions: one storage, either version reads it, discovery prefers v1', async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Cluster',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wg'] },
      versions: [
        { name: 'v1alpha1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
      ],
    },
  };
  assert.is((await raw(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status, 201);
  const created = await raw(cluster, 'POST', '/apis/example.com/v1alpha1/widgets', {
    apiVersion: 'example.com/v1alpha1',
    kind: 'Widget',
    metadata: { name: 'w' },
    spec: { size: 3 },
  });
  assert.is(created.status, 201);
  const v1 = await raw(cluster, 'GET', '/apis/example.com/v1/widgets/w');
  assert.is(v1.body.apiVersion, 'example.com/v1');
  assert.is(v1.body.spec.size, 3);
  const group = await raw(cluster, 'GET', '/apis/example.com');
  assert.is(group.body.preferredVersion.version, 'v1');
  const namespaced = await raw(cluster, 'GET', '/apis/example.com/v1/namespaces/default/widgets/w');
  assert.is(namespaced.status, 404, 'a cluster-scoped resource has no namespaced path');
  const bad = await raw(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { ...crd, metadata: { name: 'wrong.example.com' } });
  assert.is(bad.status, 422);
  assert.match(bad.body.message, /spec.names.plural\+"."\+spec.group/);
});

test('--token: served over HTTPS with its own CA; requests without the bearer token get 401', async () => {
  const secured = await startDevCluster({ executor: false, token: 's3cret' });
  try {
    assert.match(secured.url, /^https:/);
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpsRequest(`${secured.url}/api/v1/namespaces`, { ca: secured.caPem, headers }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    const res = await get({});
    assert.is(res.status, 401);
    assert.is((JSON.parse(res.body) as { reason: string }).reason, 'Unauthorized');
    assert.is((await get({ authorization: 'Bearer nope' })).status, 401);
    assert.is((await get({ authorization: 'Bearer s3cret' })).status, 200);
    // Without devcluster's CA the certificate is not trusted.
    const untrusted = await fetch(`${secured.url}/api/v1/namespaces`).then(
      () => 'connected',
      (err: Error) => String((err.cause as Error)?.message ?? err),
    );
    assert.match(untrusted, /self-signed|unable to verify|certificate/);
    const list = await secured.kubeConfig.makeApiClient(CoreV1Api).listNamespace();
    assert.ok(
      list.items.some((n) => n.metadata!.name === 'default'),
      'the kubeconfig carries the token and the CA',
    );
  } finally {
    await secured.close();
  }
});

test.run();
