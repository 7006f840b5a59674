/**
 * Assembles devcluster: store, registry, object API, watch hub, controllers, exec, HTTP server,
 * kubeconfig, and (optionally) the backup executor simulator. `close()` is idempotent and runs
 * every cleanup step even when one fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createApiServer } from './api-server.js';
import { EndpointsController } from './controllers/endpoints.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { WorkQueue } from './controllers/work-queue.js';
import { WorkloadController } from './controllers/workloads.js';
import { crdHooks } from './crds.js';
import { ObjectApi } from './crud.js';
import { ExecService } from './exec.js';
import { ExecutorSimulator } from './executor-simulator.js';
import { FaultInjector, faultExemptKubeConfig } from './faults.js';
import { installKindHooks, IpPool } from './kinds.js';
import { writeKubeconfig } from './kubeconfig.js';
import { createDevClusterTls } from './tls.js';
import { OpenApi } from './openapi.js';
import { resolveOptions, type DevClusterOptions } from './options.js';
import { Registry } from './registry.js';
import { Store } from './store.js';
import { WatchHub } from './watch-hub.js';

/** A running devcluster. */
export interface DevCluster {
  /** `http://127.0.0.1:<port>`, or `https://…` when it serves TLS. */
  url: string;
  /** PEM of the CA that signed the server's certificate (HTTPS only); the kubeconfig carries it. */
  caPem?: string;
  kubeconfigPath: string;
  /** A client-node KubeConfig loaded for this cluster. */
  kubeConfig: KubeConfig;
  /** Stops everything: executor, watches, exec processes, server; removes temp files. */
  close(): Promise<void>;
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Starts an in-memory Kubernetes API server on 127.0.0.1 (DESIGN §8). */
export async function startDevCluster(options?: DevClusterOptions): Promise<DevCluster> {
  const opts = resolveOptions(options);
  const log = opts.logger;
  const tempDir = mkdtempSync(join(tmpdir(), 'devcluster-'));
  const podsDir = join(tempDir, 'pods');
  const store = new Store({ historySize: opts.historySize });
  const registry = new Registry();
  const api = new ObjectApi(store);
  const watches = new WatchHub(store, { bookmarkIntervalMs: opts.bookmarkIntervalMs, maxBufferedBytes: 64 * 1024 * 1024, flushDelayMs: 0 });
  const timers = new Set<NodeJS.Timeout>();
  const schedule = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      try {
        fn();
      } catch (err) {
        log(`devcluster: scheduled work failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }, ms);
    timers.add(t);
  };
  installKindHooks({ api, store, registry, ips: new IpPool(opts.firstPodIp), podsDir, schedule });
  api.setHooks(
    'apiextensions.k8s.io',
    'customresourcedefinitions',
    crdHooks(registry, store, (key) => watches.closeAll(key)),
  );

  const queue = new WorkQueue((err) => log(`devcluster: controller error: ${(err as Error)?.stack ?? String(err)}`));
  const gc = new GarbageCollector(store, api, registry, queue);
  const workloads = new WorkloadController(store, api, registry, queue);
  const endpoints = new EndpointsController(store, api, registry, queue);
  const unsubscribe = store.subscribe((ev) => {
    gc.observe(ev);
    workloads.observe(ev);
    endpoints.observe(ev);
  });

  const nsDef = registry.get('', 'v1', 'namespaces')!;
  for (const ns of DEFAULT_NAMESPACES) api.create(nsDef, undefined, { metadata: { name: ns } });

  const exec = new ExecService({ api, registry, podsDir, log });
  const tls = opts.tls ? createDevClusterTls() : undefined;
  const server = createApiServer(
    {
      store,
      api,
      watches,
      registry,
      openapi: new OpenApi(registry),
      token: opts.token,
      log,
      exec: (req, socket, head, p) => exec.handleUpgrade(req, socket, head, p),
      faults: new FaultInjector(() => watches.closeAll()),
    },
    tls,
  );
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  writeKubeconfig(opts.kubeconfigPath, url, opts.token, tls?.caPem);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(opts.kubeconfigPath);

  let simulator: ExecutorSimulator | undefined;
  if (opts.executor) {
    simulator = new ExecutorSimulator({ kubeConfig: faultExemptKubeConfig(kubeConfig), backupSeconds: opts.backupSeconds, log });
    simulator.start();
  }
  log(`devcluster: serving ${url}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const steps: Array<() => unknown> = [
        () => simulator?.close(),
        () => unsubscribe(),
        () => {
          for (const t of timers) clearTimeout(t);
          timers.clear();
        },
        () => queue.close(),
        () => exec.close(),
        () => watches.close(),
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
        () => rmSync(tempDir, { recursive: true, force: true }),
        () => {
          if (opts.ownsKubeconfig) rmSync(opts.kubeconfigPath, { force: true });
        },
      ];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          log(`devcluster: close step failed: ${(err as Error)?.message ?? String(err)}`);
        }
      }
    })();
    return closing;
  };
  return { url, caPem: tls?.caPem, kubeconfigPath: opts.kubeconfigPath, kubeConfig, close };
}
