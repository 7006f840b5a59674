/**
 * The executor simulator alone against an in-process devcluster (no stash-hooks): one BackupSession
 * with `--members` targets whose `ReadyForBackup` gates are opened `--chunk` at a time by
 * read-modify-writes (as stash-hooks' hook workers do, racing the simulator's own writes), then
 * the time until every target is Succeeded. Not part of any test; figures in docs/performance.md.
 *
 *   node --import tsx devcluster/executor-bench.ts [--members 1000] [--chunk 20] [--timeout 120]
 */
import { readFileSync } from 'node:fs';
import { ApiextensionsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ExecutorSimulator } from './executor-simulator.js';
import { startDevCluster } from './cluster.js';

/** The BackupSession CRD the product installs (k8s-manifests/), created through the API. */
async function installBackupSessionCrd(): Promise<void> {
  const file = new URL('../k8s-manifests/base/crds/backupsessions.yaml', import.meta.url);
  const body = parse(readFileSync(file, 'utf8')) as V1CustomResourceDefinition;
  await cluster.kubeConfig.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body });
}

/** The part of the BackupSession this benchmark reads and writes. */
interface BenchSession {
  status: { targets: Array<{ phase: string; conditions: Array<{ type: string; status: string }> }> };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const members = arg('members', 1000);
const chunk = arg('chunk', 20);
const timeoutS = arg('timeout', 120);
const G = { group: 'stash.appscode.com', version: 'v1beta1', namespace: 'default', plural: 'backupsessions' };

const cluster = await startDevCluster({ executor: false });
const simulator = new ExecutorSimulator({ kubeConfig: cluster.kubeConfig, backupSeconds: 0, log: () => {} });
const cpu0 = process.cpuUsage();
try {
  await installBackupSessionCrd();
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const name = 'bench';
  await custom.createNamespacedCustomObject({ ...G, body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: { name }, spec: {} } });
  const targets = Array.from({ length: members }, (_, i) => ({
    ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: `data-${i}` },
    phase: 'Pending',
    conditions: [{ type: 'ReadyForBackup', status: 'False' }],
  }));
  await custom.patchNamespacedCustomObjectStatus(
    { ...G, name, body: { status: { phase: 'Running', targets } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  simulator.start();
  const t0 = Date.now();
  let gateConflicts = 0;
  for (let from = 0; from < members; from += chunk) {
    for (;;) {
      const bs = (await custom.getNamespacedCustomObject({ ...G, name })) as BenchSession;
      for (let i = from; i < Math.min(members, from + chunk); i++) bs.status.targets[i].conditions[0].status = 'True';
      try {
        await custom.replaceNamespacedCustomObjectStatus({ ...G, name, body: bs });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        gateConflicts++;
      }
    }
  }
  const gatesOpen = Date.now() - t0;
  let phases: Record<string, number> = {};
  for (;;) {
    const bs = (await custom.getNamespacedCustomObject({ ...G, name })) as BenchSession;
    phases = {};
    for (const t of bs.status.targets) phases[t.phase] = (phases[t.phase] ?? 0) + 1;
    if (phases.Succeeded === members || Date.now() - t0 > timeoutS * 1000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const all = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const counts = (simulator as { writeCounts?: object }).writeCounts;
  console.log(
    JSON.stringify({
      members,
      chunk,
      gatesOpenMs: gatesOpen,
      gateWriteConflicts: gateConflicts,
      allSucceededMs: phases.Succeeded === members ? all : null,
      phasesAtEnd: phases,
      processCpuS: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      simulatorWrites: counts ?? 'n/a',
    }),
  );
} finally {
  await simulator.close();
  await cluster.close();
}
