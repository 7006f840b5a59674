// The network guard against real servers (DESIGN §11 "Network guard"): what a tenant's HTTP or
// TCP hook may not reach, checked after real DNS resolution and on every connection, redirects
// included; and the headers a hook may not set, refused before anything is sent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { failure } from '../fixtures/execution/expect-failure.js';
import { startHttpServer, startTcpServer, type TestServer } from '../fixtures/execution/servers.js';
import { runHttp, type HttpRequestSpec } from '../../workers/execution/http-action.js';
import { runTcp } from '../../workers/execution/tcp-action.js';
import { NetworkGuard, unmapAddress } from '../../workers/execution/network-guard.js';
import { runHandler } from '../../workers/execution/run-handler.js';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeAccessFromConfig, type HookContext } from '../../workers/execution/types.js';
import type { Handler } from '../../shared/resources.js';
import { SEED_SUMMARY } from '../fixtures/execution/seed-summary.js';

const opts = { timeoutSeconds: 5, secrets: [] as string[] };
let web: TestServer;
let api: TestServer; // plays an infrastructure endpoint (the API server) on a loopback port

const get = (host: string, port: number, path: string): HttpRequestSpec => ({ action: 'httpGet', host, port, path, headers: [] });

test.before(async () => {
  web = await startHttpServer('127.0.0.1');
  api = await startHttpServer('127.0.0.1');
});
test.after(async () => {
  await web?.close();
  await api?.close();
});

test('outside devcluster, a name that really resolves to loopback (localhost) is refused and nothing arrives', async () => {
  const before = web.received.length;
  const err = await failure(runHttp(get('localhost', web.port, '/secret'), new NetworkGuard(), opts));
  assert.is(err.code, 'ERR_NETWORK_DENIED');
  assert.match(
    err.message,
    /^network guard refused host localhost \(address (127\.0\.0\.1|::1)\): it is loopback \((127\.0\.0\.0\/8|::1\/128)\); only the platform admin can allow it \(--allow-cidrs\)$/,
  );
  assert.is(web.received.length, before, 'the server never saw a request');
  // And the guard in devcluster mode lets the same request through: the server is really there.
  const ok = await runHttp(get('127.0.0.1', web.port, '/ok'), new NetworkGuard({ allowLoopback: true }), opts);
  assert.is(ok.statusCode, 200);
});

test('IPv4-mapped and NAT64 spellings of a denied address are refused like the address itself', async () => {
  const before = web.received.length;
  // The URL parser rewrites [::ffff:127.0.0.1] to [::ffff:7f00:1]: the hexadecimal form must be caught too.
  const err = await failure(runHttp(get('::ffff:127.0.0.1', web.port, '/mapped'), new NetworkGuard(), opts));
  assert.is(err.message, 'network guard refused address 127.0.0.1: it is loopback (127.0.0.0/8); only the platform admin can allow it (--allow-cidrs)');
  assert.is(web.received.length, before);
  for (const spelling of ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '::169.254.169.254', '::ffff:0:a9fe:a9fe']) {
    assert.is(unmapAddress(spelling), '169.254.169.254', spelling);
    assert.throws(() => new NetworkGuard().checkAddress('x', spelling), /cloud metadata address \(169\.254\.169\.254\/32\)/, spelling);
  }
  assert.is(unmapAddress('::1'), '::1');
  assert.is(unmapAddress('2001:db8::1'), '2001:db8::1');
});

test('a name resolving to a cloud metadata address is refused (metadata.google.internal, Alibaba, Azure WireServer)', async () => {
  const cases: Array<[string, string, string]> = [
    ['metadata.google.internal', '169.254.169.254', '169.254.169.254/32'],
    ['aliyun.internal', '100.100.100.200', '100.100.100.200/32'],
    ['wireserver.internal', '168.63.129.16', '168.63.129.16/32'],
    ['oci.internal', '192.0.0.192', '192.0.0.192/32'],
    ['ec2v6.internal', 'fd00:ec2::254', 'fd00:ec2::254/128'],
  ];
  for (const [host, address, cidr] of cases) {
    const guard = new NetworkGuard({ allowLoopback: true, lookup: async () => [{ address, family: address.includes(':') ? 6 : 4 }] });
    const err = await failure(runHttp(get(host, 80, '/computeMetadata/v1/'), guard, opts));
    assert.is(
      err.message,
      `network guard refused host ${host} (address ${address}): it is a cloud metadata address (${cidr}); only the platform admin can allow it (--allow-cidrs)`,
    );
  }
});

test('a followed redirect to an infrastructure port is not followed: refused, and that server sees nothing', async () => {
  const guard = new NetworkGuard({ allowLoopback: true, infrastructure: () => [{ address: '127.0.0.1', port: api.port, what: 'the Kubernetes API server' }] });
  // Same host name, so kubelet's rule would follow it; the guard checks the redirect's connection.
  web.routes.set('/hop', (_r, res) => res.writeHead(302, { location: `http://127.0.0.1:${api.port}/api/v1/secrets` }).end());
  const err = await failure(runHttp(get('127.0.0.1', web.port, '/hop'), guard, opts));
  assert.is(err.code, 'ERR_NETWORK_DENIED');
  assert.is(err.message, `network guard refused address 127.0.0.1: it is the Kubernetes API server, which hooks may not reach`);
  assert.is(api.received.length, 0, 'the API server never saw a request');
  // The direct request is refused too, for HTTP and TCP, while another port of loopback stays open.
  assert.is((await failure(runHttp(get('127.0.0.1', api.port, '/'), guard, opts))).code, 'ERR_NETWORK_DENIED');
  const tcpErr = await failure(runTcp('127.0.0.1', api.port, guard, opts));
  assert.is(tcpErr.message, 'network guard refused address 127.0.0.1: it is the Kubernetes API server, which hooks may not reach');
  assert.is((await runHttp(get('127.0.0.1', web.port, '/ok'), guard, opts)).statusCode, 200);
});

test('a name that re-resolves to a denied address for the redirect (DNS rebinding) is refused', async () => {
  let lookups = 0;
  const lookup = async () => [{ address: lookups++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
  const guard = new NetworkGuard({ allowLoopback: true, lookup });
  web.routes.set('/rebind', (_r, res) => res.writeHead(302, { location: '/latest/meta-data/' }).end());
  const err = await failure(runHttp(get('rebind.example', web.port, '/rebind'), guard, opts));
  assert.is(
    err.message,
    'network guard refused host rebind.example (address 169.254.169.254): it is a cloud metadata address (169.254.169.254/32); only the platform admin can allow it (--allow-cidrs)',
  );
  assert.is(lookups, 2, 'the redirect connection resolved again and was checked');
});

test('--deny-cidrs always wins; --allow-cidrs exempts a built-in rule only when at least as specific', async () => {
  const tcp = await startTcpServer('127.0.0.1');
  try {
    await runTcp('127.0.0.1', tcp.port, new NetworkGuard({ allow: ['127.0.0.1/32'] }), opts);
    assert.is(tcp.connections(), 1, 'an exact allow opened loopback');
    const broad = new NetworkGuard({ allow: ['0.0.0.0/0'] });
    assert.throws(() => broad.checkAddress('x', '127.0.0.1'), /it is loopback \(127\.0\.0\.0\/8\)/, 'a broad allow does not reopen a narrower built-in rule');
    const infra = new NetworkGuard({
      allow: ['10.0.0.0/8'],
      infrastructure: () => [{ address: '10.96.0.1', what: 'the Kubernetes API server (Service default/kubernetes)' }],
    });
    assert.throws(
      () => infra.checkAddress('kubernetes.default', '10.96.0.1', 443),
      /it is the Kubernetes API server \(Service default\/kubernetes\), which hooks may not reach/,
    );
    infra.checkAddress('db', '10.1.2.3', 5432);
    const err = await failure(runTcp('127.0.0.1', tcp.port, new NetworkGuard({ allowLoopback: true, allow: ['127.0.0.1/32'], deny: ['127.0.0.0/8'] }), opts));
    assert.is(err.message, 'network guard refused address 127.0.0.1: it matches deny rule 127.0.0.0/8');
    assert.is(tcp.connections(), 1);
  } finally {
    await tcp.close();
  }
});

test('headers Host, X-Forwarded-*, Forwarded and Metadata-Flavor are refused before anything runs', async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const ctx: HookContext = { hookName: 'preBackup', scope: 'global', namespace: 'demo', summary: SEED_SUMMARY };
  const deps = { kube: kubeAccessFromConfig(kc), network: { allowLoopback: true } };
  const before = web.received.length;
  const handler = {
    httpGet: {
      host: '127.0.0.1',
      port: web.port,
      path: '/h',
      httpHeaders: [
        { name: 'Host', value: 'metadata.google.internal' },
        { name: 'X-Forwarded-For', value: '10.0.0.1' },
        { name: 'metadata-flavor', value: 'Google' },
        { name: 'Forwarded', value: 'for=1.2.3.4' },
        { name: 'X-Ok', value: 'fine' },
      ],
    },
  } as Handler;
  const err = await failure(runHandler(handler, ctx, deps));
  assert.is(err.code, 'ERR_HOOK_SPEC');
  const why = 'may not be set by a hook (Host, Forwarded, X-Forwarded-*, Metadata-Flavor and Metadata are refused: they steer requests past the network guard)';
  assert.is(
    err.message,
    [
      `preBackup.httpGet.httpHeaders[0].name: "Host" ${why}`,
      `preBackup.httpGet.httpHeaders[1].name: "X-Forwarded-For" ${why}`,
      `preBackup.httpGet.httpHeaders[2].name: "metadata-flavor" ${why}`,
      `preBackup.httpGet.httpHeaders[3].name: "Forwarded" ${why}`,
    ].join('; '),
  );
  assert.is(web.received.length, before, 'nothing was sent');
});

test.run();
