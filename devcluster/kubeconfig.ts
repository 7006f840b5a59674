/**
 * The kubeconfig devcluster writes for its clients: one cluster, user and context, all named
 * `devcluster`, with the bearer token when one is required and devcluster's CA when it serves
 * HTTPS.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/**
 * The kubeconfig document for a server URL, an optional token and, for an `https://` URL, the PEM
 * of the CA that signed the server's certificate.
 */
export function kubeconfigYaml(url: string, token?: string, caPem?: string): string {
  if (url.startsWith('https:') !== (caPem !== undefined)) throw new Error(`devcluster: a CA goes with an https URL, got ${url}`);
  // client-node refuses plain http unless insecure-skip-tls-verify is set; a plain-http server is
  // loopback-only, so there is no TLS to verify. An https server is verified against its own CA.
  const cluster = caPem
    ? { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') }
    : { server: url, 'insecure-skip-tls-verify': true };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'devcluster', cluster }],
    users: [{ name: 'devcluster', user: token ? { token } : {} }],
    contexts: [{ name: 'devcluster', context: { cluster: 'devcluster', user: 'devcluster', namespace: 'default' } }],
    'current-context': 'devcluster',
    preferences: {},
  });
}

/** Writes the kubeconfig with owner-only permissions (it may hold a token). */
export function writeKubeconfig(path: string, url: string, token?: string, caPem?: string): void {
  writeFileSync(path, kubeconfigYaml(url, token, caPem), { mode: 0o600 });
}
