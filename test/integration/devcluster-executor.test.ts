// The backup executor simulator (DESIGN §4), driven only through session status as stash-hooks
// would drive it: gate True → Running, totalHosts, stats, Succeeded; the result annotation →
// Failed with the host error; gate False → untouched; RestoreSessions likewise; the session
// phase is never written. Hosts as Stash counts them: a Deployment's leader replica is its one
// host `host-0`, every StatefulSet pod is `host-<ordinal>`, a DaemonSet pod is named after its
// node; a restore also counts pods still initialising in `stash-init`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { ERROR_ANNOTATION, RESULT_ANNOTATION, startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { INIT_RUNNING_ANNOTATION } from '../../devcluster/kinds.js';
import { ExecutorSimulator } from '../../devcluster/executor-simulator.js';
import { eventually, installStashCrds, raw } from '../fixtures/devcluster/helpers.js';

let cluster: DevCluster;
let custom: CustomObjectsApi;
let apps: AppsV1Api;
const G = { group: 'stash.appscode.com', version: 'v1beta1', namespace: 'default' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

test.before(async () => {
  cluster = await startDevCluster({ backupSeconds: 0.2 });
  custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  await installStashCrds(cluster);
  const deployment = (name: string, annotations?: Record<string, string>) =>
    apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name, annotations },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
    });
  await deployment('good');
  await deployment('broken', { [RESULT_ANNOTATION]: 'Failed', [ERROR_ANNOTATION]: 'disk full on /data' });
  await custom.createNamespacedCustomObject({
    ...G,
    plural: 'backupconfigurations',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupConfiguration',
      metadata: { name: 'bc' },
      spec: { target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'good' } } },
    },
  });
});

test.after(async () => {
  await cluster.close();
});

const ref = (kind: string, name: string, apiVersion = 'apps/v1') => ({ apiVersion, kind, name });

/** Creates a BackupSession and initiates its targets the way stash-hooks does. */
async function initiate(name: string, targets: Array<{ ref: ReturnType<typeof ref>; gate: 'True' | 'False' }>): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...G,
    plural: 'backupsessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name },
      spec: { invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'bc' } },
    },
  });
  await custom.patchNamespacedCustomObjectStatus(
    {
      ...G,
      plural: 'backupsessions',
      name,
      body: {
        status: {
          phase: 'Running',
          targets: targets.map((t) => ({
            ref: t.ref,
            phase: 'Pending',
            conditions: [{ type: 'ReadyForBackup', status: t.gate, reason: t.gate === 'True' ? 'PreBackupHookSucceeded' : 'PreBackupHookFailed' }],
          })),
        },
      },
    },
    merge,
  );
}

async function session(name: string, plural = 'backupsessions'): Promise<any> {
  return custom.getNamespacedCustomObject({ ...G, plural, name });
}

async function pods(labelSelector: string): Promise<V1Pod[]> {
  return (await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector })).items;
}

async function targetDone(name: string, i = 0): Promise<any> {
  return eventually(`${name} target ${i} complete`, async () => {
    const t = (await session(name)).status.targets[i];
    return t.phase === 'Succeeded' || t.phase === 'Failed' ? t : undefined;
  });
}

test('gate True on a 2-replica Deployment: Running with totalHosts 1 (its leader), then stats for host-0 and Succeeded; session phase untouched', async () => {
  await initiate('bs-good', [{ ref: ref('Deployment', 'good'), gate: 'True' }]);
  const running = await eventually('Running', async () => {
    const t = (await session('bs-good')).status.targets[0];
    return t.phase !== 'Pending' ? t : undefined;
  });
  assert.ok(running.phase === 'Running' || running.phase === 'Succeeded');
  const t = await targetDone('bs-good');
  assert.is(t.phase, 'Succeeded');
  assert.is(t.totalHosts, 1);
  assert.is(t.stats.length, 1);
  assert.is(t.stats[0].hostname, 'host-0');
  assert.is(t.stats[0].phase, 'Succeeded');
  assert.match(t.stats[0].duration, /^\d+s$/);
  const bs = await session('bs-good');
  assert.is(bs.status.phase, 'Running', 'the executor never writes the session phase');
  assert.is(bs.status.targets[0].conditions[0].type, 'ReadyForBackup', 'conditions are kept');
});

test('the result annotation on the target makes every host Failed with its error', async () => {
  await initiate('bs-broken', [{ ref: ref('Deployment', 'broken'), gate: 'True' }]);
  const t = await targetDone('bs-broken');
  assert.is(t.phase, 'Failed');
  assert.is(t.totalHosts, 1);
  assert.ok(t.stats.every((s: any) => s.phase === 'Failed' && s.error === 'disk full on /data'));
});

test('gate False leaves the target untouched; a target that is not an object backs up as one host', async () => {
  // Sessions are handled in event order, so once the later one completes the earlier was seen.
  await initiate('bs-gated', [{ ref: ref('Deployment', 'good'), gate: 'False' }]);
  await initiate('bs-pvc', [{ ref: ref('PersistentVolumeClaim', 'data', 'v1'), gate: 'True' }]);
  const pvc = await targetDone('bs-pvc');
  assert.is(pvc.phase, 'Succeeded');
  assert.is(pvc.totalHosts, 1);
  assert.is(pvc.stats[0].hostname, 'host-0');
  const gated = (await session('bs-gated')).status.targets[0];
  assert.is(gated.phase, 'Pending');
  assert.is(gated.totalHosts, undefined);
  assert.is(gated.stats, undefined);
});

test('a batch: only targets whose gate is True run, each once', async () => {
  await initiate('bs-batch', [
    { ref: ref('Deployment', 'good'), gate: 'True' },
    { ref: ref('Deployment', 'broken'), gate: 'False' },
  ]);
  const first = await targetDone('bs-batch', 0);
  assert.is(first.phase, 'Succeeded');
  // Opening the second gate later starts it; rewriting status must not re-run the first.
  const bs = await session('bs-batch');
  bs.status.targets[1].conditions[0].status = 'True';
  bs.status.conditions = [{ type: 'Poke', status: 'True' }];
  await custom.replaceNamespacedCustomObjectStatus({ ...G, plural: 'backupsessions', name: 'bs-batch', body: bs });
  const second = await targetDone('bs-batch', 1);
  assert.is(second.phase, 'Failed');
  const after = await session('bs-batch');
  assert.is(after.status.targets[0].stats.length, 1);
  assert.equal(after.status.targets[0].stats, first.stats, 'the finished target was not touched again');
});

test('RestoreSession: ReadyForRestore True → totalHosts and host stats; False → untouched', async () => {
  const mk = async (name: string, target: string, gate: 'True' | 'False') => {
    await custom.createNamespacedCustomObject({
      ...G,
      plural: 'restoresessions',
      body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'RestoreSession', metadata: { name }, spec: { target: { ref: ref('Deployment', target) } } },
    });
    await custom.patchNamespacedCustomObjectStatus(
      { ...G, plural: 'restoresessions', name, body: { status: { phase: 'Running', conditions: [{ type: 'ReadyForRestore', status: gate }] } } },
      merge,
    );
  };
  await mk('rs-gated', 'good', 'False');
  await mk('rs-good', 'good', 'True');
  await mk('rs-broken', 'broken', 'True');
  const done = (name: string) =>
    eventually(`${name} stats`, async () => {
      const s = (await session(name, 'restoresessions')).status;
      return s.stats?.length ? s : undefined;
    });
  const good = await done('rs-good');
  assert.is(good.totalHosts, 1);
  assert.ok(good.stats.every((s: any) => s.phase === 'Succeeded'));
  assert.is(good.phase, 'Running');
  const broken = await done('rs-broken');
  assert.ok(broken.stats.every((s: any) => s.phase === 'Failed' && s.error === 'disk full on /data'));
  const gated = (await session('rs-gated', 'restoresessions')).status;
  assert.is(gated.totalHosts, undefined);
  assert.is(gated.stats, undefined);
});

test('a StatefulSet backs up from every pod as host-<ordinal>, a DaemonSet from its pod named after the node', async () => {
  await apps.createNamespacedStatefulSet({
    namespace: 'default',
    body: {
      metadata: { name: 'db' },
      spec: {
        replicas: 3,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    },
  });
  await apps.createNamespacedDaemonSet({
    namespace: 'default',
    body: {
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    },
  });
  await eventually('db pods running', async () => ((await pods('app=db')).filter((p) => p.status?.phase === 'Running').length === 3 ? true : undefined));
  await initiate('bs-sts', [
    { ref: ref('StatefulSet', 'db'), gate: 'True' },
    { ref: ref('DaemonSet', 'agent'), gate: 'True' },
  ]);
  const sts = await targetDone('bs-sts', 0);
  assert.is(sts.phase, 'Succeeded');
  assert.is(sts.totalHosts, 3);
  assert.equal(
    sts.stats.map((h: any) => [h.hostname, h.phase]),
    [
      ['host-0', 'Succeeded'],
      ['host-1', 'Succeeded'],
      ['host-2', 'Succeeded'],
    ],
  );
  const ds = await targetDone('bs-sts', 1);
  assert.is(ds.totalHosts, 1);
  assert.equal(
    ds.stats.map((h: any) => [h.hostname, h.phase]),
    [['devcluster', 'Succeeded']],
  );
});

test('a restore counts the pods still initialising in stash-init; a backup of those pods has no host', async () => {
  await apps.createNamespacedStatefulSet({
    namespace: 'default',
    body: {
      metadata: { name: 'restoring' },
      spec: {
        replicas: 2,
        serviceName: 'restoring',
        selector: { matchLabels: { app: 'restoring' } },
        template: {
          metadata: { labels: { app: 'restoring' }, annotations: { [INIT_RUNNING_ANNOTATION]: 'stash-init' } },
          spec: { initContainers: [{ name: 'stash-init', image: 'stash' }], containers: [{ name: 'c', image: 'i' }] },
        },
      },
    },
  });
  await eventually('restoring pods initialising', async () => {
    const all = await pods('app=restoring');
    return all.length === 2 && all.every((p) => p.status?.phase === 'Pending') ? true : undefined;
  });
  await custom.createNamespacedCustomObject({
    ...G,
    plural: 'restoresessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'rs-init' },
      spec: { target: { ref: ref('StatefulSet', 'restoring') } },
    },
  });
  await custom.patchNamespacedCustomObjectStatus(
    { ...G, plural: 'restoresessions', name: 'rs-init', body: { status: { phase: 'Running', conditions: [{ type: 'ReadyForRestore', status: 'True' }] } } },
    merge,
  );
  const restored = await eventually('rs-init stats', async () => {
    const st = (await session('rs-init', 'restoresessions')).status;
    return st.stats?.length ? st : undefined;
  });
  assert.is(restored.totalHosts, 2);
  assert.equal(
    restored.stats.map((h: any) => [h.hostname, h.phase]),
    [
      ['host-0', 'Succeeded'],
      ['host-1', 'Succeeded'],
    ],
  );
  await initiate('bs-init', [{ ref: ref('StatefulSet', 'restoring'), gate: 'True' }]);
  const t = await targetDone('bs-init');
  assert.is(t.phase, 'Failed');
  assert.equal(
    t.stats.map((h: any) => [h.hostname, h.phase, h.error]),
    [['host-0', 'Failed', 'no running pods for StatefulSet default/restoring']],
  );
});

test('a target is found by its kind, as Stash finds it: a ref apps/v1 AppBinding is the appcatalog AppBinding', async () => {
  await custom.createNamespacedCustomObject({
    group: 'appcatalog.appscode.com',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'appbindings',
    body: {
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: 'db', annotations: { [RESULT_ANNOTATION]: 'Failed', [ERROR_ANNOTATION]: 'dump failed' } },
      spec: { clientConfig: { url: 'tcp(db:3306)/' } },
    },
  });
  await initiate('bs-appbinding', [{ ref: ref('AppBinding', 'db'), gate: 'True' }]);
  const t = await targetDone('bs-appbinding');
  assert.is(t.phase, 'Failed', 'the annotation on the AppBinding was read');
  assert.equal(
    t.stats.map((h: any) => [h.hostname, h.phase, h.error]),
    [['host-0', 'Failed', 'dump failed']],
  );
});

test('a 200-member batch whose gates open in chunks while it runs: every target Succeeded, once, session phase untouched', async () => {
  const n = 200;
  const name = 'bs-200';
  await custom.createNamespacedCustomObject({
    ...G,
    plural: 'backupsessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name },
      spec: { invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupBatch', name: 'bb' } },
    },
  });
  const targets = Array.from({ length: n }, (_, i) => ({
    ref: i % 2 === 0 ? ref('Deployment', 'good') : ref('PersistentVolumeClaim', `data-${i}`, 'v1'),
    phase: 'Pending',
    conditions: [{ type: 'ReadyForBackup', status: 'False', reason: 'Waiting' }],
  }));
  await custom.patchNamespacedCustomObjectStatus({ ...G, plural: 'backupsessions', name, body: { status: { phase: 'Running', targets } } }, merge);
  // Open the gates 20 at a time, as stash-hooks would (read-modify-write, retried on 409), racing
  // the simulator's own writes of the targets opened before.
  for (let from = 0; from < n; from += 20) {
    for (let attempt = 0; ; attempt++) {
      const bs = await session(name);
      for (let i = from; i < from + 20; i++) bs.status.targets[i].conditions[0] = { type: 'ReadyForBackup', status: 'True', reason: 'PreBackupHookSucceeded' };
      try {
        await custom.replaceNamespacedCustomObjectStatus({ ...G, plural: 'backupsessions', name, body: bs });
        break;
      } catch (err: any) {
        if (err?.code !== 409 || attempt > 50) throw err;
      }
    }
  }
  const done = await eventually(
    `all ${n} targets complete`,
    async () => {
      const bs = await session(name);
      return bs.status.targets.every((t: any) => t.phase === 'Succeeded' || t.phase === 'Failed') ? bs : undefined;
    },
    15_000,
  );
  assert.is(done.status.phase, 'Running', 'the executor never writes the session phase');
  done.status.targets.forEach((t: any, i: number) => {
    assert.is(t.phase, 'Succeeded', `target ${i}`);
    assert.is(t.totalHosts, 1, `target ${i} totalHosts`);
    assert.is(t.stats.length, 1, `target ${i} stats: one entry per host, written once`);
    assert.is(t.conditions[0].status, 'True', `target ${i} keeps its gate condition`);
  });
});

test('under injected write 500s and 410 watches, no target is lost or run twice', async () => {
  // devcluster exempts its own simulator from faults; this one uses the plain kubeconfig so that
  // its status writes and watches do see them.
  const faulty = await startDevCluster({ executor: false });
  const simulator = new ExecutorSimulator({ kubeConfig: faulty.kubeConfig, backupSeconds: 0.05, log: () => {}, restartDelayMs: 50, resyncMs: 200 });
  try {
    await installStashCrds(faulty);
    const c = faulty.kubeConfig.makeApiClient(CustomObjectsApi);
    const n = 30;
    const targets = Array.from({ length: n }, (_, i) => ({
      ref: ref('PersistentVolumeClaim', `f-${i}`, 'v1'),
      phase: 'Pending',
      conditions: [{ type: 'ReadyForBackup', status: 'True' }],
    }));
    await c.createNamespacedCustomObject({
      ...G,
      plural: 'backupsessions',
      body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: { name: 'faulty' }, spec: {} },
    });
    await c.patchNamespacedCustomObjectStatus({ ...G, plural: 'backupsessions', name: 'faulty', body: { status: { phase: 'Running', targets } } }, merge);
    const on = await raw(faulty, 'PUT', '/debug/faults', { writeErrorRate: 0.4, watchGoneRate: 0.3 });
    assert.is(on.status, 200);
    simulator.start();
    const done = await eventually(
      'every target complete',
      async () => {
        const bs = (await c.getNamespacedCustomObject({ ...G, plural: 'backupsessions', name: 'faulty' })) as any;
        return bs.status.targets.every((t: any) => t.phase === 'Succeeded' || t.phase === 'Failed') ? bs : undefined;
      },
      15_000,
    );
    const faults = await raw(faulty, 'GET', '/debug/faults');
    assert.ok(faults.body.counts.writeErrors > 0, `the simulator's writes were faulted (${JSON.stringify(faults.body)})`);
    for (const t of done.status.targets) {
      assert.is(t.phase, 'Succeeded');
      assert.is(t.totalHosts, 1);
      assert.is(t.stats.length, 1);
    }
    assert.is(done.status.phase, 'Running');
  } finally {
    await simulator.close();
    await faulty.close();
  }
});

test('close() does not wait out a backup in progress', async () => {
  const slow = await startDevCluster({ backupSeconds: 600 });
  try {
    await installStashCrds(slow);
    const c = slow.kubeConfig.makeApiClient(CustomObjectsApi);
    await c.createNamespacedCustomObject({
      ...G,
      plural: 'backupsessions',
      body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: { name: 'slow' }, spec: {} },
    });
    await c.patchNamespacedCustomObjectStatus(
      {
        ...G,
        plural: 'backupsessions',
        name: 'slow',
        body: {
          status: { targets: [{ ref: ref('PersistentVolumeClaim', 'd', 'v1'), phase: 'Pending', conditions: [{ type: 'ReadyForBackup', status: 'True' }] }] },
        },
      },
      merge,
    );
    await eventually('the backup to start', async () => {
      const s = (await c.getNamespacedCustomObject({ ...G, plural: 'backupsessions', name: 'slow' })) as any;
      return s.status.targets[0].phase === 'Running' ? true : undefined;
    });
  } finally {
    // A liveness check, not a speed one: a close that waited out the backup would take 600 s.
    let guard: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => (guard = setTimeout(() => resolve('hung'), 30_000)));
    const outcome = await Promise.race([slow.close().then(() => 'closed'), hung]);
    clearTimeout(guard);
    assert.is(outcome, 'closed');
  }
});

test.run();
