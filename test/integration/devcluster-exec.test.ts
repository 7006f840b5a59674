// pods/exec through client-node's Exec (WebSocket, v5/v4 channel protocols): stdout, stderr,
// exit codes as Kubernetes reports them, the pod's directory and environment, stdin, and the
// errors for an unknown container or pod.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Readable } from 'node:stream';
import { CoreV1Api, Exec, type V1Status } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';

let cluster: DevCluster;
let core: CoreV1Api;

test.before(async () => {
  cluster = await startDevCluster({ executor: false });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'box' },
      spec: {
        containers: [
          { name: 'main', image: 'busybox' },
          { name: 'side', image: 'busybox' },
        ],
      },
    },
  });
});

test.after(async () => {
  await cluster.close();
});

async function run(command: string[], container = 'main', stdin?: Readable): Promise<{ stdout: string; stderr: string; status: V1Status }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(cluster.kubeConfig).exec('default', 'box', container, command, stdout, stderr, stdin ?? null, false, resolve).catch(reject);
  });
  return { stdout: out, stderr: err, status };
}

test('stdout and exit 0 → Success', async () => {
  const r = await run(['echo', 'hi']);
  assert.is(r.stdout, 'hi\n');
  assert.is(r.status.status, 'Success');
});

test('a non-zero exit → Failure, NonZeroExitCode, ExitCode cause', async () => {
  const r = await run(['sh', '-c', 'echo oops >&2; exit 3']);
  assert.is(r.stderr, 'oops\n');
  assert.is(r.status.status, 'Failure');
  assert.is(r.status.reason, 'NonZeroExitCode');
  assert.equal(r.status.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
});

test('argv is not run through a shell; the pod dir and env are set', async () => {
  const literal = await run(['echo', '$HOME', '*']);
  assert.is(literal.stdout, '$HOME *\n');
  const env = await run(['sh', '-c', 'echo "$POD_NAME $POD_NAMESPACE $CONTAINER_NAME"; pwd'], 'side');
  const [names, cwd] = env.stdout.trim().split('\n');
  assert.is(names, 'box default side');
  assert.match(cwd, /\/pods\/default\/box$/);
});

test("the container's env is resolved as the kubelet would (value, secretKeyRef, configMapKeyRef, fieldRef, envFrom)", async () => {
  await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'db-creds' }, stringData: { password: 's3cr3t' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'db-conf' }, data: { host: 'db.local', port: '5432' } } });
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'envbox', labels: { tier: 'db' } },
      spec: {
        containers: [
          {
            name: 'db',
            image: 'postgres',
            envFrom: [{ configMapRef: { name: 'db-conf' }, prefix: 'CONF_' }],
            env: [
              { name: 'PLAIN', value: 'v' },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } },
              { name: 'HOST', valueFrom: { configMapKeyRef: { name: 'db-conf', key: 'host' } } },
              { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
              { name: 'POD_NAME', value: 'overridden?' },
            ],
          },
        ],
      },
    },
  });
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  await new Promise<V1Status>((resolve, reject) => {
    new Exec(cluster.kubeConfig)
      .exec(
        'default',
        'envbox',
        'db',
        ['sh', '-c', 'echo "$PLAIN $PASSWORD $HOST $CONF_port $TIER $POD_NAME"; echo "$MY_IP"'],
        stdout,
        null,
        null,
        false,
        resolve,
      )
      .catch(reject);
  });
  const [line, ip] = out.trim().split('\n');
  assert.is(line, 'v s3cr3t db.local 5432 db envbox');
  assert.match(ip, /^127\.0\./);
});

test('stdin is passed through', async () => {
  const r = await run(['cat'], 'main', Readable.from([Buffer.from('from stdin')]));
  assert.is(r.stdout, 'from stdin');
  assert.is(r.status.status, 'Success');
});

test('streams the client did not ask for are not sent (client-node throws on them)', async () => {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => (err += d));
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(cluster.kubeConfig)
      .exec('default', 'box', 'main', ['sh', '-c', 'echo to-stdout; echo to-stderr >&2'], null, stderr, null, false, resolve)
      .catch(reject);
  });
  assert.is(status.status, 'Success');
  assert.is(err, 'to-stderr\n');
});

test('a command that does not exist fails with exit code 126 and says why', async () => {
  const r = await run(['no-such-command-xyz']);
  assert.equal(r.status.details?.causes, [{ reason: 'ExitCode', message: '126' }]);
  assert.match(r.stderr, /executable file not found/);
});

test('an unknown container or pod is refused before the upgrade with the API error', async () => {
  const refused = await run(['true'], 'nope').then(
    () => 'accepted',
    (err: { message?: string }) => String(err?.message),
  );
  assert.match(refused, /400/);
  const noPod = new Promise<number>((resolve) => {
    const ws = new WebSocket(`${cluster.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/ghost/exec?command=true&stdout=true`, ['v5.channel.k8s.io']);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', () => {});
  });
  assert.is(await noPod, 404);
  const bad = await fetch(`${cluster.url}/api/v1/namespaces/default/pods/box/exec?command=true&container=nope`, { method: 'POST' });
  assert.is(bad.status, 400);
});

test('the v4 protocol works too, and closing the socket kills the command', async () => {
  const frames: Buffer[] = [];
  const ws = new WebSocket(
    `${cluster.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/box/exec?command=sh&command=-c&command=echo%20v4%3B%20exit%205&stdout=true&container=main`,
    ['v4.channel.k8s.io'],
  );
  ws.on('message', (d: Buffer) => frames.push(d));
  await new Promise((resolve) => ws.on('close', resolve));
  assert.is(ws.protocol, 'v4.channel.k8s.io');
  const stdout = frames
    .filter((f) => f[0] === 1)
    .map((f) => f.subarray(1).toString())
    .join('');
  const status = JSON.parse(
    frames
      .find((f) => f[0] === 3)!
      .subarray(1)
      .toString(),
  );
  assert.is(stdout, 'v4\n');
  assert.is(status.reason, 'NonZeroExitCode');

  const sleeper = new WebSocket(
    `${cluster.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/box/exec?command=sh&command=-c&command=echo%20%24%24%3B%20sleep%2030&stdout=true&container=main`,
    ['v5.channel.k8s.io'],
  );
  const pid = await new Promise<number>((resolve) => sleeper.on('message', (d: Buffer) => d[0] === 1 && resolve(Number(d.subarray(1).toString().trim()))));
  sleeper.close();
  await new Promise((resolve) => sleeper.on('close', resolve));
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
  }
  assert.is(alive, false, 'the command was killed when its socket closed');
});

test.run();
