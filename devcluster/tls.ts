/**
 * devcluster's own certificate authority: a fresh CA and a server certificate for `127.0.0.1`,
 * `::1` and `localhost`, made in memory at start-up and never written anywhere but the kubeconfig
 * (`certificate-authority-data`, the CA certificate only).
 *
 * Why TLS at all on loopback: kubectl (client-go `rest.HTTPWrappersForConfig` /
 * `transport.HTTPWrappersForConfig`) never sends a bearer token to a plain-http server, so a
 * token-protected devcluster would lock kubectl out. Why not a dependency or the `openssl` CLI:
 * Node 20 can make and use keys (`generateKeyPairSync`, `sign`) but not certificates, and one
 * certificate shape is a few dozen lines of DER, fewer than a library's weight or a runtime
 * dependency on a binary. Keys are ECDSA P-256, signatures ECDSA with SHA-256 (RFC 5480, 5758).
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/** What a TLS server of devcluster needs, and what its clients must trust. */
export interface DevClusterTls {
  /** PEM of the CA certificate (what goes into the kubeconfig). */
  caPem: string;
  /** PEM of the server certificate. */
  certPem: string;
  /** PEM (PKCS#8) of the server certificate's private key. */
  keyPem: string;
}

// --- DER (X.690), only the types a certificate uses ---

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => der(0xa0 + n, inner);
const octets = (b: Buffer) => der(0x04, b);
const bool = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const bits = (b: Buffer, unused = 0) => der(0x03, Buffer.concat([Buffer.from([unused]), b]));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return der(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function subjectAltName(hosts: string[]): Buffer {
  return seq(
    ...hosts.map((h) => {
      if (isIP(h) === 4) return der(0x87, Buffer.from(h.split('.').map(Number)));
      if (isIP(h) === 6) return der(0x87, ipv6Bytes(h));
      return der(0x82, Buffer.from(h, 'ascii'));
    }),
  );
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(all.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  /** The issuer's public key, for the authority key identifier. */
  issuerKey: KeyObject;
  ca: boolean;
  hosts?: string[];
  notBefore: Date;
  notAfter: Date;
}

// RFC 7093 §2 method 4-like: a hash of the whole SubjectPublicKeyInfo, truncated to 160 bits.
function keyId(key: KeyObject): Buffer {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 20);
}

function certificate(spec: CertSpec): string {
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const extensions = [
    extension('2.5.29.19', true, spec.ca ? seq(bool(true)) : seq()),
    // keyUsage: CA keyCertSign + cRLSign + digitalSignature; server digitalSignature (ECDHE).
    extension('2.5.29.15', true, spec.ca ? bits(Buffer.from([0x86]), 1) : bits(Buffer.from([0x80]), 7)),
    ...(spec.ca ? [] : [extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1')))]),
    ...(spec.hosts ? [extension('2.5.29.17', false, subjectAltName(spec.hosts))] : []),
    // Key identifiers, which strict verifiers (OpenSSL's -x509_strict, RFC 5280 §4.2.1.1-2) want.
    extension('2.5.29.14', false, octets(keyId(spec.publicKey))),
    extension('2.5.29.35', false, seq(der(0x80, keyId(spec.issuerKey)))),
  ];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_WITH_SHA256,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, spec.signingKey);
  const cert = seq(tbs, ECDSA_WITH_SHA256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/** The names the server certificate covers: everything a client may call loopback by. */
export const SERVER_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/**
 * A new CA and a server certificate signed by it, valid from an hour ago (clock skew) for a year.
 * Throws only if the platform's crypto fails; the result is checked with Node's own parser.
 */
export function createDevClusterTls(now: Date = new Date()): DevClusterTls {
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + 365 * 86_400_000);
  const id = randomBytes(4).toString('hex');
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSubject = `devcluster CA ${id}`;
  const caPem = certificate({
    subject: caSubject,
    issuer: caSubject,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerKey: ca.publicKey,
    ca: true,
    notBefore,
    notAfter,
  });
  const certPem = certificate({
    subject: 'devcluster',
    issuer: caSubject,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    issuerKey: ca.publicKey,
    ca: false,
    hosts: SERVER_HOSTS,
    notBefore,
    notAfter,
  });
  const keyPem = server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const parsed = new X509Certificate(certPem);
  if (!parsed.verify(new X509Certificate(caPem).publicKey) || !parsed.checkIP('127.0.0.1')) {
    throw new Error('devcluster: the generated server certificate does not verify against its CA');
  }
  createPrivateKey(keyPem);
  return { caPem, certPem, keyPem };
}
