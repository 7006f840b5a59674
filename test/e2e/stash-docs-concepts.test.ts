// Stash's "Configuring Hooks" page (stashed/docs docs/guides/latest/hooks/configuring-hooks.md),
// every example in test/corpus/stash-docs/configuring-hooks-*.yaml, applied to devcluster. The page
// gives bare hooks; the corpus wraps each in a minimal BackupConfiguration/RestoreSession on the
// Deployment `my-app`. The only change the test makes is `host`/`port` pointing at its server:
// one real HTTP server on every loopback address, which also counts the TCP connections the
// tcpSocket hooks open. The named-port examples keep `my-port`/`my-container`: `my-app`'s
// container `my-container` declares `my-port` as that server's port, and the hook goes to the pod's
// IP (kmodules/prober resolves a named port in the hook executor pod's container, host = pod IP).
// The CRD concept pages' samples (concept-*.yaml, whole objects, unchanged) run the same way; the
// BackupBatch sample ends as it would in Stash, its global preBackup failed (see its corpus file).
// The CRDs' acceptance of every corpus file is checked by stash-docs-examples.test.ts.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { startPipeline, cond, type Pipeline } from '../helpers/pipeline.js';
import { skipUnless } from '../helpers/skip.js';
import type { BackupSession, RestoreSession, Session } from '../../shared/resources.js';
import { INIT_RUNNING_ANNOTATION } from '../../devcluster/kinds.js';

const CORPUS = fileURLToPath(new URL('../corpus/stash-docs/', import.meta.url));

interface Arrived {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  localAddress: string;
}

let p: Pipeline;
let server: Server;
let port = 0;
const requests: Arrived[] = [];
const connections: string[] = [];
let podIp = '';

test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, localAddress: req.socket.localAddress ?? '' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.on('connection', (s) => connections.push(s.localAddress ?? ''));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  port = (server.address() as AddressInfo).port;
  await p.apply(`
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-app, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: my-app}}
  template:
    metadata: {labels: {app: my-app}}
    spec:
      containers:
        - name: my-container
          image: busybox
          ports: [{name: my-port, containerPort: ${port}}]
`);
  for (let i = 0; i < 100 && !podIp; i++) {
    const pods = await p.core.listNamespacedPod({ namespace: 'demo', labelSelector: 'app=my-app' });
    podIp = pods.items.find((x) => x.status?.phase === 'Running')?.status?.podIP ?? '';
    if (!podIp) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(podIp, 'my-app has a running pod');
});
test.after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await p?.close();
});

/** The example as published, `host` and the numeric `port` pointed at the test's server. */
function example(file: string): string {
  return readFileSync(join(CORPUS, file), 'utf8')
    .replace(/host: my-(host\.demo|service\.mynamespace)\.svc/, 'host: 127.0.0.1')
    .replace(/port: 8080$/m, `port: ${port}`);
}

/** Applies `file` with a BackupSession for it and waits for the session's end. */
async function backup(file: string): Promise<{ session: BackupSession; requests: Arrived[]; connections: string[] }> {
  const name = (parse(readFileSync(join(CORPUS, file), 'utf8')) as { metadata: { name: string } }).metadata.name;
  const [r0, c0] = [requests.length, connections.length];
  await p.apply(example(file));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}-1, namespace: demo}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: ${name}}
`);
  const session = (await p.waitForPhase('BackupSession', 'demo', `${name}-1`, 30_000)) as BackupSession;
  await new Promise((r) => setTimeout(r, 300));
  return { session, requests: requests.slice(r0), connections: connections.slice(c0) };
}

function assertPreBackupSucceeded(s: Session): void {
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(cond((s as BackupSession).status?.targets?.[0]?.conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreBackupHook',
    message: 'Successfully executed preBackup hook.',
  });
}

test('HTTPGet, host and port specified: GET / arrives; Succeeded', async () => {
  const { session, requests } = await backup('configuring-hooks-httpget.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(
    requests.map((r) => [r.method, r.path, r.localAddress]),
    [['GET', '/', '127.0.0.1']],
  );
});

test('HTTPGet, host and port from the hook executor pod (port my-port of my-container): GET / arrives at the pod IP', async () => {
  const { session, requests } = await backup('configuring-hooks-httpget-named-port.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(
    requests.map((r) => [r.method, r.path, r.localAddress]),
    [['GET', '/', podIp]],
  );
});

test('HTTPGet with a custom header: User-Agent is "stash/0.9.x"', async () => {
  const { session, requests } = await backup('configuring-hooks-httpget-header.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['user-agent']]),
    [['GET', '/', 'stash/0.9.x']],
  );
});

test('HTTPPost with JSON data: the body arrives as the YAML gives it, with Content-Type application/json', async () => {
  const file = 'configuring-hooks-httppost-json.yaml';
  const { session, requests } = await backup(file);
  assertPreBackupSucceeded(session);
  const body = (parse(readFileSync(join(CORPUS, file), 'utf8')) as { spec: { hooks: { preBackup: { httpPost: { body: string } } } } }).spec.hooks.preBackup
    .httpPost.body;
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['content-type'], r.body]),
    [['POST', '/demo', 'application/json', body]],
  );
  assert.equal(JSON.parse(requests[0].body), { name: 'john doe', age: '28' });
});

test('HTTPPost with a URL-encoded form: Go url.Values.Encode (keys sorted) with the form Content-Type', async () => {
  const { session, requests } = await backup('configuring-hooks-httppost-form.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['content-type'], r.body]),
    [['POST', '/demo', 'application/x-www-form-urlencoded', 'age=28&name=john+doe']],
  );
});

test('TCPSocket, host and port specified: a connection arrives; Succeeded', async () => {
  const { session, requests, connections } = await backup('configuring-hooks-tcpsocket.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(connections, ['127.0.0.1']);
  assert.equal(requests, [], 'a TCP check, not an HTTP request');
});

test('TCPSocket, host and port from the hook executor pod: a connection arrives at the pod IP', async () => {
  const { session, connections } = await backup('configuring-hooks-tcpsocket-named-port.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(connections, [podIp]);
});

skipUnless(existsSync('/corrupted') ? '/corrupted already exists on this machine: the test will not touch it' : undefined)(
  'Exec preRestore "rm -rf /corrupted/data/directory" in my-container: the directory is gone; Succeeded',
  async () => {
    // devcluster runs exec as a local process: the example's absolute path is on this machine.
    const dir = '/corrupted/data/directory';
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'stale'), 'corrupted');
      await p.apply(example('configuring-hooks-exec-rm.yaml'));
      const session = await p.waitForPhase('RestoreSession', 'demo', 'configuring-hooks-exec-rm', 30_000);
      assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
      assert.equal(cond(session.status?.conditions, 'PreRestoreHookExecutionSucceeded'), {
        status: 'True',
        reason: 'SuccessfullyExecutedPreRestoreHook',
        message: 'Successfully executed preRestore hook.',
      });
      assert.not.ok(existsSync(dir), 'the hook removed the directory');
      assert.ok(existsSync('/corrupted/data'), 'and only the directory');
    } finally {
      rmSync('/corrupted', { recursive: true, force: true });
    }
  },
);

test('Exec, the four MySQL hooks: the same hooks as the MySQL guide examples run (or CRD-checked) in stash-docs-examples', () => {
  const hooksOf = (file: string) => (parse(readFileSync(join(CORPUS, file), 'utf8')) as { spec: { hooks: Record<string, unknown> } }).spec.hooks;
  assert.equal(hooksOf('configuring-hooks-exec-mysql-read-only.yaml'), hooksOf('mysql-pre-backup-hook.yaml'));
  // The guide's post-backup example carries the read-only preBackup too; the page's hook is its postBackup.
  assert.equal(hooksOf('configuring-hooks-exec-mysql-writable.yaml').postBackup, hooksOf('mysql-post-backup-hook.yaml').postBackup);
  assert.equal(hooksOf('configuring-hooks-exec-mysql-drop.yaml'), hooksOf('mysql-pre-restore-hook.yaml'));
  assert.equal(hooksOf('configuring-hooks-exec-mysql-rename.yaml'), hooksOf('mysql-post-restore-hook.yaml'));
});

test('BackupConfiguration concept page sample: both exec hooks run in my-app-container of stash-demo; Succeeded', async () => {
  await p.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: stash-demo, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: stash-demo}}
  template:
    metadata: {labels: {app: stash-demo}}
    spec:
      containers:
        - {name: my-app-container, image: busybox}
`);
  const { session } = await backup('concept-backupconfiguration.yaml');
  assertPreBackupSucceeded(session);
  assert.equal(cond(session.status?.targets?.[0]?.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Successfully executed postBackup hook.',
  });
});

test('RestoreSession concept page sample: both exec hooks run in stash-init (a running init container); Succeeded', async () => {
  // stash-init declared as a native sidecar (restartPolicy Always): a running init container in a Running pod,
  // which exec may enter; the variant below has it as Stash's plain init-container.
  await p.apply(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: recovered-statefulset, namespace: demo}
spec:
  replicas: 1
  serviceName: recovered-statefulset
  selector: {matchLabels: {app: recovered-statefulset}}
  template:
    metadata:
      labels: {app: recovered-statefulset}
    spec:
      initContainers:
        - {name: stash-init, image: stash, restartPolicy: Always}
      containers:
        - {name: app, image: busybox}
`);
  await p.apply(readFileSync(join(CORPUS, 'concept-restoresession.yaml'), 'utf8'));
  const session = await p.waitForPhase('RestoreSession', 'demo', 'statefulset-restore', 30_000);
  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  assert.equal(cond(session.status?.conditions, 'PreRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreRestoreHook',
    message: 'Successfully executed preRestore hook.',
  });
  assert.equal(cond(session.status?.conditions, 'PostRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostRestoreHook',
    message: 'Successfully executed postRestore hook.',
  });
});

test('RestoreSession concept page sample, stash-init as Stash injects it (pods initialising): both exec hooks run in stash-init, the restore init-container; Succeeded', async () => {
  // Stash restores while the pods initialise: its init-container stash-init runs, the app containers wait.
  await p.apply(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: recovered-statefulset-init, namespace: demo}
spec:
  replicas: 1
  serviceName: recovered-statefulset-init
  selector: {matchLabels: {app: recovered-statefulset-init}}
  template:
    metadata:
      labels: {app: recovered-statefulset-init}
      annotations: {${INIT_RUNNING_ANNOTATION}: stash-init}
    spec:
      initContainers:
        - {name: stash-init, image: stash}
      containers:
        - {name: app, image: busybox}
`);
  const sample = readFileSync(join(CORPUS, 'concept-restoresession.yaml'), 'utf8');
  await p.apply(
    sample.replace('name: statefulset-restore', 'name: statefulset-restore-init').replace('name: recovered-statefulset', 'name: recovered-statefulset-init'),
  );
  const session = (await p.waitForPhase('RestoreSession', 'demo', 'statefulset-restore-init', 30_000)) as RestoreSession;
  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  // As on the concept page's status: one entry per StatefulSet pod, named host-<ordinal>.
  assert.is(session.status?.totalHosts, 1);
  assert.equal(
    session.status?.stats?.map((h) => [h.hostname, h.phase]),
    [['host-0', 'Succeeded']],
  );
  assert.equal(cond(session.status?.conditions, 'PreRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreRestoreHook',
    message: 'Successfully executed preRestore hook.',
  });
  assert.equal(cond(session.status?.conditions, 'PostRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostRestoreHook',
    message: 'Successfully executed postRestore hook.',
  });
});

test('BackupBatch concept page sample: its global exec hooks run in no target pod, as in Stash (the operator pod), so the global preBackup fails, no member is backed up; Failed', async () => {
  // The members as the page names them: the AppBinding wordpress-mysql (its ref says apps/v1, and
  // Stash, like stash-hooks, goes by the kind), whose database pod even has the container
  // my-database-container the hooks name, and the Deployment wordpress.
  await p.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: wordpress-mysql, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: wordpress-mysql}}
  template:
    metadata: {labels: {app: wordpress-mysql}}
    spec:
      containers:
        - {name: my-database-container, image: mysql, ports: [{name: mysql, containerPort: 3306}]}
---
apiVersion: v1
kind: Service
metadata: {name: wordpress-mysql, namespace: demo}
spec:
  selector: {app: wordpress-mysql}
  ports: [{name: mysql, port: 3306, targetPort: mysql}]
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: wordpress-mysql, namespace: demo}
spec:
  clientConfig:
    service: {name: wordpress-mysql, port: 3306, scheme: mysql}
  type: kubedb.com/mysql
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: wordpress, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: wordpress}}
  template:
    metadata: {labels: {app: wordpress}}
    spec:
      containers:
        - {name: wordpress, image: wordpress}
`);
  await p.apply(readFileSync(join(CORPUS, 'concept-backupbatch.yaml'), 'utf8'));
  await p.apply(`
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: deploy-backup-batch-1, namespace: demo}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupBatch, name: deploy-backup-batch}
`);
  const session = (await p.waitForPhase('BackupSession', 'demo', 'deploy-backup-batch-1', 30_000)) as BackupSession;
  assert.is(session.status?.phase, 'Failed', JSON.stringify(session.status));
  // Stash runs a BackupBatch's global hooks with the operator's own pod as the executor (stash
  // pkg/controller/backup_session.go, executeGlobalPreBackupHook: ExecutorPod = meta.PodNamespace()/
  // meta.PodName()); that pod has no container my-database-container, so the exec fails there.
  // stash-hooks runs a global exec hook only where executor.pod says, and says so.
  assert.equal(cond(session.status?.conditions, 'GlobalPreBackupHookSucceeded'), {
    status: 'False',
    reason: 'GlobalPreBackupHookExecutionFailed',
    message: "Failed to execute global PreBackup Hook. Reason: preBackup.exec: a global hook runs in no target's pods; set executor.pod to choose them.",
  });
  assert.is(cond(session.status?.conditions, 'GlobalPostBackupHookSucceeded'), undefined, 'no global post after a failed global pre');
  assert.not.ok(
    p.history.some((o) => o.name === 'deploy-backup-batch-1' && ((o.status as BackupSession['status'])?.targets ?? []).some((t) => t.phase === 'Running')),
    'no member was backed up',
  );
});

test.run();
