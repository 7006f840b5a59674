// Stash's published hook examples (test/corpus/stash-docs/, copied from stashed/docs with their
// source path) applied to devcluster unchanged apart from `host`, with the outcomes Stash's docs
// describe: the BackupSession/RestoreSession phase, the hook conditions and the request that
// arrived. The Slack examples POST over HTTPS to port 443, so the sink is a real TLS server on
// port 443 of a private loopback address, with a certificate from a CA the test creates; Node
// reads extra CAs only at start, so this file re-runs itself with NODE_EXTRA_CA_CERTS set.
//
// The MySQL guide's restore examples exec into the `mysql` container of the pod behind the
// AppBinding and run the `mysql` client against a real database server: MariaDB (this machine's
// `mariadbd`), which serves those statements as MySQL does. Its backup examples
// (`SET GLOBAL super_read_only`) need MySQL itself — MariaDB has no such variable — and no MySQL
// server can be had here (see MYSQL_UNAVAILABLE), so they are checked against the CRDs and
// registered as counted skips.
//
// The Slack examples (and the hooks overview page's OnFailure Slack hook) are Go `text/template` + sprig,
// rendered by the Go dialect (docs/templating.md). The Configuring Hooks page and the CRD concept pages'
// samples run in stash-docs-concepts.test.ts.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exec } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { startDevCluster } from '../../devcluster/index.js';
import { applyObjects, readManifests } from '../../cli/apply.js';
import { startPipeline, appYaml, cond, CRD_FILES, type Pipeline } from '../helpers/pipeline.js';
import { skipUnless } from '../helpers/skip.js';
import type { BackupSession, Session } from '../../shared/resources.js';

const TLS_DIR_ENV = 'STASH_DOCS_TLS_DIR';

if (!process.env[TLS_DIR_ENV]) {
  // Bootstrap (the imports above have no side effects): a CA and a server certificate for a random 127.0.43.x, then this file again.
  const dir = mkdtempSync(join(tmpdir(), 'stash-docs-tls-'));
  const ip = `127.0.43.${2 + Math.floor(Math.random() * 250)}`;
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=stash-docs-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${ip}`, '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('san.ext'), `subjectAltName=IP:${ip}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.crt'),
  );
  writeFileSync(f('ip'), ip);
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, [TLS_DIR_ENV]: dir, NODE_EXTRA_CA_CERTS: f('ca.crt') },
  });
  rmSync(dir, { recursive: true, force: true });
  process.exit(r.status ?? 1);
}

const CORPUS = fileURLToPath(new URL('../corpus/stash-docs/', import.meta.url));
const TLS_DIR = process.env[TLS_DIR_ENV]!;
const SINK_IP = readFileSync(join(TLS_DIR, 'ip'), 'utf8');
const FAILED = { 'devcluster.stash-hooks.dev/backup-result': 'Failed', 'devcluster.stash-hooks.dev/backup-error': 'path /path/does/not/exist not found' };

interface Received {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let p: Pipeline;
let slack: Server;
const received: Received[] = [];

test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
  slack = createServer({ key: readFileSync(join(TLS_DIR, 'server.key')), cert: readFileSync(join(TLS_DIR, 'server.crt')) }, (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => slack.once('error', reject).listen(443, SINK_IP, () => resolve()));
});
test.after(async () => {
  slack?.closeAllConnections();
  await new Promise((r) => (slack ? slack.close(r) : r(undefined)));
  await p?.close();
});

/** The example's text as published, with the Slack host pointed at the sink: the only change. */
function example(file: string): string {
  return readFileSync(join(CORPUS, file), 'utf8').replaceAll('host: hooks.slack.com', `host: ${SINK_IP}`);
}

/** The BackupSession Stash's CronJob would create for `invoker`. */
function backupSession(name: string, kind: 'BackupConfiguration' | 'BackupBatch', invoker: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${name}, namespace: demo}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: ${kind}, name: ${invoker}}
`;
}

/** The Deployment `stash-demo` in `demo`, backing up fine or failing as the docs' `/path/does/not/exist` does. */
async function stashDemo(failing: boolean): Promise<void> {
  await p.apply(appYaml('demo', 'stash-demo', failing ? { annotations: FAILED } : {}));
  // The invoker of the next session may have changed: let the workers' 1 s invoker cache expire.
  await new Promise((r) => setTimeout(r, 1200));
}

async function run(kind: 'BackupSession' | 'RestoreSession', name: string): Promise<{ session: Session; requests: Received[] }> {
  const from = received.length;
  const session = await p.waitForPhase(kind, 'demo', name, 30_000);
  await new Promise((r) => setTimeout(r, 300));
  return { session, requests: received.slice(from) };
}

/**
 * Go's output for the Slack guide's `{{if eq .Status.Phase `Succeeded`}} A {{else}} B {{end}}`
 * body: the chosen branch kept verbatim (text/template keeps every space and newline around
 * actions without `-`), the fields substituted, the whole trimmed as Stash trims hook bodies.
 */
function goIfElse(template: string, phase: string, fields: Record<string, string>): string {
  const m = /\{\{if eq \.Status\.Phase `Succeeded`\}\}([\s\S]*?)\{\{else\}\}([\s\S]*?)\{\{end\}\}/.exec(template)!;
  let out = template.slice(0, m.index) + (phase === 'Succeeded' ? m[1] : m[2]) + template.slice(m.index + m[0].length);
  for (const [k, v] of Object.entries(fields)) out = out.replace(new RegExp(`\\{\\{ ?\\.${k.replace('.', '\\.')} ?\\}\\}`, 'g'), v);
  return out.trim();
}

const bodyOf = (file: string, hook: string): string =>
  (parse(example(file)) as { spec: { hooks: Record<string, { httpPost: { body: string } }> } }).spec.hooks[hook].httpPost.body;

test('every example is accepted by the CRDs in k8s-manifests unchanged, hooks intact', async () => {
  const cluster = await startDevCluster({ backupSeconds: 0.2 });
  try {
    await applyObjects(cluster.kubeConfig, readManifests(...CRD_FILES));
    await applyObjects(
      cluster.kubeConfig,
      parseAllDocuments('apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n').map((d) => d.toJS()),
    );
    const files = readdirSync(CORPUS)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    assert.ok(files.length >= 9, files.join(', '));
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      assert.match(text, /^# Source: stashed\/docs docs\//, `${file} names its source`);
      const obj = parse(text) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: { hooks?: unknown } };
      // A fresh name per file: several examples share one (deployment-backup).
      const named = { ...obj, metadata: { ...obj.metadata, name: file.replace(/\.yaml$/, '') } };
      try {
        const [stored] = await applyObjects(cluster.kubeConfig, [named as never]);
        const hooks = (stored as unknown as { spec: { hooks?: unknown } }).spec.hooks;
        if (JSON.stringify(hooks) !== JSON.stringify(obj.spec.hooks)) problems.push(`${file}: hooks changed by the API server: ${JSON.stringify(hooks)}`);
      } catch (err) {
        problems.push(`${file}: rejected: ${(err as Error).message}`);
      }
    }
    assert.equal(problems, [], problems.join('\n'));
  } finally {
    await cluster.close();
  }
});

test('BackupBatch WordPress example (batch-backup guide): Slack gets "Backup started" before the members and "Backup has been completed" after; Succeeded', async () => {
  await p.apply(appYaml('demo', 'wordpress-deployment'));
  await p.apply(example('batch-wordpress-backup.yaml'));
  await p.apply(backupSession('wordpress-backup-1', 'BackupBatch', 'wordpress-backup'));
  const { session, requests } = await run('BackupSession', 'wordpress-backup-1');
  const s = session as BackupSession;

  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  assert.equal(
    s.status?.targets?.map((t) => t.phase),
    ['Succeeded', 'Succeeded'],
  );
  assert.equal(cond(s.status?.conditions, 'GlobalPreBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPreBackupHookExecutedSuccessfully',
    message: 'Global PreBackup hook has been executed successfully',
  });
  assert.equal(cond(s.status?.conditions, 'GlobalPostBackupHookSucceeded'), {
    status: 'True',
    reason: 'GlobalPostBackupHookExecutedSuccessfully',
    message: 'Global PostBackup hook has been executed successfully',
  });
  const path = '/services/TXXXXX/BXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXX';
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['content-type']]),
    [
      ['POST', path, 'application/json'],
      ['POST', path, 'application/json'],
    ],
  );
  // Not a template (no `{{`): each body is sent exactly as the YAML gives it, and is the JSON Slack expects.
  assert.equal(
    requests.map((r) => r.body),
    [bodyOf('batch-wordpress-backup.yaml', 'preBackup'), bodyOf('batch-wordpress-backup.yaml', 'postBackup')],
  );
  assert.equal(
    JSON.parse(requests[0].body).blocks[1].text.text,
    'Backup started for *wordpress-backup*.\n *Targets:*\n- deployment/wordpress-deployment\n- mysql/wordpress-mysql',
  );
  assert.equal(JSON.parse(requests[1].body).blocks[0].text.text, 'Backup has been completed for *wordpress-backup*.');
  const firstRunning = p.firstSeen(
    'BackupSession',
    'demo',
    'wordpress-backup-1',
    (st) => (st as BackupSession['status'])?.targets?.some((t) => t.phase === 'Running') ?? false,
  )!;
  const allDone = p.firstSeen(
    'BackupSession',
    'demo',
    'wordpress-backup-1',
    (st) => (st as BackupSession['status'])?.targets?.every((t) => t.phase === 'Succeeded') ?? false,
  )!;
  assert.ok(requests[0].at < firstRunning, 'the "started" message before any member\'s backup');
  assert.ok(allDone < requests[1].at, 'the "completed" message after every member\'s backup');
});

test('Slack guide, backupconfiguration.yaml: a succeeded backup posts the ":white_check_mark:" branch of the if/else template', async () => {
  await stashDemo(false);
  await p.apply(example('slack-backupconfiguration.yaml'));
  await p.apply(backupSession('deployment-backup-1', 'BackupConfiguration', 'deployment-backup'));
  const { session, requests } = await run('BackupSession', 'deployment-backup-1');

  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  assert.equal(cond((session as BackupSession).status?.targets?.[0]?.conditions, 'PostBackupHookExecutionSucceeded')?.status, 'True');
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['content-type']]),
    [['POST', '/services/XX/XXX/XXXX', 'application/json']],
  );
  assert.is(
    requests[0].body,
    goIfElse(bodyOf('slack-backupconfiguration.yaml', 'postBackup'), 'Succeeded', { Namespace: 'demo', 'Target.Name': 'stash-demo', 'Status.Error': '' }),
  );
  assert.match(requests[0].body, /\n\s+:white_check_mark: Backup succeeded for demo\/stash-demo\n/);
});

test('Slack guide, all_backup_notification.yaml (Always): "Backup completed for demo/stash-demo Status: Succeeded." as a JSON block', async () => {
  await stashDemo(false);
  await p.apply(example('slack-all-backup-notification.yaml'));
  await p.apply(backupSession('deployment-backup-2', 'BackupConfiguration', 'deployment-backup'));
  const { session, requests } = await run('BackupSession', 'deployment-backup-2');

  assert.is(session.status?.phase, 'Succeeded');
  assert.is(requests.length, 1);
  // sprig's toJson is Go's json.Marshal: map keys sorted, so "text" before "type".
  assert.is(
    requests[0].body,
    '{\n  "blocks": [\n      {\n        "type": "section",\n        "text": {"text":"Backup completed for demo/stash-demo Status: Succeeded.","type":"mrkdwn"}\n      }\n    ]\n}',
  );
});

test('Slack guide, failed_backup_notification.yaml (OnFailure): a failed backup posts ":x: Backup failed … Reason: …"; the session is Failed', async () => {
  await stashDemo(true);
  await p.apply(example('slack-failed-backup-notification.yaml'));
  await p.apply(backupSession('deployment-backup-3', 'BackupConfiguration', 'deployment-backup'));
  const { session, requests } = await run('BackupSession', 'deployment-backup-3');

  assert.is(session.status?.phase, 'Failed');
  assert.is(requests.length, 1);
  assert.is(
    requests[0].body,
    '{\n  "blocks": [\n      {\n        "type": "section",\n        "text": {"text":":x: Backup failed for demo/stash-demo Reason: path /path/does/not/exist not found.","type":"mrkdwn"}\n      }\n    ]\n}',
  );
});

test('Slack guide, failed_backup_notification.yaml (OnFailure): a succeeded backup posts nothing; the skip is recorded', async () => {
  await stashDemo(false);
  await p.apply(example('slack-failed-backup-notification.yaml'));
  await p.apply(backupSession('deployment-backup-4', 'BackupConfiguration', 'deployment-backup'));
  const { session, requests } = await run('BackupSession', 'deployment-backup-4');

  assert.is(session.status?.phase, 'Succeeded');
  assert.equal(requests, []);
  assert.equal(cond((session as BackupSession).status?.targets?.[0]?.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".',
  });
});

test('Hooks overview page, "Templating Support in Hook" (OnFailure): a failed backup posts ":x: Backup failed … Reason: …"; Failed', async () => {
  await stashDemo(true);
  await p.apply(example('hooks-overview-failed-backup-slack.yaml'));
  await p.apply(backupSession('hooks-overview-slack-1', 'BackupConfiguration', 'hooks-overview-slack'));
  const { session, requests } = await run('BackupSession', 'hooks-overview-slack-1');

  assert.is(session.status?.phase, 'Failed');
  assert.equal(
    requests.map((r) => [r.method, r.path, r.headers['content-type']]),
    [['POST', '/services/XX/XXX/XXXX', 'application/json']],
  );
  // Go: `{{-`/`-}}` eat the whitespace around the first action; the block scalar's own indentation is YAML's.
  assert.is(
    requests[0].body,
    '{\n  "blocks": [\n      {\n        "type": "section",\n        "text": {"text":":x: Backup failed for demo/stash-demo Reason: path /path/does/not/exist not found.","type":"mrkdwn"}\n      }\n    ]\n}',
  );
});

test('Hooks overview page, "Templating Support in Hook" (OnFailure): a succeeded backup posts nothing; the skip is recorded', async () => {
  await stashDemo(false);
  await p.apply(example('hooks-overview-failed-backup-slack.yaml'));
  await p.apply(backupSession('hooks-overview-slack-2', 'BackupConfiguration', 'hooks-overview-slack'));
  const { session, requests } = await run('BackupSession', 'hooks-overview-slack-2');

  assert.is(session.status?.phase, 'Succeeded');
  assert.equal(requests, []);
  assert.equal(cond((session as BackupSession).status?.targets?.[0]?.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".',
  });
});

test('Slack guide, restoresession.yaml: a succeeded restore posts the ":white_check_mark: Restore succeeded" branch', async () => {
  await stashDemo(false);
  await p.apply(example('slack-restoresession.yaml'));
  const { session, requests } = await run('RestoreSession', 'deployment-restore');

  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  assert.is(cond(session.status?.conditions, 'PostRestoreHookExecutionSucceeded')?.status, 'True');
  assert.equal(
    requests.map((r) => [r.method, r.path]),
    [['POST', '/services/XX/XXX/XXXX']],
  );
  assert.is(
    requests[0].body,
    goIfElse(bodyOf('slack-restoresession.yaml', 'postRestore'), 'Succeeded', { Namespace: 'demo', 'Target.Name': 'stash-demo', 'Status.Error': '' }),
  );
});

const DB_PASSWORD = 'CWg2hru8b0Yu7dzS';

/** A private MariaDB server on a Unix socket (no TCP). */
interface MariaDb {
  socket: string;
  query(sql: string): string;
  close(): Promise<void>;
}

async function startMariaDb(): Promise<MariaDb> {
  const dir = mkdtempSync(join(tmpdir(), 'stash-docs-mariadb-'));
  const socket = join(dir, 'sock');
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, '--user=root', '--auth-root-authentication-method=normal'], { stdio: 'pipe' });
  const server: ChildProcess = spawn(
    'mariadbd',
    ['--no-defaults', `--datadir=${dir}/data`, `--socket=${socket}`, '--skip-networking', '--user=root', `--pid-file=${dir}/pid`],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`mariadbd did not start (exit ${server.exitCode})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const run = (sql: string, password?: string) =>
    execFileSync('mariadb', ['--no-defaults', '-S', socket, '-u', 'root', ...(password ? [`--password=${password}`] : []), '-N', '-B', '-e', sql], {
      encoding: 'utf8',
    });
  run(`ALTER USER root@localhost IDENTIFIED BY '${DB_PASSWORD}';`);
  return {
    socket,
    query: (sql) => run(sql, DB_PASSWORD),
    close: async () => {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The docs' KubeDB setup, by hand: Secret, a one-pod StatefulSet with container `mysql`, Service, AppBinding. */
const SAMPLE_MYSQL = `
apiVersion: v1
kind: Secret
metadata: {name: sample-mysql-auth, namespace: demo}
data: {username: ${Buffer.from('root').toString('base64')}, password: ${Buffer.from(DB_PASSWORD).toString('base64')}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sample-mysql, namespace: demo}
spec:
  replicas: 1
  serviceName: sample-mysql
  selector: {matchLabels: {app.kubernetes.io/instance: sample-mysql}}
  template:
    metadata: {labels: {app.kubernetes.io/instance: sample-mysql}}
    spec:
      containers:
        - name: mysql
          image: mysql:8.0.27
          ports: [{name: db, containerPort: 3306}]
          env:
            - name: MYSQL_ROOT_PASSWORD
              valueFrom: {secretKeyRef: {name: sample-mysql-auth, key: password}}
---
apiVersion: v1
kind: Service
metadata: {name: sample-mysql, namespace: demo}
spec:
  selector: {app.kubernetes.io/instance: sample-mysql}
  ports: [{name: db, port: 3306, targetPort: db}]
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: sample-mysql, namespace: demo}
spec:
  clientConfig:
    service: {name: sample-mysql, path: /, port: 3306, scheme: mysql}
    url: tcp(sample-mysql:3306)/
  secret: {name: sample-mysql-auth}
  type: kubedb.com/mysql
  version: 8.0.14
`;

const hasCommand = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** Why the MariaDB-backed examples cannot run here, or undefined when they can. */
function mariadbUnavailable(): string | undefined {
  const missing = ['mariadbd', 'mariadb-install-db', 'mariadb'].filter((bin) => !hasCommand(bin));
  return missing.length ? `MariaDB is not installed (no ${missing.join(', ')} on PATH; apt-get install -y mariadb-server)` : undefined;
}

/**
 * Why the MySQL guide's backup hooks (`SET GLOBAL super_read_only = ON/OFF`) cannot run here
 * (MariaDB has `read_only` only); a stand-in that accepted the statement would test nothing of MySQL.
 */
const MYSQL_UNAVAILABLE =
  'needs an Oracle MySQL server (SET GLOBAL super_read_only): MariaDB has no super_read_only, Debian 12 ships no mysql-server (default-mysql-server is MariaDB) and npm mysql-memory-server downloads MySQL from cdn.mysql.com at run time, unreachable here; the hooks are checked against the CRDs only';

let db: MariaDb | undefined;
const dbTest = skipUnless(mariadbUnavailable());

async function execIn(pod: string, container: string, command: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    void new Exec(p.kubeConfig).exec('demo', pod, container, command, null, null, null, false, (status) =>
      status.status === 'Success' ? resolve() : reject(new Error(`exec ${command.join(' ')}: ${JSON.stringify(status)}`)),
    );
  });
}

const SEED =
  'CREATE DATABASE companyRecord; CREATE TABLE companyRecord.employee (id INT, name VARCHAR(50), salary INT, PRIMARY KEY(id)); INSERT INTO companyRecord.employee (id, name, salary) VALUES (1, "John Doe", 5000);';

dbTest('MySQL guide setup: a database, and its pod found through the AppBinding', async () => {
  db = await startMariaDb();
  await p.apply(SAMPLE_MYSQL);
  // The image's client configuration: the database is on this socket (the kubelet would give
  // the container its own network; here every pod shares the machine).
  const pod = await (async () => {
    for (let i = 0; i < 100; i++) {
      const pods = await p.core.listNamespacedPod({ namespace: 'demo', labelSelector: 'app.kubernetes.io/instance=sample-mysql' });
      const ready = pods.items.find((x) => x.status?.phase === 'Running');
      if (ready) return ready.metadata!.name!;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no running sample-mysql pod');
  })();
  await execIn(pod, 'mysql', ['sh', '-c', `printf '[client]\\nsocket=${db.socket}\\n' > "$HOME/.my.cnf"`]);
});

dbTest('MySQL guide, pre_restore_hook_demo.yaml: preRestore drops the corrupted companyRecord database in the mysql container; Succeeded', async () => {
  db!.query(SEED);
  await p.apply(example('mysql-pre-restore-hook.yaml'));
  const { session } = await run('RestoreSession', 'pre-restore-hook-demo');

  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  assert.equal(cond(session.status?.conditions, 'PreRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPreRestoreHook',
    message: 'Successfully executed preRestore hook.',
  });
  assert.is(db!.query("SHOW DATABASES LIKE 'companyRecord';"), '', 'the hook dropped the database before the restore');
});

dbTest('MySQL guide, post_restore_hook_demo.yaml: postRestore renames employee to salaryRecord after the restore; Succeeded', async () => {
  db!.query(SEED); // what the restore brings back
  await p.apply(example('mysql-post-restore-hook.yaml'));
  const { session } = await run('RestoreSession', 'post-restore-hook-demo');

  assert.is(session.status?.phase, 'Succeeded', JSON.stringify(session.status));
  assert.equal(cond(session.status?.conditions, 'PostRestoreHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostRestoreHook',
    message: 'Successfully executed postRestore hook.',
  });
  assert.is(db!.query('SHOW TABLES IN companyRecord;'), 'salaryRecord\n');
  assert.is(db!.query('SELECT * FROM companyRecord.salaryRecord;'), '1\tJohn Doe\t5000\n');
});

skipUnless(MYSQL_UNAVAILABLE)(
  'MySQL guide, pre_backup_hook_demo.yaml: preBackup makes the database read-only (SET GLOBAL super_read_only = ON); Succeeded',
  () => {},
);

skipUnless(MYSQL_UNAVAILABLE)(
  'MySQL guide, post_backup_hook_demo.yaml: preBackup read-only, postBackup writable again (SET GLOBAL super_read_only = OFF); Succeeded',
  () => {},
);

test('MySQL guide: stop the database', async () => {
  await db?.close();
  db = undefined;
});

test.run();
