// runHandler against devcluster pods and loopback servers: targeting (workloads, AppBinding,
// executor.pod, named ports), exec (exit 0, exit 3, timeout, unknown container, missing pod),
// fan-out failures, secret headers, templates, action order, the guard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { failure } from '../fixtures/execution/expect-failure.js';
import type { Handler } from '../../shared/resources.js';
import type { Summary } from '../../shared/summary.js';
import { runHandler } from '../../workers/execution/run-handler.js';
import type { ExecutionDeps, HookContext } from '../../workers/execution/types.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { NS, SLACK_TOKEN, setPodReady, startExecutionCluster, waitForEndpoints, type ExecutionCluster } from '../fixtures/execution/cluster.js';
import { startHttpServer, startTcpServer, type TestServer } from '../fixtures/execution/servers.js';

const summary: Summary = {
  name: 'db-backup-1700000000',
  namespace: NS,
  invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'db-backup' },
  target: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: NS },
  status: { phase: 'Failed', duration: '1m5s', error: 'failed to backup host-0. Reason: path not found' },
  retryLeft: 0,
};

let env: ExecutionCluster;
let anchorHttp: TestServer; // holds port P on 127.0.0.1 while pods' servers bind P on their IPs
let anchorSql: TestServer;
const podServers: Record<string, TestServer> = {};
let dbSql: TestServer;
const logLines: string[] = [];
let deps: ExecutionDeps;

const ip = (pod: string) => env.pods[pod].status!.podIP!;
function ctx(over: Partial<HookContext> = {}): HookContext {
  return { hookName: 'preBackup', scope: 'local', namespace: NS, target: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, summary, ...over };
}
const target = (kind: string, name: string, apiVersion = 'apps/v1') => ({ target: { apiVersion, kind, name } });

test.before(async () => {
  anchorHttp = await startHttpServer('127.0.0.1');
  anchorSql = await startHttpServer('127.0.0.1');
  env = await startExecutionCluster({ http: anchorHttp.port, mysql: 1, sql: anchorSql.port });
  for (const pod of ['web-0', 'web-1']) {
    podServers[pod] = await startHttpServer(ip(pod), anchorHttp.port);
    podServers[pod].routes.set('/who', (_r, res) => res.writeHead(200).end(pod));
  }
  dbSql = await startHttpServer(ip('db-0'), anchorSql.port);
  dbSql.routes.set('/echo', (r, res) => res.writeHead(200).end(JSON.stringify(r.headers)));
  deps = {
    kube: env.kube,
    // The Service name resolves to the pod behind it; nothing leaves loopback.
    network: { allowLoopback: true, deny: ['127.0.0.99/32'], lookup: async (h) => [{ address: h === `db.${NS}.svc` ? ip('db-0') : '127.0.0.1', family: 4 }] },
    maxParallel: 4,
    log: (_level, msg, fields) => logLines.push(`${msg} ${JSON.stringify(fields ?? {})}`),
  };
});
test.after(async () => {
  for (const s of [...Object.values(podServers), dbSql, anchorHttp, anchorSql]) await s?.close();
  await env?.close();
});

test('exec runs in every running pod of a StatefulSet, in the first container by default', async () => {
  const r = await runHandler({ exec: { command: ['sh', '-c', 'echo "$POD_NAME/$CONTAINER_NAME"'] } }, ctx(target('StatefulSet', 'web')), deps);
  assert.equal(r.actions, ['exec']);
  // What a successful command prints is not kept (DESIGN §11); `where` says where it ran.
  assert.equal(
    r.hosts.map((h) => [h.where, h.exitCode, h.output]),
    [
      [`pod ${NS}/web-0 container app`, 0, ''],
      [`pod ${NS}/web-1 container app`, 0, ''],
    ],
  );
});

test('exec runs in one pod of a Deployment: the first Ready one by name when no leader lock is held', async () => {
  const r = await runHandler({ exec: { command: ['sh', '-c', 'echo $POD_NAME'] } }, ctx(target('Deployment', 'api')), deps);
  const first = Object.keys(env.pods)
    .filter((n) => n.startsWith('api-'))
    .sort()[0];
  // Success output is not kept (DESIGN §11): where it ran is the evidence.
  assert.equal(
    r.hosts.map((h) => h.where),
    [`pod ${NS}/${first} container app`],
  );
});

test('exec exit code 3 fails with the stderr tail', async () => {
  const err = await failure(
    runHandler({ exec: { command: ['sh', '-c', 'echo starting; echo "table locked" >&2; exit 3'] }, containerName: 'mysql' }, ctx(), deps),
  );
  assert.is(err.message, `exec in pod ${NS}/db-0 container mysql exited with code 3: table locked`);
  assert.is(err.code, 'ERR_HOOK_FAILED');
});

test('one failing pod of two fails the hook and the message names it', async () => {
  const err = await failure(
    runHandler(
      { exec: { command: ['sh', '-c', 'if [ "$POD_NAME" = web-1 ]; then echo bad >&2; exit 5; fi; echo fine'] } },
      ctx(target('StatefulSet', 'web')),
      deps,
    ),
  );
  assert.is(err.message, `exec failed on 1 of 2 hosts: exec in pod ${NS}/web-1 container app exited with code 5: bad`);
});

test('a hanging exec is ended by timeoutSeconds', async () => {
  const err = await failure(runHandler({ exec: { command: ['sleep', '30'] }, timeoutSeconds: 1 }, ctx(), deps));
  assert.is(err.message, `exec in pod ${NS}/db-0 container mysql timed out after 1s`);
  assert.is(err.code, 'ERR_HOOK_TIMEOUT');
});

test('an unknown container is named with the ones that exist', async () => {
  const err = await failure(runHandler({ exec: { command: ['true'] }, containerName: 'postgres' }, ctx(), deps));
  assert.is(err.message, `container "postgres" not found in pod ${NS}/db-0 (containers: mysql, metrics)`);
  assert.is(err.code, 'ERR_TARGET');
});

test('missing pods and workloads are named', async () => {
  const noPod = await failure(runHandler({ exec: { command: ['true'] }, executor: { pod: { selector: 'app=ghost' } } }, ctx(), deps));
  assert.is(noPod.message, `no running pod matches executor.pod selector "app=ghost" in namespace ${NS}`);
  assert.is(noPod.code, 'ERR_TARGET');
  const noWorkload = await failure(runHandler({ exec: { command: ['true'] } }, ctx(target('Deployment', 'ghost')), deps));
  assert.is(noWorkload.message, `Deployment ${NS}/ghost not found`);
});

test('executor.pod: ExecuteOnOne picks one pod, ExecuteOnAll every one', async () => {
  const one = await runHandler(
    { exec: { command: ['sh', '-c', 'echo $POD_NAME'] }, executor: { pod: { selector: 'app=web', strategy: 'ExecuteOnOne' } } },
    ctx({ scope: 'global', target: undefined }),
    deps,
  );
  assert.equal(
    one.hosts.map((h) => h.where),
    [`pod ${NS}/web-0 container app`],
  );
  const all = await runHandler(
    { exec: { command: ['sh', '-c', 'echo $POD_NAME'] }, executor: { pod: { selector: 'app=web', strategy: 'ExecuteOnAll', namespace: NS } } },
    ctx({ scope: 'global', target: undefined }),
    deps,
  );
  assert.equal(
    all.hosts.map((h) => h.where),
    [`pod ${NS}/web-0 container app`, `pod ${NS}/web-1 container app`],
  );
});

test('AppBinding with a Service: exec runs in the endpoint pod', async () => {
  const r = await runHandler(
    { exec: { command: ['sh', '-c', 'echo $POD_NAME/$CONTAINER_NAME'] } },
    ctx(target('AppBinding', 'db', 'appcatalog.appscode.com/v1alpha1')),
    deps,
  );
  assert.equal(
    r.hosts.map((h) => h.where),
    [`pod ${NS}/db-0 container mysql`],
  );
});

test('AppBinding: the first ready endpoint pod, else the first not-ready one', async () => {
  const core = env.cluster.kubeConfig.makeApiClient(CoreV1Api);
  const cache = ctx(target('AppBinding', 'cache', 'appcatalog.appscode.com/v1alpha1'));
  const whereRuns = async () =>
    (await runHandler({ exec: { command: ['sh', '-c', 'echo $POD_NAME'] } }, cache, deps)).hosts.map((h) => h.where.split(' ')[1].split('/')[1]);
  await waitForEndpoints(core, 'cache', ['cache-0', 'cache-1'], []);
  assert.equal(await whereRuns(), ['cache-0']);
  await setPodReady(core, 'cache-0', false);
  await waitForEndpoints(core, 'cache', ['cache-1'], ['cache-0']);
  assert.equal(await whereRuns(), ['cache-1'], 'a ready pod wins over an earlier not-ready one');
  await setPodReady(core, 'cache-1', false);
  await waitForEndpoints(core, 'cache', [], ['cache-0', 'cache-1']);
  assert.equal(await whereRuns(), ['cache-0'], 'no ready pod: the first not-ready one');
});

test("AppBinding endpoints are chosen per subset: a subset's not-ready pod comes before a later subset's ready one", async () => {
  const core = env.cluster.kubeConfig.makeApiClient(CoreV1Api);
  // Pods that resolve the Service's named targetPort to different numbers land in different subsets.
  for (const [name, port] of [
    ['multi-a', 1001],
    ['multi-b', 1002],
  ] as const) {
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name, labels: { app: 'multi' } },
        spec: { containers: [{ name: 'db', image: 'db:1', ports: [{ name: 'db', containerPort: port }] }] },
      },
    });
  }
  await core.createNamespacedService({
    namespace: NS,
    body: { metadata: { name: 'multi' }, spec: { selector: { app: 'multi' }, ports: [{ name: 'db', port: 5432, targetPort: 'db' }] } },
  });
  await env.kube.custom.createNamespacedCustomObject({
    group: 'appcatalog.appscode.com',
    version: 'v1alpha1',
    namespace: NS,
    plural: 'appbindings',
    body: {
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: 'multi' },
      spec: { clientConfig: { service: { name: 'multi', port: 5432 } } },
    },
  });
  await setPodReady(core, 'multi-a', false);
  await waitForEndpoints(core, 'multi', ['multi-b'], ['multi-a']);
  const ep = await core.readNamespacedEndpoints({ namespace: NS, name: 'multi' });
  assert.equal(
    ep.subsets!.map((s) => [(s.addresses ?? []).map((a) => a.targetRef!.name), (s.notReadyAddresses ?? []).map((a) => a.targetRef!.name)]),
    [
      [[], ['multi-a']],
      [['multi-b'], []],
    ],
  );
  const r = await runHandler(
    { exec: { command: ['sh', '-c', 'echo $POD_NAME'] } },
    ctx(target('AppBinding', 'multi', 'appcatalog.appscode.com/v1alpha1')),
    deps,
  );
  assert.equal(
    r.hosts.map((h) => h.where.split(' ')[1].split('/')[1]),
    ['multi-a'],
  );
});

test('a lower-case scheme and a numeric-string port work as in Stash', async () => {
  const before = podServers['web-0'].received.length;
  const r = await runHandler({ httpGet: { host: ip('web-0'), port: String(anchorHttp.port), scheme: 'http', path: '/who' } }, ctx(), deps);
  assert.equal(
    r.hosts.map((h) => [h.where, h.output]),
    [[`http://${ip('web-0')}:${anchorHttp.port}/who`, 'web-0']],
  );
  assert.is(podServers['web-0'].received.length, before + 1);
  const tcp = await runHandler({ tcpSocket: { host: ip('web-0'), port: String(anchorHttp.port) } }, ctx(), deps);
  assert.equal(
    tcp.hosts.map((h) => h.where),
    [`${ip('web-0')}:${anchorHttp.port}`],
  );
});

test('AppBinding with only a URL cannot take an exec hook, and the message names it', async () => {
  const err = await failure(runHandler({ exec: { command: ['true'] } }, ctx(target('AppBinding', 'external', 'appcatalog.appscode.com/v1alpha1')), deps));
  assert.is(
    err.message,
    `AppBinding ${NS}/external has only clientConfig.url (mysql://db.example.com:3306/), so an exec hook has no pod to run in; set executor.pod to choose one`,
  );
  assert.is(err.code, 'ERR_TARGET');
  const missing = await failure(runHandler({ exec: { command: ['true'] } }, ctx(target('AppBinding', 'nope', 'appcatalog.appscode.com/v1alpha1')), deps));
  assert.is(missing.message, `AppBinding ${NS}/nope not found`);
});

test('AppBinding HTTP without host goes to the Service, a named port through the Service ports', async () => {
  const before = dbSql.received.length;
  const r = await runHandler({ httpGet: { port: 'sql', path: '/health' } }, ctx(target('AppBinding', 'db', 'appcatalog.appscode.com/v1alpha1')), deps);
  assert.equal(
    r.hosts.map((h) => [h.where, h.statusCode]),
    [[`http://db.${NS}.svc:${anchorSql.port}/health`, 200]],
  );
  assert.is(dbSql.received[before].url, '/health');
});

test('workload HTTP without host goes to each pod IP; a named port resolves through the container ports', async () => {
  const r = await runHandler({ httpGet: { port: 'http', path: '/who' } }, ctx(target('StatefulSet', 'web')), deps);
  assert.equal(
    r.hosts.map((h) => [h.where, h.output]),
    [
      [`http://${ip('web-0')}:${anchorHttp.port}/who`, 'web-0'],
      [`http://${ip('web-1')}:${anchorHttp.port}/who`, 'web-1'],
    ],
  );
  const tcp = await runHandler({ tcpSocket: { port: 'http' } }, ctx(target('StatefulSet', 'web')), deps);
  assert.equal(
    tcp.hosts.map((h) => h.where),
    [`${ip('web-0')}:${anchorHttp.port}`, `${ip('web-1')}:${anchorHttp.port}`],
  );
  const missing = await failure(runHandler({ httpGet: { port: 'metrics' } }, ctx(target('StatefulSet', 'web')), deps));
  assert.is(missing.message, `httpGet.port "metrics" not found in pod ${NS}/web-0 (named ports: http, admin)`);
});

test('secret headers: read at run time, sent, and redacted from result, messages and logs', async () => {
  const before = dbSql.received.length;
  logLines.length = 0;
  const h: Handler = {
    httpPost: {
      host: ip('db-0'),
      port: anchorSql.port,
      path: '/echo',
      body: '{"text": "{{ .Status.Error }}"}',
      httpHeaders: [
        { name: 'Authorization', valueFrom: { secretKeyRef: { name: 'slack', key: 'token' } } },
        { name: 'X-Session', value: '{{ .Name }}' },
      ],
    },
  };
  const r = await runHandler(h, ctx(), deps);
  const got = dbSql.received[before];
  assert.is(got.headers.authorization, SLACK_TOKEN, 'the server got the value without the trailing newline');
  assert.is(got.headers['x-session'], summary.name);
  assert.is(got.body, '{"text": "failed to backup host-0. Reason: path not found"}');
  assert.is(got.headers['content-type'], 'application/json');
  assert.ok(r.hosts[0].output.includes('"authorization":"[REDACTED]"'));
  assert.not.ok(JSON.stringify(r).includes(SLACK_TOKEN));
  assert.ok(logLines.length > 0);
  assert.not.ok(logLines.join('\n').includes(SLACK_TOKEN));

  dbSql.routes.set('/reflect', (r2, res) => res.writeHead(302, { location: `/echo?t=${r2.headers.authorization}` }).end());
  const reflected = await runHandler({ ...h, httpPost: { ...h.httpPost!, path: '/reflect' } }, ctx(), deps);
  assert.not.ok(JSON.stringify(reflected).includes(SLACK_TOKEN), 'a URL echoing the secret is redacted too');
  assert.ok(reflected.hosts[0].output.includes('[REDACTED]'));
});

test('secret header problems name the Secret and key', async () => {
  const noSecret = await failure(
    runHandler(
      { httpGet: { host: '127.0.0.1', port: 1, httpHeaders: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'nope', key: 'token' } } }] } },
      ctx(),
      deps,
    ),
  );
  assert.is(noSecret.message, `httpGet.httpHeaders[0] (Authorization): Secret ${NS}/nope not found`);
  const noKey = await failure(
    runHandler(
      { httpGet: { host: '127.0.0.1', port: 1, httpHeaders: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'slack', key: 'pass' } } }] } },
      ctx(),
      deps,
    ),
  );
  assert.is(noKey.message, `httpGet.httpHeaders[0] (Authorization): Secret ${NS}/slack has no key "pass"`);
  const unlabeled = await failure(
    runHandler(
      { httpGet: { host: '127.0.0.1', port: 1, httpHeaders: [{ name: 'Authorization', valueFrom: { secretKeyRef: { name: 'unlabeled', key: 'token' } } }] } },
      ctx(),
      deps,
    ),
  );
  assert.is(
    unlabeled.message,
    `httpGet.httpHeaders[0] (Authorization): Secret ${NS}/unlabeled is not a hook secret; label it stash-hooks.dev/hook-secret: "true" to let hooks use it ` +
      `(kubectl label secret -n ${NS} unlabeled stash-hooks.dev/hook-secret=true)`,
  );
});

test('actions run in Stash order exec → httpGet → httpPost → tcpSocket and stop at the first failure', async () => {
  const tcp = await startTcpServer(ip('web-0'));
  try {
    const s = podServers['web-0'];
    const before = s.received.length;
    const all: Handler = {
      tcpSocket: { host: ip('web-0'), port: tcp.port },
      httpPost: { host: ip('web-0'), port: anchorHttp.port, path: '/post', body: 'x' },
      httpGet: { host: ip('web-0'), port: anchorHttp.port, path: '/get' },
      exec: { command: ['true'] },
    };
    const r = await runHandler(all, ctx(), deps);
    assert.equal(r.actions, ['exec', 'httpGet', 'httpPost', 'tcpSocket']);
    assert.equal(
      r.hosts.map((h) => h.action),
      ['exec', 'httpGet', 'httpPost', 'tcpSocket'],
    );
    assert.equal(
      s.received.slice(before).map((x) => `${x.method} ${x.url}`),
      ['GET /get', 'POST /post'],
    );
    const mid = s.received.length;
    const err = await failure(runHandler({ ...all, exec: { command: ['false'] } }, ctx(), deps));
    assert.is(err.message, `exec in pod ${NS}/db-0 container mysql exited with code 1`);
    assert.is(s.received.length, mid, 'no HTTP action ran after the failed exec');
  } finally {
    await tcp.close();
  }
});

test("HTTP hooks carry the worker's User-Agent unless they set their own", async () => {
  const post = (httpHeaders: Array<{ name: string; value: string }>) => ({
    httpPost: { host: ip('db-0'), port: anchorSql.port, path: '/echo', body: 'x', httpHeaders },
  });
  const withUa = { ...deps, userAgent: 'stash-hooks (worker hooks-7f9c)' };
  const before = dbSql.received.length;
  await runHandler(post([]), ctx(), withUa);
  await runHandler(post([{ name: 'user-agent', value: 'my-probe/1.0' }]), ctx(), withUa);
  assert.equal(
    dbSql.received.slice(before).map((r) => r.headers['user-agent']),
    ['stash-hooks (worker hooks-7f9c)', 'my-probe/1.0'],
  );
});

test('templates render in exec commands; a bad one fails before anything runs', async () => {
  // A failing command, so that what it printed (the rendered arguments) is kept in the message.
  const rendered = await failure(
    runHandler({ exec: { command: ['sh', '-c', 'echo "$0 $1" >&2; exit 9', '{{ .Namespace }}/{{ target.name }}', '{{ RetryLeft }}'] } }, ctx(), deps),
  );
  assert.is(rendered.message, `exec in pod ${NS}/db-0 container mysql exited with code 9: ${NS}/db 0`);
  const err = await failure(runHandler({ exec: { command: ['echo', 'a', 'line1\n{{ .Status.Eror }}'] } }, ctx(), deps));
  assert.is(
    err.message,
    "template error in exec.command[2], line 2, col 4: can't evaluate field Eror in type v1beta1.TargetStatus at <.Status.Eror> (did you mean Error?)",
  );
  assert.is(err.code, 'ERR_TEMPLATE');
});

test('other targets and global hooks need executor.pod or host', async () => {
  const pvc = await failure(
    runHandler({ exec: { command: ['true'] } }, ctx({ target: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data' } }), deps),
  );
  assert.is(pvc.message, `exec: PersistentVolumeClaim ${NS}/data runs in no pod; set executor.pod to choose the pods`);
  const pvcHttp = await failure(
    runHandler({ httpGet: { port: 80 } }, ctx({ target: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data' } }), deps),
  );
  assert.is(pvcHttp.message, `httpGet: PersistentVolumeClaim ${NS}/data has no pod or service to connect to; set httpGet.host or executor.pod`);
  const global = await failure(runHandler({ httpGet: { port: 80 } }, ctx({ scope: 'global', target: undefined }), deps));
  assert.is(global.message, 'preBackup.httpGet.host: a global hook needs host (or executor.pod)');
  assert.is(global.code, 'ERR_HOOK_SPEC');
});

test('an aborted hook rejects with the abort reason (retried), not as a failed hook', async () => {
  const controller = new AbortController();
  const reason = new Error('worker shutting down');
  const running = runHandler({ exec: { command: ['sleep', '30'] }, timeoutSeconds: 20 }, ctx({ signal: controller.signal }), deps);
  setTimeout(() => controller.abort(reason), 200);
  assert.is(await failure(running), reason);
});

test('the network guard applies to hooks', async () => {
  const err = await failure(runHandler({ tcpSocket: { host: '127.0.0.99', port: 80 } }, ctx(), deps));
  assert.is(err.message, 'network guard refused address 127.0.0.99: it matches deny rule 127.0.0.99/32');
  assert.is(err.code, 'ERR_NETWORK_DENIED');
});

test.run();
