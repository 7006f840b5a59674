// devcluster's in-memory CA (devcluster/tls.ts): the server certificate verifies against the CA,
// covers the loopback names, is no CA itself, and each start makes a different CA.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createDevClusterTls } from '../../devcluster/tls.js';

test('the server certificate is signed by the CA and names 127.0.0.1, ::1 and localhost', () => {
  const tls = createDevClusterTls(new Date('2030-01-01T00:00:00Z'));
  const ca = new X509Certificate(tls.caPem);
  const cert = new X509Certificate(tls.certPem);
  assert.ok(ca.ca, 'the CA is a CA');
  assert.not.ok(cert.ca, 'the server certificate is not');
  assert.ok(cert.verify(ca.publicKey));
  assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  assert.is(cert.issuer, ca.subject);
  assert.is(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.is(cert.checkIP('::1'), '::1');
  assert.is(cert.checkHost('localhost'), 'localhost');
  assert.is(cert.checkIP('10.0.0.1'), undefined);
  assert.is(cert.checkHost('example.com'), undefined);
  assert.is(new Date(cert.validFrom).toISOString(), '2029-12-31T23:00:00.000Z');
  assert.is(new Date(cert.validTo).toISOString(), '2031-01-01T00:00:00.000Z');
  assert.match(cert.keyUsage?.join(',') ?? '', '1.3.6.1.5.5.7.3.1');
  assert.is.not(createDevClusterTls().caPem, tls.caPem, 'every start has its own CA');
});

test('a TLS client trusting only the CA connects; one trusting another CA does not', async () => {
  const tls = createDevClusterTls();
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const get = (ca: string, host: string) =>
    new Promise<string>((resolve) => {
      // Always to 127.0.0.1; `host` is the name the certificate is checked against.
      request({ host: '127.0.0.1', port, ca, path: '/', servername: host === '127.0.0.1' ? undefined : host }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
        .on('error', (err) => resolve(`error: ${err.message}`))
        .end();
    });
  try {
    assert.is(await get(tls.caPem, '127.0.0.1'), 'ok');
    assert.is(await get(tls.caPem, 'localhost'), 'ok');
    assert.match(await get(createDevClusterTls().caPem, '127.0.0.1'), /^error: .*(certificate|signature)/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test.run();
