// Namespace confinement (DESIGN §11): a tenant's hook that points at another namespace —
// executor.pod.namespace, target.ref.namespace, a BackupBatch member — is refused with a False
// condition naming both namespaces and the opt-in annotation, and nothing runs there (the exec
// command would POST to the sink; the sink stays empty). The target Namespace's opt-in annotation
// lets it run; a protected namespace (stash-hooks' own, kube-system) refuses even with "*".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

const OWN = 'stash-hooks-system';
const ANNOTATION = 'stash-hooks.dev/allowed-source-namespaces';
let p: Pipeline;

test.before(async () => {
  p = await startPipeline({ protectedNamespaces: [OWN, 'kube-system'], defaultHookTimeoutSeconds: 20 });
});
test.after(async () => {
  await p?.close();
});

/** An exec hook whose command reports to the sink at `path` from whichever pod it runs in. */
function execToSink(path: string): string {
  const js = `fetch('http://127.0.0.1:${p.sink.port}${path}?pod='+process.env.POD_NAMESPACE+'/'+process.env.POD_NAME,{method:'POST',body:'ran'}).then(()=>{},()=>process.exit(1))`;
  return JSON.stringify(['node', '-e', js]);
}

async function namespaceWithApp(ns: string, allowedSources?: string): Promise<void> {
  await p.apply(appYaml(ns, 'db'));
  if (allowedSources !== undefined) await allowSources(ns, allowedSources);
}

/** What a namespace admin does to opt in: annotate the Namespace. */
async function allowSources(ns: string, value: string): Promise<void> {
  await p.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { [ANNOTATION]: value } } }]);
}

/** A BackupConfiguration in `tenant` whose preBackup execs in the pods `app=db` of `where`, and its session. */
function crossNamespaceExec(tenant: string, name: string, where: string, path: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: ${name}, namespace: ${tenant}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: db}}
  hooks:
    preBackup:
      executor: {pod: {selector: app=db, namespace: ${where}, strategy: ExecuteOnAll}}
      exec: {command: ${execToSink(path)}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}-1, namespace: ${tenant}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: ${name}}
`;
}

async function preCondition(ns: string, session: string) {
  const s = (await p.waitForPhase('BackupSession', ns, session, 30_000)) as BackupSession;
  return { phase: s.status?.phase, pre: cond(s.status?.targets?.[0]?.conditions, 'PreBackupHookExecutionSucceeded') };
}

const hits = (path: string) => p.sink.requests.filter((r) => r.path.startsWith(path)).map((r) => r.path);

test('exec in another namespace is refused until that namespace opts in, then runs there', async () => {
  await namespaceWithApp('tenant-a');
  await namespaceWithApp('victim');
  await p.apply(crossNamespaceExec('tenant-a', 'steal', 'victim', '/steal'));
  const refused = await preCondition('tenant-a', 'steal-1');
  assert.is(refused.phase, 'Failed');
  assert.is(refused.pre?.status, 'False');
  assert.is(refused.pre?.reason, 'FailedToExecutePreBackupHook');
  assert.is(
    refused.pre?.message,
    'Failed to execute preBackup hook. Reason: executor.pod.namespace: namespace "victim" has not opted in to hooks of namespace "tenant-a"; ' +
      `to allow it, annotate Namespace victim with ${ANNOTATION}: "tenant-a" (or "*" for every namespace)`,
  );
  assert.equal(hits('/steal'), [], 'the exec never ran in the victim pod');

  // The victim opts in for another tenant only: still refused.
  await allowSources('victim', 'team-b');
  await p.apply(crossNamespaceExec('tenant-a', 'steal2', 'victim', '/steal2'));
  const other = await preCondition('tenant-a', 'steal2-1');
  assert.is(other.pre?.status, 'False');
  assert.match(other.pre?.message ?? '', `${ANNOTATION}: "team-b,tenant-a"`);
  assert.equal(hits('/steal2'), []);

  // Opted in for tenant-a: the hook runs in the victim's pod.
  await allowSources('victim', 'team-b, tenant-a');
  await p.apply(crossNamespaceExec('tenant-a', 'allowed', 'victim', '/allowed'));
  const ok = await preCondition('tenant-a', 'allowed-1');
  assert.is(ok.pre?.status, 'True', JSON.stringify(ok));
  assert.is(ok.phase, 'Succeeded');
  assert.is(hits('/allowed').length, 1);
  assert.match(hits('/allowed')[0], /^\/allowed\?pod=victim\/db-/);
});

test('a protected namespace is refused even when it opts in with "*"', async () => {
  for (const ns of [OWN, 'kube-system']) {
    await namespaceWithApp(ns, '*');
    const name = `grab-${ns.replace(/[^a-z]/g, '')}`;
    await p.apply(crossNamespaceExec('tenant-a', name, ns, `/${name}`));
    const r = await preCondition('tenant-a', `${name}-1`);
    assert.is(r.pre?.status, 'False');
    assert.is(
      r.pre?.message,
      `Failed to execute preBackup hook. Reason: executor.pod.namespace: namespace "${ns}" is protected (--protected-namespaces): ` +
        `hooks of namespace "tenant-a" never act there, whatever its ${ANNOTATION} annotation says`,
    );
    assert.equal(hits(`/${name}`), [], `nothing ran in ${ns}`);
  }
});

test('a target in another namespace (target.ref.namespace, a batch member) is refused the same way', async () => {
  await namespaceWithApp('elsewhere');
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: reach, namespace: tenant-a}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: db, namespace: elsewhere}}
  hooks:
    preBackup: {exec: {command: ${execToSink('/reach')}}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: reach-1, namespace: tenant-a}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: reach}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: tenant-a}
spec:
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: db}}
      hooks: {preBackup: {exec: {command: ${execToSink('/batch-home')}}}}
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: db, namespace: elsewhere}}
      hooks: {preBackup: {exec: {command: ${execToSink('/batch-away')}}}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: batch-1, namespace: tenant-a}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: batch}
`);
  const r = await preCondition('tenant-a', 'reach-1');
  assert.is(r.pre?.status, 'False');
  assert.match(r.pre?.message ?? '', 'target Deployment elsewhere/db: namespace "elsewhere" has not opted in to hooks of namespace "tenant-a"');
  assert.equal(hits('/reach'), []);

  const b = (await p.waitForPhase('BackupSession', 'tenant-a', 'batch-1', 30_000)) as BackupSession;
  const [home, away] = b.status?.targets ?? [];
  assert.is(cond(home?.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True', JSON.stringify(b.status));
  assert.is(cond(away?.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'False');
  assert.match(
    cond(away?.conditions, 'PreBackupHookExecutionSucceeded')?.message ?? '',
    'namespace "elsewhere" has not opted in to hooks of namespace "tenant-a"',
  );
  assert.is(hits('/batch-home').length, 1, "the member in the batch's own namespace ran");
  assert.equal(hits('/batch-away'), [], 'the member elsewhere did not');
});

test.run();
