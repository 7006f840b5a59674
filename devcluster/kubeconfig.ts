/**
 * The kubeconfig devcluster writes for its clients: one cluster, user and context, all named
 * `devcluster`, with the bearer token when one is required.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** The kubeconfig document for a server URL and optional token. */
export function kubeconfigYaml(url: string, token?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless insecure-skip-tls-verify is set; the server is
    // loopback-only, so there is no TLS to verify.
    clusters: [{ name: 'devcluster', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'devcluster', user: token ? { token } : {} }],
    contexts: [{ name: 'devcluster', context: { cluster: 'devcluster', user: 'devcluster', namespace: 'default' } }],
    'current-context': 'devcluster',
    preferences: {},
  });
}

/** Writes the kubeconfig with owner-only permissions (it may hold a token). */
export function writeKubeconfig(path: string, url: string, token?: string): void {
  writeFileSync(path, kubeconfigYaml(url, token), { mode: 0o600 });
}
