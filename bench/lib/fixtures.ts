/** The objects the scenarios create: plain JSON for the raw client, hooks that call the sink. */
import { STASH_API, type KubeHttp } from './kube-http.js';

const BC = `${STASH_API}/namespaces`;

export function httpGet(port: number, path: string): Record<string, unknown> {
  return { httpGet: { host: '127.0.0.1', port, path } };
}

/** A namespace and a one-replica Deployment `app` (the executor simulator backs up its pod). */
export async function createApp(k: KubeHttp, ns: string): Promise<void> {
  await must(k.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
  await must(
    k.send('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'app' } },
        template: {
          metadata: { labels: { app: 'app' } },
          spec: { containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    }),
  );
}

const TARGET = { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } };

export async function createBackupConfiguration(k: KubeHttp, ns: string, name: string, hooks: Record<string, unknown>): Promise<void> {
  await must(
    k.send('POST', `${BC}/${ns}/backupconfigurations`, {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupConfiguration',
      metadata: { name, namespace: ns },
      spec: { target: TARGET, hooks },
    }),
  );
}

/** A Parallel BackupBatch of `members` members on `app`, every hook an httpGet to the sink. */
export async function createBackupBatch(
  k: KubeHttp,
  ns: string,
  name: string,
  members: number,
  hooks: { global?: Record<string, unknown>; local?: (i: number) => Record<string, unknown> },
): Promise<void> {
  await must(
    k.send('POST', `${BC}/${ns}/backupbatches`, {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupBatch',
      metadata: { name, namespace: ns },
      spec: {
        executionOrder: 'Parallel',
        ...(hooks.global ? { hooks: hooks.global } : {}),
        members: Array.from({ length: members }, (_v, i) => ({ target: TARGET, ...(hooks.local ? { hooks: hooks.local(i) } : {}) })),
      },
    }),
  );
}

/** Creates a BackupSession; resolves to its uid. */
export async function createSession(
  k: KubeHttp,
  ns: string,
  name: string,
  invoker: { kind: 'BackupConfiguration' | 'BackupBatch'; name: string },
): Promise<string> {
  const r = await must(
    k.send<{ metadata: { uid: string } }>('POST', `${BC}/${ns}/backupsessions`, {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name, namespace: ns },
      spec: { invoker: { apiGroup: 'stash.appscode.com', ...invoker } },
    }),
  );
  return r.body.metadata.uid;
}

export async function must<T>(p: Promise<{ status: number; body: T }>): Promise<{ status: number; body: T }> {
  const r = await p;
  if (r.status >= 300) throw new Error(`API request failed with ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  return r;
}
