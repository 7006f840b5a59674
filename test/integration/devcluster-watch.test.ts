// Watches as client-node sees them: an informer gets ADDED/MODIFIED/DELETED, a watch resumes
// from a resourceVersion, a version older than the kept history is 410 and the informer relists,
// bookmarks arrive when asked for, timeoutSeconds ends a watch, and selectors turn objects
// entering or leaving into ADDED/DELETED.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CoreV1Api, makeInformer, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { eventually, raw } from '../fixtures/devcluster/helpers.js';

let cluster: DevCluster;
let core: CoreV1Api;

test.before(async () => {
  // A tiny history so that "too old" is easy to reach; fast bookmarks.
  cluster = await startDevCluster({ executor: false, historySize: 20, bookmarkIntervalMs: 100 });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
});

test.after(async () => {
  await cluster.close();
});

test('an informer sees ADDED, MODIFIED and DELETED', async () => {
  await core.createNamespace({ body: { metadata: { name: 'inf' } } });
  const informer = makeInformer<V1ConfigMap>(cluster.kubeConfig, '/api/v1/namespaces/inf/configmaps', () => core.listNamespacedConfigMap({ namespace: 'inf' }));
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add ${o.metadata!.name} ${JSON.stringify(o.data ?? {})}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata!.name} ${JSON.stringify(o.data ?? {})}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
  await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'before' } } });
  await informer.start();
  try {
    await core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'inf', body: { metadata: { name: 'a' }, data: { v: '2' } } });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'inf' });
    await eventually('the delete', () => (seen.includes('delete a') ? true : undefined));
    assert.equal(seen, ['add before {}', 'add a {"v":"1"}', 'update a {"v":"2"}', 'delete a']);
    assert.is(informer.get('before', 'inf')?.metadata?.name, 'before');
  } finally {
    await informer.stop();
  }
});

function collect(
  path: string,
  query: Record<string, string | number | boolean | undefined>,
): Promise<{ events: Array<{ type: string; obj: any }>; done: Promise<unknown>; stop: () => void }> {
  const events: Array<{ type: string; obj: any }> = [];
  let resolveDone!: (v: unknown) => void;
  const done = new Promise((r) => (resolveDone = r));
  return new Watch(cluster.kubeConfig)
    .watch(
      path,
      query,
      (type, obj) => events.push({ type, obj }),
      (err) => resolveDone(err),
    )
    .then((controller) => ({ events, done, stop: () => controller.abort() }));
}

test('a watch resumes from a resourceVersion and sees only later changes', async () => {
  const first = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r1' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r2' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r3' } } });
  const w = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: first.metadata!.resourceVersion });
  try {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'r4' } } });
    await eventually('r4', () => (w.events.some((e) => e.obj.metadata.name === 'r4') ? true : undefined));
    assert.equal(
      w.events.map((e) => `${e.type} ${e.obj.metadata.name}`),
      ['ADDED r2', 'ADDED r3', 'ADDED r4'],
    );
  } finally {
    w.stop();
  }
});

test('an informer whose watch is cut resumes from its resourceVersion without relisting', async () => {
  await core.createNamespace({ body: { metadata: { name: 'resume' } } });
  let lists = 0;
  const informer = makeInformer<V1ConfigMap>(cluster.kubeConfig, '/api/v1/namespaces/resume/configmaps', () => {
    lists++;
    return core.listNamespacedConfigMap({ namespace: 'resume' });
  });
  const added: string[] = [];
  informer.on('add', (o) => added.push(o.metadata!.name!));
  await informer.start();
  try {
    await core.createNamespacedConfigMap({ namespace: 'resume', body: { metadata: { name: 'one' } } });
    await eventually('one', () => (added.includes('one') ? true : undefined));
    // End every open watch server-side, as an API server restart or a load balancer would.
    const cut = await raw(cluster, 'POST', '/debug/faults/close-watches');
    assert.ok(cut.body.closed >= 1);
    await core.createNamespacedConfigMap({ namespace: 'resume', body: { metadata: { name: 'two' } } });
    await eventually('two', () => (added.includes('two') ? true : undefined));
    assert.equal(added, ['one', 'two']);
    assert.is(lists, 1, 'the informer re-watched from its resourceVersion instead of relisting');
  } finally {
    await informer.stop();
  }
});

test('a resourceVersion older than the history gets a 410 Expired ERROR event', async () => {
  const old = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'old' } } });
  for (let i = 0; i < 25; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `churn-${i}` } } });
  const w = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: old.metadata!.resourceVersion });
  await w.done;
  assert.is(w.events.length, 1);
  assert.is(w.events[0].type, 'ERROR');
  assert.is(w.events[0].obj.code, 410);
  assert.is(w.events[0].obj.reason, 'Expired');
  assert.is(w.events[0].obj.kind, 'Status');
});

test('an informer whose resourceVersion expired relists and catches up', async () => {
  await core.createNamespace({ body: { metadata: { name: 'relist' } } });
  let lists = 0;
  const informer = makeInformer<V1ConfigMap>(cluster.kubeConfig, '/api/v1/namespaces/relist/configmaps', () => {
    lists++;
    return core.listNamespacedConfigMap({ namespace: 'relist' });
  });
  const added: string[] = [];
  informer.on('add', (o) => added.push(o.metadata!.name!));
  await informer.start();
  try {
    // Cut the informer's watch by flooding another resource past the history while it is down.
    await informer.stop();
    // ListWatch keeps its resourceVersion; the typed Informer does not expose it.
    const rvBefore = (informer as unknown as { latestResourceVersion(): string }).latestResourceVersion();
    for (let i = 0; i < 25; i++) await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: `flood-${i}` } } });
    await core.createNamespacedConfigMap({ namespace: 'relist', body: { metadata: { name: 'while-away' } } });
    assert.ok(rvBefore !== '');
    await informer.start();
    await eventually('the relist', () => (added.includes('while-away') ? true : undefined));
    assert.ok(lists >= 2, `listed ${lists} times`);
    assert.is(informer.get('while-away', 'relist')?.metadata?.name, 'while-away');
  } finally {
    await informer.stop();
  }
});

test('bookmarks arrive when allowWatchBookmarks=true, not otherwise', async () => {
  const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'bm' } } });
  const withMarks = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: cm.metadata!.resourceVersion, allowWatchBookmarks: true });
  const without = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: cm.metadata!.resourceVersion });
  try {
    const mark = await eventually('a bookmark', () => withMarks.events.find((e) => e.type === 'BOOKMARK'));
    assert.match(mark.obj.metadata.resourceVersion, /^\d+$/);
    assert.is(mark.obj.kind, 'ConfigMap');
    assert.is(without.events.filter((e) => e.type === 'BOOKMARK').length, 0);
  } finally {
    withMarks.stop();
    without.stop();
  }
});

test('timeoutSeconds ends the watch', async () => {
  const w = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: '0', timeoutSeconds: 1 });
  const err = await w.done;
  assert.is(err, null);
  assert.ok(w.events.length > 0 && w.events.every((e) => e.type === 'ADDED'), 'resourceVersion=0 starts with the current state');
});

test('a label selector watch sees objects enter as ADDED and leave as DELETED', async () => {
  const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'mover', labels: { team: 'a' } } } });
  const w = await collect('/api/v1/namespaces/default/configmaps', { resourceVersion: cm.metadata!.resourceVersion, labelSelector: 'team=b' });
  try {
    await raw(
      cluster,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/mover',
      { metadata: { labels: { team: 'b' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await raw(cluster, 'PATCH', '/api/v1/namespaces/default/configmaps/mover', { data: { x: '1' } }, { 'content-type': 'application/merge-patch+json' });
    await raw(
      cluster,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/mover',
      { metadata: { labels: { team: 'c' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await eventually('three events', () => (w.events.length >= 3 ? true : undefined));
    assert.equal(
      w.events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
  } finally {
    w.stop();
  }
});

test.run();
