// Strategic merge patch as kubectl sends it, table-driven through the API: each case patches a
// fresh Deployment (or Service) and checks what the server stored.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { raw } from '../fixtures/devcluster/helpers.js';

let cluster: DevCluster;
let n = 0;

test.before(async () => {
  cluster = await startDevCluster({ executor: false });
});

test.after(async () => {
  await cluster.close();
});

const SMP = { 'content-type': 'application/strategic-merge-patch+json' };

function deployment(name: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { a: '1', b: '2' }, finalizers: ['x/one', 'x/two'] },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 80, name: 'http' }],
              volumeMounts: [{ name: 'd', mountPath: '/data' }],
            },
            { name: 'side', image: 'side:1' },
          ],
          volumes: [{ name: 'd', emptyDir: {} }],
        },
      },
    },
  };
}

async function patched(patch: unknown): Promise<any> {
  const name = `d${n++}`;
  const created = await raw(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment(name));
  assert.is(created.status, 201, created.text);
  const res = await raw(cluster, 'PATCH', `/apis/apps/v1/namespaces/default/deployments/${name}`, patch, SMP);
  assert.is(res.status, 200, res.text);
  return res.body;
}

const containers = (d: any) => d.spec.template.spec.containers;

const cases: Array<[string, unknown, (d: any) => void]> = [
  ['maps merge, null deletes a key', { metadata: { labels: { b: null, c: '3' } } }, (d) => assert.equal(d.metadata.labels, { a: '1', c: '3' })],
  [
    'containers merge by name; untouched ones stay',
    { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } },
    (d) => {
      assert.equal(
        containers(d).map((c: any) => `${c.name}=${c.image}`),
        ['app=app:2', 'side=side:1'],
      );
      assert.is(containers(d)[0].env.length, 2, 'fields of a merged item are kept');
    },
  ],
  [
    'a new container is appended',
    { spec: { template: { spec: { containers: [{ name: 'extra', image: 'e:1' }] } } } },
    (d) =>
      assert.equal(
        containers(d).map((c: any) => c.name),
        ['app', 'side', 'extra'],
      ),
  ],
  [
    '$patch: delete removes one item by key',
    { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
    (d) =>
      assert.equal(
        containers(d).map((c: any) => c.name),
        ['app'],
      ),
  ],
  [
    'env merges by name inside a container',
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                env: [
                  { name: 'B', value: 'two' },
                  { name: 'C', value: '3' },
                ],
              },
            ],
          },
        },
      },
    },
    (d) =>
      assert.equal(containers(d)[0].env, [
        { name: 'A', value: '1' },
        { name: 'B', value: 'two' },
        { name: 'C', value: '3' },
      ]),
  ],
  [
    'container ports merge by containerPort',
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                ports: [
                  { containerPort: 80, name: 'web' },
                  { containerPort: 9090, name: 'metrics' },
                ],
              },
            ],
          },
        },
      },
    },
    (d) =>
      assert.equal(
        containers(d)[0].ports.map((p: any) => `${p.containerPort}/${p.name}`),
        ['80/web', '9090/metrics'],
      ),
  ],
  [
    'volumeMounts merge by mountPath, volumes by name',
    {
      spec: {
        template: {
          spec: { containers: [{ name: 'app', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }], volumes: [{ name: 'cache', emptyDir: {} }] },
        },
      },
    },
    (d) => {
      assert.equal(
        containers(d)[0].volumeMounts.map((m: any) => m.mountPath),
        ['/data', '/cache'],
      );
      assert.equal(
        d.spec.template.spec.volumes.map((v: any) => v.name),
        ['d', 'cache'],
      );
    },
  ],
  [
    '$patch: replace on a list replaces it',
    { spec: { template: { spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] } } } },
    (d) =>
      assert.equal(
        containers(d).map((c: any) => c.name),
        ['only'],
      ),
  ],
  ['$patch: replace on a map replaces it', { metadata: { labels: { z: '9', $patch: 'replace' } } }, (d) => assert.equal(d.metadata.labels, { z: '9' })],
  [
    'finalizers merge as a set; $deleteFromPrimitiveList removes',
    { metadata: { finalizers: ['x/three'], '$deleteFromPrimitiveList/finalizers': ['x/one'] } },
    (d) => assert.equal(d.metadata.finalizers, ['x/two', 'x/three']),
  ],
  [
    '$setElementOrder and $retainKeys (kubectl apply hints) are accepted',
    {
      spec: {
        template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }], containers: [{ name: 'side', image: 'side:2' }] } },
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
      },
    },
    (d) => {
      assert.is(containers(d)[1].image, 'side:2');
      assert.is(d.spec.strategy.type, 'Recreate');
      assert.not.ok('$retainKeys' in d.spec.strategy);
    },
  ],
  [
    'a primitive list without merge semantics is replaced',
    { spec: { template: { spec: { containers: [{ name: 'app', args: ['--x'] }] } } } },
    (d) => assert.equal(containers(d)[0].args, ['--x']),
  ],
];

for (const [name, patch, check] of cases) {
  test(name, async () => check(await patched(patch)));
}

test('service ports merge by port', async () => {
  await raw(cluster, 'POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'svc' },
    spec: {
      selector: { a: 'b' },
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
    },
  });
  const res = await raw(
    cluster,
    'PATCH',
    '/api/v1/namespaces/default/services/svc',
    {
      spec: {
        ports: [
          { port: 443, name: 'tls' },
          { port: 8080, name: 'alt' },
        ],
      },
    },
    SMP,
  );
  assert.equal(
    res.body.spec.ports.map((p: any) => `${p.port}/${p.name}`),
    ['80/http', '443/tls', '8080/alt'],
  );
});

test.run();
