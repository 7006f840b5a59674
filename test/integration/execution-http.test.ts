// httpGet / httpPost / tcpSocket against real loopback servers: status rules, every redirect
// rule, TLS, bodies and forms, headers, timeouts and the network guard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { failure } from '../fixtures/execution/expect-failure.js';
import { runHttp, type HttpRequestSpec } from '../../workers/execution/http-action.js';
import { runTcp } from '../../workers/execution/tcp-action.js';
import { NetworkGuard } from '../../workers/execution/network-guard.js';
import { startBlackhole } from '../fixtures/execution/blackhole.js';
import { closedPort, selfSignedCertificate, startHttpServer, startHttpsServer, startTcpServer, type TestServer } from '../fixtures/execution/servers.js';

const guard = new NetworkGuard({ allowLoopback: true }); // the test servers listen on loopback, as devcluster pods do;
const opts = { timeoutSeconds: 5, secrets: [] as string[] };
let a: TestServer; // 127.0.0.1
let b: TestServer; // 127.0.0.2: "another host"
let c: TestServer; // 127.0.0.1, another port

function get(server: TestServer, path: string, extra: Partial<HttpRequestSpec> = {}): HttpRequestSpec {
  return { action: 'httpGet', host: server.host, port: server.port, path, headers: [], ...extra };
}
function post(server: TestServer, path: string, extra: Partial<HttpRequestSpec> = {}): HttpRequestSpec {
  return { ...get(server, path), action: 'httpPost', ...extra };
}

test.before(async () => {
  a = await startHttpServer('127.0.0.1');
  b = await startHttpServer('127.0.0.2');
  c = await startHttpServer('127.0.0.1');
  c.routes.set('/landing', (_r, res) => res.writeHead(200).end('c landed'));
  a.routes.set('/status', (r, res) => res.writeHead(Number(new URL(r.url, 'http://x').searchParams.get('code'))).end(`status body`));
  a.routes.set('/to-same', (_r, res) => res.writeHead(302, { location: '/landing' }).end());
  a.routes.set('/to-same-host-other-port', (_r, res) => res.writeHead(301, { location: `http://127.0.0.1:${c.port}/landing` }).end());
  a.routes.set('/to-other', (_r, res) => res.writeHead(302, { location: `http://127.0.0.2:${b.port}/landing` }).end('moved'));
  a.routes.set('/to-broken', (_r, res) => res.writeHead(307, { location: '/status?code=503' }).end());
  a.routes.set('/loop', (_r, res) => res.writeHead(302, { location: '/loop' }).end());
  a.routes.set('/landing', (r, res) => res.writeHead(200).end(`landed ${r.method} ${r.body}`));
  a.routes.set('/big', (_r, res) => res.writeHead(200).end('x'.repeat(50_000)));
  a.routes.set('/echo-headers', (r, res) => res.writeHead(200).end(JSON.stringify(r.headers)));
  a.routes.set('/slow', () => {}); // never answers
  b.routes.set('/landing', (_r, res) => res.writeHead(200).end('b landed'));
});
test.after(async () => {
  await a.close();
  await b.close();
  await c.close();
});

test('200 and 399 succeed with status and output; 400 and 503 fail with the exact message', async () => {
  const ok = await runHttp(get(a, '/status?code=200'), guard, opts);
  assert.is(ok.statusCode, 200);
  assert.is(ok.output, 'status body');
  assert.is(ok.where, `http://127.0.0.1:${a.port}/status?code=200`);
  assert.is((await runHttp(get(a, '/status?code=399'), guard, opts)).statusCode, 399);
  for (const code of [400, 404, 500, 503]) {
    const before = a.received.length;
    const err = await failure(runHttp(get(a, `/status?code=${code}`), guard, opts));
    assert.is(a.received.length, before + 1, 'exactly one attempt: no hidden retries');
    assert.is(err.message, `HTTP GET http://127.0.0.1:${a.port}/status?code=${code} returned ${code}`);
    assert.is(err.code, 'ERR_HOOK_FAILED');
  }
});

test('an empty scheme and a missing path mean http://host:port/', async () => {
  const before = a.received.length;
  const r = await runHttp({ action: 'httpGet', host: '127.0.0.1', port: a.port, scheme: '', headers: [] }, guard, opts);
  assert.is(r.where, `http://127.0.0.1:${a.port}/`);
  assert.is(a.received[before].url, '/');
});

test('a same-host redirect is followed', async () => {
  const r = await runHttp(get(a, '/to-same'), guard, opts);
  assert.is(r.statusCode, 200);
  assert.is(r.output, 'landed GET ');
});

test('a redirect to the same host name on another port is followed (kubelet compares host names)', async () => {
  const r = await runHttp(get(a, '/to-same-host-other-port'), guard, opts);
  assert.is(r.statusCode, 200);
  assert.is(r.output, 'c landed');
});

test('a redirect to another host is not followed and counts as success', async () => {
  const before = b.received.length;
  const r = await runHttp(get(a, '/to-other'), guard, opts);
  assert.is(r.statusCode, 302);
  assert.is(r.output, 'moved');
  assert.is(b.received.length, before, 'the other host received nothing');
  a.routes.set('/to-garbage', (_r, res) => res.writeHead(301, { location: 'http://[not-a-host' }).end());
  assert.is((await runHttp(get(a, '/to-garbage'), guard, opts)).statusCode, 301, 'an unparseable Location is not followed');
});

test('a followed redirect that lands on a failure fails and says where it landed', async () => {
  const err = await failure(runHttp(get(a, '/to-broken'), guard, opts));
  assert.is(err.message, `HTTP GET http://127.0.0.1:${a.port}/to-broken returned 503 (after redirect to http://127.0.0.1:${a.port}/status?code=503)`);
});

test('a redirect loop stops after 10 redirects', async () => {
  const err = await failure(runHttp(get(a, '/loop'), guard, opts));
  assert.is(err.message, `HTTP GET http://127.0.0.1:${a.port}/loop failed: stopped after 10 redirects`);
});

test('POST: 302 is re-sent as GET, 307 keeps POST and its body', async () => {
  a.routes.set('/post-302', (_r, res) => res.writeHead(302, { location: '/landing' }).end());
  a.routes.set('/post-307', (_r, res) => res.writeHead(307, { location: '/landing' }).end());
  assert.is((await runHttp(post(a, '/post-302', { body: 'hi' }), guard, opts)).output, 'landed GET ');
  assert.is((await runHttp(post(a, '/post-307', { body: 'hi' }), guard, opts)).output, 'landed POST hi');
});

test('form wins over body: urlencoded with sorted keys, Go escaping', async () => {
  const before = a.received.length;
  await runHttp(
    post(a, '/form', {
      body: '{"ignored":true}',
      form: [
        { key: 'zeta', values: ['last'] },
        { key: 'alpha', values: ['a b', 'x*y~z'] },
      ],
    }),
    guard,
    opts,
  );
  const got = a.received[before];
  assert.is(got.method, 'POST');
  assert.is(got.body, 'alpha=a+b&alpha=x%2Ay~z&zeta=last');
  assert.is(got.headers['content-type'], 'application/x-www-form-urlencoded');
});

test("a repeated form key keeps its last entry, as Stash's prober builds url.Values", async () => {
  const before = a.received.length;
  await runHttp(
    post(a, '/form', {
      form: [
        { key: 'channel', values: ['#ops'] },
        { key: 'text', values: ['hi'] },
        { key: 'channel', values: ['#backups'] },
      ],
    }),
    guard,
    opts,
  );
  assert.is(a.received[before].body, 'channel=%23backups&text=hi');
});

test('Content-Type: JSON object/array → application/json, HTML, XML, other text → text/plain; charset=utf-8, user header kept', async () => {
  const at = () => a.received[a.received.length - 1];
  await runHttp(post(a, '/c', { body: '{"a":1}' }), guard, opts);
  assert.is(at().headers['content-type'], 'application/json');
  assert.is(at().body, '{"a":1}');
  await runHttp(post(a, '/c', { body: 'plain words' }), guard, opts);
  assert.is(at().headers['content-type'], 'text/plain; charset=utf-8');
  // Stash's detector: a bare JSON scalar is text; HTML and XML are recognised by their leading tag.
  await runHttp(post(a, '/c', { body: '42' }), guard, opts);
  assert.is(at().headers['content-type'], 'text/plain; charset=utf-8');
  await runHttp(post(a, '/c', { body: '<html><body>done</body></html>' }), guard, opts);
  assert.is(at().headers['content-type'], 'text/html; charset=utf-8');
  await runHttp(post(a, '/c', { body: '<?xml version="1.0"?><done/>' }), guard, opts);
  assert.is(at().headers['content-type'], 'text/xml; charset=utf-8');
  await runHttp(post(a, '/c', { body: '{"a":1}', headers: [{ name: 'Content-Type', value: 'application/vnd.custom+json' }] }), guard, opts);
  assert.is(at().headers['content-type'], 'application/vnd.custom+json');
  await runHttp(post(a, '/c', { form: [{ key: 'k', values: ['v'] }], headers: [{ name: 'content-type', value: 'text/x-mine' }] }), guard, opts);
  assert.is(at().headers['content-type'], 'text/x-mine');
  assert.is(at().body, 'k=v');
});

test('headers are sent as given; secret values are redacted from the output', async () => {
  const r = await runHttp(
    get(a, '/echo-headers', {
      headers: [
        { name: 'X-Token', value: 's3cr3t-value' },
        { name: 'X-Plain', value: 'visible' },
      ],
    }),
    guard,
    { ...opts, secrets: ['s3cr3t-value'] },
  );
  const last = a.received[a.received.length - 1];
  assert.is(last.headers['x-token'], 's3cr3t-value', 'the server got the real value');
  assert.ok(r.output.includes('"x-plain":"visible"'));
  assert.ok(r.output.includes('"x-token":"[REDACTED]"'));
  assert.not.ok(r.output.includes('s3cr3t-value'));
});

test('output is capped at 10 KiB', async () => {
  const r = await runHttp(get(a, '/big'), guard, opts);
  assert.is(r.output.length, 10 * 1024);
});

test('timeoutSeconds bounds the whole request', async () => {
  const err = await failure(runHttp(get(a, '/slow'), guard, { ...opts, timeoutSeconds: 0.3 }));
  assert.is(err.message, `HTTP GET http://127.0.0.1:${a.port}/slow timed out after 0.3s`);
  assert.is(err.code, 'ERR_HOOK_TIMEOUT');
});

test('connection refused names the cause', async () => {
  const port = await closedPort();
  const err = await failure(runHttp({ action: 'httpGet', host: '127.0.0.1', port, path: '/x', headers: [] }, guard, opts));
  assert.is(err.message, `HTTP GET http://127.0.0.1:${port}/x failed: connection refused (ECONNREFUSED)`);
});

test('HTTPS: a self-signed certificate is refused by default and accepted with insecureSkipTLSVerify', async () => {
  const s = await startHttpsServer(selfSignedCertificate());
  try {
    const spec: HttpRequestSpec = { action: 'httpGet', host: '127.0.0.1', port: s.port, scheme: 'HTTPS', path: '/tls', headers: [] };
    const err = await failure(runHttp(spec, guard, opts));
    assert.is(
      err.message,
      `HTTP GET https://127.0.0.1:${s.port}/tls failed: TLS certificate not trusted: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); set insecureSkipTLSVerify: true to skip verification`,
    );
    assert.is(s.received.length, 0);
    const ok = await runHttp({ ...spec, insecureSkipTLSVerify: true }, guard, opts);
    assert.is(ok.statusCode, 200);
    assert.is(s.received[0].url, '/tls');
  } finally {
    await s.close();
  }
});

test('guard: a deny rule covering the address refuses before any request is sent', async () => {
  const strict = new NetworkGuard({ deny: ['127.0.0.2/32'] });
  const before = b.received.length;
  const err = await failure(runHttp(get(b, '/landing'), strict, opts));
  assert.is(err.message, 'network guard refused address 127.0.0.2: it matches deny rule 127.0.0.2/32');
  assert.is(err.code, 'ERR_NETWORK_DENIED');
  assert.is(b.received.length, before);
});

test('guard: a host name is checked after resolution (no bypass through DNS)', async () => {
  const strict = new NetworkGuard({ deny: ['127.0.0.2/32'], lookup: async () => [{ address: '127.0.0.2', family: 4 }] });
  const before = b.received.length;
  const err = await failure(runHttp({ action: 'httpGet', host: 'innocent.example', port: b.port, path: '/landing', headers: [] }, strict, opts));
  assert.is(err.message, 'network guard refused host innocent.example (address 127.0.0.2): it matches deny rule 127.0.0.2/32');
  assert.is(b.received.length, before);
  // The same resolver with a permissive guard really connects to the resolved loopback address.
  const open = new NetworkGuard({ allowLoopback: true, lookup: async () => [{ address: '127.0.0.2', family: 4 }] });
  const r = await runHttp({ action: 'httpGet', host: 'innocent.example', port: b.port, path: '/landing', headers: [] }, open, opts);
  assert.is(r.output, 'b landed');
});

test('guard: a name re-resolving to a denied address on a followed redirect is refused (rebinding)', async () => {
  let lookups = 0;
  const lookup = async () => [{ address: lookups++ === 0 ? '127.0.0.1' : '127.0.0.9', family: 4 }];
  const strict = new NetworkGuard({ allowLoopback: true, deny: ['127.0.0.9/32'], lookup });
  a.routes.set('/rebind', (_r, res) => res.writeHead(302, { location: '/landing' }).end());
  const before = a.received.length;
  const err = await failure(runHttp({ action: 'httpGet', host: 'rebind.example', port: a.port, path: '/rebind', headers: [] }, strict, opts));
  assert.is(err.message, 'network guard refused host rebind.example (address 127.0.0.9): it matches deny rule 127.0.0.9/32');
  assert.is(err.code, 'ERR_NETWORK_DENIED');
  assert.equal(
    a.received.slice(before).map((r) => r.url),
    ['/rebind'],
    'the redirect target was never requested',
  );
  assert.is(lookups, 2);
});

test('TCP: an open port succeeds, a closed port is refused, a black hole times out', async () => {
  const t = await startTcpServer();
  const port = await closedPort();
  const hole = await startBlackhole();
  try {
    const ok = await runTcp('127.0.0.1', t.port, guard, opts);
    assert.is(ok.where, `127.0.0.1:${t.port}`);
    assert.is(ok.action, 'tcpSocket');
    const refused = await failure(runTcp('127.0.0.1', port, guard, opts));
    assert.is(refused.message, `TCP connect to 127.0.0.1:${port} refused (ECONNREFUSED)`);
    assert.is(refused.code, 'ERR_HOOK_FAILED');
    const timedOut = await failure(runTcp('127.0.0.1', hole.port, guard, { ...opts, timeoutSeconds: 0.5 }));
    assert.is(timedOut.message, `TCP connect to 127.0.0.1:${hole.port} timed out after 0.5s`);
    assert.is(timedOut.code, 'ERR_HOOK_TIMEOUT');
    const named = new NetworkGuard({ allowLoopback: true, lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    const viaName = await runTcp('db.demo.svc', t.port, named, opts);
    assert.is(viaName.where, `db.demo.svc:${t.port}`);
    const denied = await failure(
      runTcp('db.demo.svc', t.port, new NetworkGuard({ deny: ['127.0.0.0/30'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] }), opts),
    );
    assert.is(denied.message, 'network guard refused host db.demo.svc (address 127.0.0.1): it matches deny rule 127.0.0.0/30');
    assert.ok(t.connections() >= 2);
  } finally {
    hole.close();
    await t.close();
  }
});

test('TCP: every resolved address is tried in order until one connects; all failing names each', async () => {
  const t = await startTcpServer('127.0.0.1');
  const hole = await startBlackhole();
  try {
    // Nothing listens on 127.0.0.7 or 127.0.0.8 at the server's port: refused, then the next address.
    const addrs = (...list: string[]) => new NetworkGuard({ allowLoopback: true, lookup: async () => list.map((address) => ({ address, family: 4 })) });
    const before = t.connections();
    const ok = await runTcp('db.demo.svc', t.port, addrs('127.0.0.7', '127.0.0.8', '127.0.0.1'), opts);
    assert.is(ok.where, `db.demo.svc:${t.port}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(t.connections(), before + 1);
    const none = await failure(runTcp('db.demo.svc', t.port, addrs('127.0.0.7', '127.0.0.8'), opts));
    assert.is(none.message, `TCP connect to db.demo.svc:${t.port} failed on every address: 127.0.0.7 refused (ECONNREFUSED); 127.0.0.8 refused (ECONNREFUSED)`);
    assert.is(none.code, 'ERR_HOOK_FAILED');
    // A silent first address uses up the whole budget: a timeout, not a refusal.
    const slow = await failure(runTcp('db.demo.svc', hole.port, addrs('127.0.0.1', '127.0.0.7'), { ...opts, timeoutSeconds: 0.5 }));
    assert.is(slow.message, `TCP connect to db.demo.svc:${hole.port} timed out after 0.5s`);
    assert.is(slow.code, 'ERR_HOOK_TIMEOUT');
  } finally {
    hole.close();
    await t.close();
  }
});

test('an httpPost without body or form sends an empty body and completes', async () => {
  const r = await runHttp(post(a, '/landing', { timeoutSeconds: 2 } as Partial<HttpRequestSpec>), guard, { ...opts, timeoutSeconds: 2 });
  assert.is(r.statusCode, 200);
  assert.is(r.output, 'landed POST ');
});

test.run();
