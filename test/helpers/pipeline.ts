// The whole pipeline in one test process: devcluster (with its executor simulator), the watcher,
// the coordinator and the hook worker pools on real Redis under a private prefix, plus an HTTP
// sink that records every hook request with its arrival time.
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { CustomObjectsApi, CoreV1Api, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { startDevCluster, type DevCluster } from '../../devcluster/index.js';
import { applyObjects, parseManifests, readManifests } from '../../cli/apply.js';
import { Watcher } from '../../producers/watcher.js';
import { Coordinator } from '../../workers/coordinator.js';
import { HookWorkerPool } from '../../workers/hook-worker.js';
import { silentLogger, createLogger, type Logger } from '../../shared/logger.js';
import { parseRedisUrl, connectRedis, type RedisTarget } from '../../shared/redis.js';
import { ALL_QUEUES, HOOK_QUEUES } from '../../shared/queues.js';
import type { BackupSession, Condition, Session } from '../../shared/resources.js';

export const CRD_DIR = fileURLToPath(new URL('../../k8s-manifests/base/crds/', import.meta.url));
export const CRD_FILES = ['backupconfigurations', 'backupbatches', 'backupsessions', 'restoresessions', 'appbindings'].map((n) => `${CRD_DIR}${n}.yaml`);

export interface SinkRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Sink {
  url: string;
  port: number;
  requests: SinkRequest[];
  /** Respond with this status to paths starting with the key. */
  statusFor: Map<string, number>;
  /** Statuses used up one per request to paths starting with the key, before `statusFor`. */
  sequenceFor: Map<string, number[]>;
  /** Requests to paths starting with the key are answered only once the promise settles. */
  holdFor: Map<string, Promise<unknown>>;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const requests: SinkRequest[] = [];
  const statusFor = new Map<string, number>();
  const sequenceFor = new Map<string, number[]>();
  const holdFor = new Map<string, Promise<unknown>>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      requests.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      await [...holdFor.entries()].find(([p]) => (req.url ?? '').startsWith(p))?.[1].catch(() => {});
      const scripted = [...sequenceFor.entries()].find(([p, seq]) => (req.url ?? '').startsWith(p) && seq.length > 0)?.[1].shift();
      const status = scripted ?? [...statusFor.entries()].find(([p]) => (req.url ?? '').startsWith(p))?.[1] ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    statusFor,
    sequenceFor,
    holdFor,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface PipelineOptions {
  backupSeconds?: number;
  sessionTimeoutMs?: number;
  verbose?: boolean;
  /** Start the watcher/coordinator/workers (default true); tests that manage roles pass false. */
  roles?: boolean;
  /** The watcher's periodic re-publish (default 2000 ms, to keep recovery tests short). */
  resyncIntervalMs?: number;
  /** The roles' logger (default: silent, or debug to stdout with `verbose`); see `capturingLogger`. */
  logger?: Logger;
  /** Hook worker concurrency (default 10) and timeout of a hook without `timeoutSeconds` (default 30 s). */
  concurrency?: number;
  defaultHookTimeoutSeconds?: number;
  /** The workers' `--protected-namespaces` (default: the worker's own default, `kube-system`). */
  protectedNamespaces?: string[];
  /** The hook workers' outcome seal key (default: each pool's own random key). */
  outcomeKey?: string;
}

/** One status of a session as a watch delivered it, with its arrival time. */
export interface SessionObservation {
  at: number;
  kind: 'BackupSession' | 'RestoreSession';
  namespace: string;
  name: string;
  uid: string;
  status: Session['status'];
}

export interface Pipeline {
  cluster: DevCluster;
  kubeConfig: KubeConfig;
  redis: RedisTarget;
  logger: Logger;
  prefix: string;
  /** Every session status seen by a watch since start, in order: "was it ever Running?". */
  history: SessionObservation[];
  /** Arrival time of the first observation of a session that matches, if any. */
  firstSeen(kind: SessionObservation['kind'], namespace: string, name: string, match: (status: Session['status']) => boolean): number | undefined;
  /** Deletes every Redis key under this pipeline's prefix (simulates a Redis that lost everything). */
  deleteRedisKeys(): Promise<number>;
  sink: Sink;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  watcher?: Watcher;
  coordinator?: Coordinator;
  workers?: HookWorkerPool;
  apply(yamlOrObjects: string | KubernetesObject[]): Promise<KubernetesObject[]>;
  getSession(kind: 'BackupSession' | 'RestoreSession', namespace: string, name: string): Promise<Session>;
  waitForPhase(kind: 'BackupSession' | 'RestoreSession', namespace: string, name: string, timeoutMs?: number): Promise<Session>;
  /** Starts the roles; `watcher: false` leaves the watcher to the test (leader election tests). */
  startRoles(opts?: { watcher?: boolean }): { watcher?: Watcher; coordinator: Coordinator; workers: HookWorkerPool };
  stopRoles(): Promise<void>;
  /** Closes only the watcher; `startWatcher()` starts a fresh one (a watcher restart). */
  stopWatcher(): Promise<void>;
  startWatcher(): Watcher;
  close(): Promise<void>;
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const cluster = await startDevCluster({ backupSeconds: options.backupSeconds ?? 0.2 });
  const kubeConfig = cluster.kubeConfig;
  await applyObjects(kubeConfig, readManifests(...CRD_FILES));
  const sink = await startSink();
  const prefix = `sh-test-${randomUUID().slice(0, 8)}`;
  const redis = parseRedisUrl(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  const logger = options.logger ?? (options.verbose ? createLogger({ level: 'debug' }) : silentLogger());
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let roles: { watcher?: Watcher; coordinator: Coordinator; workers: HookWorkerPool } | undefined;
  const history: SessionObservation[] = [];
  const watches = new Map<string, AbortController>();
  let closing = false;
  // "Never seen Running" is only true if the watch never stopped: a watch that ends is resumed
  // from the last resourceVersion, and one that cannot be resumed makes firstSeen() throw.
  let historyBroken: string | undefined;
  const watchSessions = async (plural: string, kind: SessionObservation['kind'], resourceVersion?: string): Promise<void> => {
    let lastRV = resourceVersion;
    const controller = await new Watch(kubeConfig).watch(
      `/apis/stash.appscode.com/v1beta1/${plural}`,
      resourceVersion ? { resourceVersion } : {},
      (type, obj: Session) => {
        if (!obj?.metadata) return;
        lastRV = obj.metadata.resourceVersion ?? lastRV;
        if (type === 'BOOKMARK') return;
        if (type === 'ERROR') historyBroken = `${plural} watch error: ${JSON.stringify(obj)}`;
        else
          history.push({
            at: Date.now(),
            kind,
            namespace: obj.metadata.namespace ?? '',
            name: obj.metadata.name ?? '',
            uid: obj.metadata.uid ?? '',
            status: structuredClone(obj.status),
          });
      },
      (err) => {
        if (closing) return;
        if (err && !lastRV) historyBroken = `${plural} watch ended: ${String(err)}`;
        else watchSessions(plural, kind, lastRV).catch((e) => (historyBroken = `${plural} watch could not resume: ${String(e)}`));
      },
    );
    watches.set(plural, controller);
  };
  await watchSessions('backupsessions', 'BackupSession');
  await watchSessions('restoresessions', 'RestoreSession');

  const newWatcher = () =>
    new Watcher({ kubeConfig, redis, prefix, logger, namespaces: [], watchdogSeconds: 60, resyncIntervalMs: options.resyncIntervalMs ?? 2000 });

  const p: Pipeline = {
    cluster,
    kubeConfig,
    redis,
    logger,
    prefix,
    history,
    firstSeen(kind, namespace, name, match) {
      if (historyBroken) throw new Error(`session history incomplete: ${historyBroken}`);
      return history.find((o) => o.kind === kind && o.namespace === namespace && o.name === name && match(o.status))?.at;
    },
    async deleteRedisKeys() {
      const client = await connectRedis(redis, { purpose: 'producer' });
      try {
        const keys = await client.keys(`${prefix}:*`);
        if (keys.length) await client.del(...keys);
        return keys.length;
      } finally {
        client.disconnect();
      }
    },
    sink,
    custom,
    core,
    async apply(input) {
      return applyObjects(kubeConfig, typeof input === 'string' ? parseManifests(input) : input);
    },
    async getSession(kind, namespace, name) {
      const plural = kind === 'BackupSession' ? 'backupsessions' : 'restoresessions';
      return (await custom.getNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace, plural, name })) as Session;
    },
    async waitForPhase(kind, namespace, name, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Session | undefined;
      while (Date.now() < deadline) {
        last = await p.getSession(kind, namespace, name);
        if (last.status?.phase === 'Succeeded' || last.status?.phase === 'Failed') {
          // Also wait for the history watch to deliver the final state: it is ordered, so from
          // then on firstSeen() knows every earlier state ("never Running" is then sound).
          const uid = last.metadata.uid;
          while (Date.now() < deadline) {
            const caughtUp = history.some((o) => o.kind === kind && o.uid === uid && o.status?.phase === last!.status!.phase);
            if (caughtUp || historyBroken) return last;
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error(`the session watch did not deliver ${kind} ${namespace}/${name} (uid ${uid}) ${last.status.phase} within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${kind} ${namespace}/${name} did not finish within ${timeoutMs} ms; last status: ${JSON.stringify(last?.status)}`);
    },
    stopWatcher() {
      const w = roles?.watcher;
      if (roles) roles.watcher = undefined;
      p.watcher = undefined;
      return w ? w.close() : Promise.resolve();
    },
    startWatcher() {
      if (!roles) throw new Error('startWatcher() needs the other roles running (startRoles())');
      if (roles.watcher) throw new Error('a watcher is already running');
      const watcher = newWatcher();
      watcher.start();
      roles.watcher = watcher;
      p.watcher = watcher;
      return watcher;
    },
    startRoles(opts = {}) {
      const common = { kubeConfig, redis, prefix, logger };
      const watcher = opts.watcher === false ? undefined : newWatcher();
      const coordinator = new Coordinator({ ...common, sessionTimeoutMs: options.sessionTimeoutMs ?? 60_000 });
      const workers = new HookWorkerPool({
        ...common,
        queues: HOOK_QUEUES,
        concurrency: options.concurrency ?? 10,
        defaultHookTimeoutSeconds: options.defaultHookTimeoutSeconds ?? 30,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 60_000,
        protectedNamespaces: options.protectedNamespaces,
        outcomeKey: options.outcomeKey,
      });
      coordinator.start();
      workers.start();
      watcher?.start();
      roles = { watcher, coordinator, workers };
      Object.assign(p, roles);
      return roles;
    },
    async stopRoles() {
      if (!roles) return;
      const r = roles;
      roles = undefined;
      await Promise.all([r.watcher?.close(), r.coordinator.close(), r.workers.close(1000)]);
    },
    async close() {
      closing = true;
      for (const w of watches.values()) w.abort();
      await p.stopRoles();
      const client = await connectRedis(redis, { purpose: 'producer' });
      try {
        for (const name of ALL_QUEUES) {
          const q = new Queue(name, { connection: client, prefix });
          await q.obliterate({ force: true }).catch(() => {});
          await q.close();
        }
        const left = await client.keys(`${prefix}:*`);
        if (left.length) await client.del(...left);
      } finally {
        client.disconnect();
      }
      await sink.close();
      await cluster.close();
    },
  };
  // Render threads take seconds to load under tsx; a hook must not pay for that against a 2 s deadline.
  if (options.roles !== false) await p.startRoles().workers.ready();
  return p;
}

/** A namespace, a Deployment with `replicas` pods, and the YAML for a BackupConfiguration. */
/** A debug-level logger whose every JSON line is appended to `lines` (tests that read the logs). */
export function capturingLogger(lines: string[]): Logger {
  return createLogger({ level: 'debug', destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) });
}

export function appYaml(ns: string, name: string, opts: { replicas?: number; annotations?: Record<string, string> } = {}): string {
  const ann = opts.annotations
    ? `\n  annotations:\n${Object.entries(opts.annotations)
        .map(([k, v]) => `    ${k}: "${v}"`)
        .join('\n')}`
    : '';
  return `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}${ann}
spec:
  replicas: ${opts.replicas ?? 1}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: app
          image: busybox
          ports: [{name: http, containerPort: 8080}]
`;
}

/** Polls `probe` until it returns a value other than undefined/false, or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The user-visible fields of a condition (no timestamps), or undefined when absent. */
export function cond(conditions: Condition[] | undefined, type: string): { status: string; reason?: string; message?: string } | undefined {
  const c = conditions?.find((x) => x.type === type);
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
}

/**
 * A Handler (YAML flow mapping) that POSTs to the sink at `path`. Always with a body: see the
 * report on issue 5 (an httpPost without body never sends its request).
 */
export function sinkPost(sink: Sink, path: string, body = '{{ .Status.Phase }}', extra = ''): string {
  return `{${extra ? extra + ', ' : ''}httpPost: {host: 127.0.0.1, port: ${sink.port}, path: "${path}", body: '${body}'}}`;
}

/**
 * BackupConfiguration `cfg` on Deployment `app` with `hooks` (indented YAML lines under `hooks:`)
 * and its BackupSession `cfg-1`, in `ns`.
 */
export function configAndSession(ns: string, hooks: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: cfg, namespace: ${ns}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
${hooks}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: cfg-1, namespace: ${ns}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: cfg}
`;
}

/**
 * Namespace `ns` with Deployment `app`, BackupConfiguration `cfg` whose preBackup and postBackup
 * POST to the sink at `/<ns>/pre` and `/<ns>/post`, and BackupSession `cfg-1`.
 */
export async function applySinkSession(p: Pipeline, ns: string): Promise<void> {
  await p.apply(appYaml(ns, 'app'));
  await p.apply(configAndSession(ns, `    preBackup: ${sinkPost(p.sink, `/${ns}/pre`)}\n    postBackup: ${sinkPost(p.sink, `/${ns}/post`)}`));
}

/** Waits until the watch saw target 0 of `<ns>/cfg-1` (an `applySinkSession` session) in `phase`. */
export async function waitForSinkTarget(p: Pipeline, ns: string, phase: string): Promise<void> {
  const phaseOf = (st: unknown) => (st as BackupSession['status'])?.targets?.[0]?.phase;
  await waitFor(`${ns}/cfg-1 target ${phase}`, () => p.firstSeen('BackupSession', ns, 'cfg-1', (st) => phaseOf(st) === phase));
}

/**
 * `<ns>/cfg-1` (an `applySinkSession` session) Succeeded with both hook conditions, and the sink
 * got exactly one pre and one post request — after a pause long enough for a duplicate to show.
 */
export async function assertSinkSessionRanOnce(p: Pipeline, ns: string): Promise<void> {
  const s = (await p.waitForPhase('BackupSession', ns, 'cfg-1')) as BackupSession;
  assert.is(s.status?.phase, 'Succeeded', JSON.stringify(s.status));
  const t = s.status!.targets![0];
  assert.is(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True');
  assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'True',
    reason: 'SuccessfullyExecutedPostBackupHook',
    message: 'Successfully executed postBackup hook.',
  });
  // Give a duplicate every chance to show up (a resync runs every 2 s in the harness).
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith(`/${ns}/`)).map((r) => r.path),
    [`/${ns}/pre`, `/${ns}/post`],
  );
}
