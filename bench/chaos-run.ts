/**
 * The chaos run (issue 8): N BackupSessions (single targets and BackupBatches, some meant to
 * fail) while the CLI roles are SIGKILLed and restarted at random moments, the private Redis is
 * restarted empty, and devcluster injects faults (closed watches, 410s, 500s on writes,
 * latency). Afterwards every session must be finalized with its expected phase, and every hook
 * must have reached the HTTP sink exactly once, except that a run interrupted by a worker SIGKILL
 * (its request cut off, or its worker killed before it recorded the outcome; the worker is known
 * by the User-Agent of the request) may be run once more.
 *
 * Everything is private to the run: devcluster in-process on a free port, a redis-server on a
 * free port (`--save "" --appendonly no`), a unique prefix, roles with `STASH_HOOKS_HTTP_PORT=0`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../devcluster/index.js';
import { applyObjects, parseManifests, readManifests } from '../cli/apply.js';
import { startRedisSentinel, startRedisServer, type RedisSentinelServers, type RedisServer } from '../test/helpers/redis-servers.js';
import { appYaml, CRD_FILES } from '../test/helpers/pipeline.js';
import type { Session } from '../shared/resources.js';
import { Queue } from 'bullmq';
import { ALL_QUEUES } from '../shared/queues.js';
import { connectRedis, parseRedisUrl } from '../shared/redis.js';
import { BIN } from '../test/helpers/cli.js';

const NS = 'chaos';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Sessions to create. */
  sessions: number;
  /** Share of sessions that are BackupBatch sessions (2 members, global + local hooks). */
  batchShare: number;
  /** Share of single sessions whose pre hook answers 500 (expected phase Failed). */
  failShare: number;
  /** Hook worker processes. */
  workers: number;
  /** Sessions are created over this long. */
  createOverMs: number;
  /** Mean time between chaos actions. */
  chaosEveryMs: number;
  /** How many times the Redis server is restarted empty (spread over the creation window). */
  redisRestarts: number;
  /** How long to wait for every session to finish after the last chaos action. */
  settleTimeoutMs: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** A fixed cycle of actions instead of random ones (the short test uses it so each kind happens). */
  actions?: ChaosAction[];
  /** Hook worker `--concurrency` (default 20). */
  concurrency?: number;
  /** Share of single sessions whose hooks take `slowHookMs` (a long hook, in flight through faults). */
  slowShare?: number;
  /** How long a slow hook takes: uniformly in [min, max] ms. Default [2000, 5000]. */
  slowHookMs?: [number, number];
  /**
   * Redis behind Sentinel with a replica: `failovers` Sentinel failovers spread over the creation
   * window (instead of empty restarts, which a replica would survive only by luck).
   */
  sentinel?: boolean;
  failovers?: number;
  /** API latency spikes: every request waits up to `latencySpikeMs` for 10 s (longer than the 7.5 s lock renewal). */
  latencySpikes?: number;
  latencySpikeMs?: number;
  /**
   * The bar on duplicates: 'killed-only' (default) accepts a re-run paid for by a worker SIGKILL
   * that interrupted the earlier run; 'none' accepts no duplicate at all (the Redis-loss scenario).
   */
  duplicates?: 'killed-only' | 'none';
}

/** One chaos action. */
export type ChaosAction = 'kill-worker' | 'kill-coordinator' | 'kill-watcher' | 'close-watches' | 'faults-on' | 'faults-off' | 'restart-redis';

function pickAction(a: number): ChaosAction {
  if (a < 0.4) return 'kill-worker';
  if (a < 0.55) return 'kill-coordinator';
  if (a < 0.65) return 'kill-watcher';
  if (a < 0.75) return 'close-watches';
  return a < 0.88 ? 'faults-on' : 'faults-off';
}

/** A hook execution the sink should see once. */
interface Expect {
  session: string;
  kind: 'single' | 'single-fail' | 'batch' | 'single-slow';
  phase: 'Succeeded' | 'Failed';
  hooks: string[];
}

/** The figures of a run. */
export interface ChaosReport {
  sessions: number;
  byKind: Record<string, number>;
  finalizedRight: number;
  wrongPhase: string[];
  stuck: string[];
  hooksExpected: number;
  hooksSeen: number;
  missingHooks: string[];
  /** Each hook run more than once, with what most likely caused it and its timeline. */
  duplicateHooks: DuplicateHook[];
  unexpectedHooks: string[];
  kills: Record<'watcher' | 'coordinator' | 'worker', number>;
  workerKillsMidHook: number;
  redisRestarts: number;
  faults: Record<string, number>;
  durationMs: number;
  settleMs: number;
  /** Sentinel failovers, and API latency spikes. */
  failovers: number;
  latencySpikes: number;
  /** Every role process exit chaos did not cause, with its code/signal and last words. */
  selfExits: string[];
  /** Hook runs a worker SIGKILL interrupted (cut off, or killed before the outcome could be kept): the most re-runs the bar allows. */
  interruptedRuns: number;
  /** Hook re-runs whose condition says which stopped worker they took over from. */
  rerunsNamedInConditions: number;
  /** The duplicate bar of this run. */
  duplicateBar: 'killed-only' | 'none';
  /** Role log lines (level warn and up) that name a stuck session, for diagnosis. */
  diagnostics: string[];
}

/** Why a hook ran again, judged from the sink and the chaos timeline. */
export type DuplicateCause =
  'cut off by a worker SIGKILL' | 'its worker was SIGKILLed before recording it' | 'Redis restarted empty' | 'no worker SIGKILL explains it';

/** A hook that reached the sink more than once. */
export interface DuplicateHook {
  path: string;
  count: number;
  /** Re-runs no worker SIGKILL accounts for (the chaos bar: zero). */
  unexplained: number;
  /** Its condition says it ran again after a worker chaos SIGKILLed (the product's own account of the re-run). */
  namedStoppedWorker?: boolean;
  cause: DuplicateCause;
  /** Its requests and the chaos actions around them, in seconds since the start of the run. */
  timeline: string;
}

/** One request at the sink; `cutOff` when its client went away before the answer (a worker SIGKILLed mid-hook). */
interface SinkRequest {
  path: string;
  at: number;
  cutOff: boolean;
  /** The worker incarnation that sent it (from `User-Agent: stash-hooks (worker <identity>)`). */
  worker: string;
}

/** The HTTP sink of the run: records every hook request, answers after a short delay (so hooks are in flight when workers die). */
interface Sink {
  port: number;
  requests: SinkRequest[];
  statusFor: Map<string, number>;
  inflight(): number;
  close(): Promise<void>;
}

async function startChaosSink(delayMs: number, slowMs: [number, number] = [2000, 5000]): Promise<Sink> {
  const requests: Sink['requests'] = [];
  const statusFor = new Map<string, number>();
  let inflight = 0;
  const server = createServer((req, res) => {
    inflight++;
    const worker = /\(worker (.+)\)$/.exec(req.headers['user-agent'] ?? '')?.[1] ?? '?';
    const entry: SinkRequest = { path: req.url ?? '', at: Date.now(), cutOff: false, worker };
    requests.push(entry);
    res.on('close', () => {
      inflight--;
      if (!res.writableFinished) entry.cutOff = true;
    });
    req.resume();
    req.on('end', () => {
      const status = [...statusFor].find(([p]) => entry.path.startsWith(p))?.[1] ?? 200;
      const wait = entry.path.startsWith('/slow/') ? slowMs[0] + (slowMs[1] - slowMs[0]) * Math.random() : delayMs * Math.random();
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      }, wait);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    statusFor,
    inflight: () => inflight,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One spawned CLI role; restartable, and at most one process at a time. */
class RoleProcess {
  private child?: ChildProcess;
  readonly output: string[] = [];
  private generation = 0;
  private restartTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Set while chaos (or the end of the run) stops this incarnation: its exit is expected. */
  private stopping = false;
  /** This incarnation's `POD_NAME` (workers: `worker-1.g3`), which its HTTP hooks send in User-Agent. */
  identity = '';
  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    /** Told of an exit nobody asked for (the process ended by itself), with its last words; it is restarted, as kubelet would. */
    private readonly onSelfExit: (what: string) => void = () => {},
  ) {}

  /** Starts the role unless it runs already or was stopped for good. */
  start(): void {
    clearTimeout(this.restartTimer);
    if (this.stopped || this.alive) return;
    this.identity = this.env.POD_NAME ?? `${this.name}.g${++this.generation}`;
    const child = spawn(process.execPath, [BIN, ...this.args], { env: { ...this.env, POD_NAME: this.identity }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.output.push(d.toString());
      if (this.output.length > 2000) this.output.splice(0, 1000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    this.stopping = false;
    const identity = this.identity;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.stopped) return;
      const last = this.output.join('').trim().split('\n').slice(-3).join(' | ').slice(-600);
      this.onSelfExit(`${this.name} (${identity}) ended by itself: ${signal ? `signal ${signal}` : `exit code ${code}`}; last output: ${last}`);
      this.restartIn(500);
    });
  }

  /** Starts the role again after `ms` (a SIGKILLed role coming back). */
  restartIn(ms: number): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.start(), ms);
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  }

  /**
   * Stops the role for good: no pending restart fires afterwards (one that did left a second,
   * untracked process that kept the short chaos test alive until the test runner's cap).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c || !this.alive) return;
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await this.kill('SIGTERM');
    clearTimeout(t);
  }
}

function sinkHook(sink: Sink, path: string): string {
  return `{httpPost: {host: 127.0.0.1, port: ${sink.port}, path: "${path}", body: '{{ .Status.Phase }}'}}`;
}

/** A BackupConfiguration `name` whose pre and post hooks POST to the sink under `/<prefix>h/<session>/`. */
function configYaml(sink: Sink, name: string, prefix: string): string {
  return `
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: ${name}, namespace: ${NS}}
spec:
  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}}
  hooks:
    preBackup: ${sinkHook(sink, `/${prefix}h/{{ .Name }}/pre`)}
    postBackup: ${sinkHook(sink, `/${prefix}h/{{ .Name }}/post`)}
`;
}

/** Single sessions' configurations (`ok`; `failing`, whose sink paths answer 500; `slow`, whose hooks take seconds) and the batch. */
function invokersYaml(sink: Sink): string {
  return `${configYaml(sink, 'ok', '')}---${configYaml(sink, 'failing', 'fail/')}---${configYaml(sink, 'slow', 'slow/')}---
apiVersion: stash.appscode.com/v1beta1
kind: BackupBatch
metadata: {name: batch, namespace: ${NS}}
spec:
  executionOrder: Parallel
  hooks:
    preBackup: ${sinkHook(sink, '/h/{{ .Name }}/global/pre')}
    postBackup: ${sinkHook(sink, '/h/{{ .Name }}/global/post')}
  members:
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: a}}
      hooks:
        preBackup: ${sinkHook(sink, '/h/{{ .Name }}/a/pre')}
        postBackup: ${sinkHook(sink, '/h/{{ .Name }}/a/post')}
    - target: {ref: {apiVersion: apps/v1, kind: Deployment, name: b}}
      hooks:
        preBackup: ${sinkHook(sink, '/h/{{ .Name }}/b/pre')}
        postBackup: ${sinkHook(sink, '/h/{{ .Name }}/b/post')}
`;
}

function plan(i: number, o: ChaosOptions, rand: () => number): Expect {
  const session = `s-${String(i).padStart(4, '0')}`;
  const r = rand();
  if (r < o.batchShare) {
    return {
      session,
      kind: 'batch',
      phase: 'Succeeded',
      hooks: ['global/pre', 'a/pre', 'b/pre', 'a/post', 'b/post', 'global/post'].map((h) => `/h/${session}/${h}`),
    };
  }
  if (r < o.batchShare + o.failShare) return { session, kind: 'single-fail', phase: 'Failed', hooks: [`/fail/h/${session}/pre`] };
  if (r < o.batchShare + o.failShare + (o.slowShare ?? 0))
    return { session, kind: 'single-slow', phase: 'Succeeded', hooks: [`/slow/h/${session}/pre`, `/slow/h/${session}/post`] };
  return { session, kind: 'single', phase: 'Succeeded', hooks: [`/h/${session}/pre`, `/h/${session}/post`] };
}

function sessionYaml(e: Expect): string {
  const invoker =
    e.kind === 'batch'
      ? { kind: 'BackupBatch', name: 'batch' }
      : { kind: 'BackupConfiguration', name: { single: 'ok', 'single-fail': 'failing', 'single-slow': 'slow' }[e.kind] };
  return `apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata: {name: ${e.session}, namespace: ${NS}}
spec:
  invoker: {apiGroup: stash.appscode.com, kind: ${invoker.kind}, name: ${invoker.name}}
`;
}

/** A small deterministic PRNG so a run can be replayed (`CHAOS_SEED`). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the chaos scenario and returns its figures; everything it started is stopped. */
export async function runChaos(o: ChaosOptions, seed = Date.now() % 1_000_000): Promise<ChaosReport> {
  const rand = mulberry32(seed);
  const t0 = Date.now();
  o.log(`chaos: seed ${seed}, ${o.sessions} sessions, ${o.workers} workers`);
  const events: Array<{ at: number; what: string }> = [];
  const event = (what: string) => {
    events.push({ at: Date.now(), what });
    o.log(`chaos: ${what}`);
  };
  let cluster: DevCluster | undefined;
  let redis: RedisServer | undefined;
  let sentinel: RedisSentinelServers | undefined;
  let sink: Sink | undefined;
  const roles: RoleProcess[] = [];
  const selfExits: string[] = [];
  try {
    cluster = await startDevCluster({ backupSeconds: 0.1, historySize: 5000 });
    if (o.sentinel) sentinel = await startRedisSentinel('chaos', { replica: true });
    else redis = await startRedisServer();
    const redisUrl = sentinel ? sentinel.url : redis!.url;
    sink = await startChaosSink(50, o.slowHookMs);
    sink.statusFor.set('/fail/', 500);
    await applyObjects(cluster.kubeConfig, readManifests(...CRD_FILES));
    const app = (name: string) => appYaml(NS, name).split('---')[1];
    await applyObjects(cluster.kubeConfig, parseManifests(appYaml(NS, 'app') + '---' + app('a') + '---' + app('b') + '---' + invokersYaml(sink)));

    const env = {
      ...process.env,
      KUBECONFIG: cluster.kubeconfigPath,
      REDIS_URL: redisUrl,
      STASH_HOOKS_PREFIX: `chaos-${randomUUID().slice(0, 8)}`,
      STASH_HOOKS_HTTP_PORT: '0',
      STASH_HOOKS_WATCHDOG_SECONDS: '10',
      STASH_HOOKS_SESSION_TIMEOUT: '30m',
      STASH_HOOKS_SHUTDOWN_GRACE_SECONDS: '2',
      // One key for every worker, as production sets it from a Secret: a hook outcome kept by a
      // worker that is then killed must be trusted by the worker that retries the job.
      STASH_HOOKS_OUTCOME_KEY: randomUUID() + randomUUID(),
      LOG_LEVEL: 'warn',
    };
    const selfExit = (what: string) => {
      selfExits.push(what);
      event(what);
    };
    roles.push(new RoleProcess('watcher-0', ['watcher'], { ...env, POD_NAME: 'chaos-watcher-0' }, selfExit));
    roles.push(new RoleProcess('watcher-1', ['watcher'], { ...env, POD_NAME: 'chaos-watcher-1' }, selfExit));
    roles.push(new RoleProcess('coordinator', ['coordinator'], env, selfExit));
    for (let i = 0; i < o.workers; i++) roles.push(new RoleProcess(`worker-${i}`, ['worker', '--concurrency', String(o.concurrency ?? 20)], env, selfExit));
    for (const r of roles) r.start();

    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const faultsUrl = `${cluster.url}/debug/faults`;
    const setFaults = (s: Record<string, number>) => fetch(faultsUrl, { method: 'PUT', body: JSON.stringify(s) }).then((r) => r.json());

    const expects = Array.from({ length: o.sessions }, (_, i) => plan(i, o, rand));
    const kills = { watcher: 0, coordinator: 0, worker: 0 };
    let workerKillsMidHook = 0;
    /** Worker incarnations SIGKILLed, and when. */
    const killedWorkers = new Map<string, number>();
    let redisRestarts = 0;
    let failovers = 0;
    let latencySpikes = 0;
    /** Redis restarts (standalone) or failovers (Sentinel), and latency spikes, spread over the creation window. */
    const spread = (n: number, offset: number) => Array.from({ length: n }, (_, k) => t0 + ((k + offset) * o.createOverMs) / Math.max(1, n));
    const failoverAt = sentinel ? spread(o.failovers ?? 2, 0.5) : [];
    const spikeAt = spread(o.latencySpikes ?? 0, 0.3);
    let spikeEndsAt = 0;

    // Creation: spread over createOverMs; the test's own client is fault-exempt in spirit, so it retries.
    const creating = (async () => {
      for (const [i, e] of expects.entries()) {
        for (let attempt = 0; ; attempt++) {
          try {
            await applyObjects(cluster!.kubeConfig, parseManifests(sessionYaml(e)));
            break;
          } catch (err) {
            if (attempt > 20) throw err;
            await sleep(100);
          }
        }
        const due = t0 + ((i + 1) * o.createOverMs) / o.sessions;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();

    // Chaos: until creation ends, one random action per ~chaosEveryMs; a fixed cycle of actions
    // runs to its end even when creation ends first (a fast run must not skip the kills it asserts).
    let created = false;
    void creating.finally(() => (created = true));
    const cycleDone = () => !o.actions || step >= o.actions.length;
    const restartAt = redis ? spread(o.redisRestarts, 0.5) : [];
    let step = 0;
    while (!created || !cycleDone()) {
      await sleep(o.chaosEveryMs * (0.5 + rand()));
      if (created && cycleDone()) break;
      if (spikeEndsAt && Date.now() >= spikeEndsAt) {
        spikeEndsAt = 0;
        await setFaults({ latencyMs: 0 });
        event('API latency spike over');
      }
      if (spikeAt.length && Date.now() >= spikeAt[0]) {
        spikeAt.shift();
        const ms = o.latencySpikeMs ?? 11_000;
        await setFaults({ latencyMs: ms });
        spikeEndsAt = Date.now() + 10_000;
        latencySpikes++;
        event(`API latency spike: every request waits up to ${ms} ms for 10 s`);
        continue;
      }
      if (failoverAt.length && Date.now() >= failoverAt[0]) {
        failoverAt.shift();
        const from = await sentinel!.masterPort();
        await sentinel!.failover();
        failovers++;
        event(`Sentinel failover: master ${from} → ${await sentinel!.masterPort()}`);
        continue;
      }
      if (restartAt.length && Date.now() >= restartAt[0]) {
        restartAt.shift();
        event(`redis restarted empty (${sink.inflight()} hooks in flight)`);
        await redis!.restart();
        redisRestarts++;
        continue;
      }
      const action = o.actions ? o.actions[step++ % o.actions.length] : pickAction(rand());
      if (action === 'kill-worker') {
        const pool = roles.filter((r) => r.name.startsWith('worker') && r.alive);
        const victim = pool[Math.floor(rand() * pool.length)];
        if (victim) {
          const inflight = sink.inflight();
          const identity = victim.identity;
          await victim.kill();
          killedWorkers.set(identity, Date.now());
          kills.worker++;
          if (inflight > 0) workerKillsMidHook++;
          event(`SIGKILL ${victim.name}${inflight ? ' (hooks in flight)' : ''}`);
          victim.restartIn(300 + rand() * 700);
        }
      } else if (action === 'kill-coordinator') {
        const c = roles.find((r) => r.name === 'coordinator')!;
        await c.kill();
        kills.coordinator++;
        event('SIGKILL coordinator');
        c.restartIn(300 + rand() * 700);
      } else if (action === 'kill-watcher') {
        const w = roles.filter((r) => r.name.startsWith('watcher'))[Math.floor(rand() * 2)];
        await w.kill();
        kills.watcher++;
        event(`SIGKILL ${w.name}`);
        w.restartIn(300 + rand() * 700);
      } else if (action === 'close-watches') {
        const r = (await fetch(`${faultsUrl}/close-watches`, { method: 'POST' }).then((x) => x.json())) as { closed: number };
        event(`closed ${r.closed} watches`);
      } else if (action === 'restart-redis') {
        if (redis) {
          event('redis restarted empty');
          await redis.restart();
          redisRestarts++;
        }
      } else {
        const on = action === 'faults-on';
        // A latency spike in progress keeps its latency until it ends.
        const latency: Record<string, number> = spikeEndsAt ? {} : { latencyMs: on ? 30 : 0 };
        await setFaults(on ? { writeErrorRate: 0.05, watchGoneRate: 0.3, ...latency } : { writeErrorRate: 0, watchGoneRate: 0, ...latency });
        event(`faults ${on ? 'on (5% write 500s, 30% watch 410s, 0-30 ms latency)' : 'off'}`);
      }
    }
    await creating;
    const faultState = (await setFaults({ writeErrorRate: 0, watchGoneRate: 0, latencyMs: 0 })) as { counts: Record<string, number> };
    for (const r of roles) if (!r.alive) r.start();
    o.log('chaos: creation done, faults off; waiting for every session to finish');

    const settleStart = Date.now();
    const phases = new Map<string, string>();
    let rerunsNamed = 0;
    /** By sink path (without /fail or /slow): the worker incarnation a hook's final run took over from. */
    const tookOver = new Map<string, string>();
    while (Date.now() - settleStart < o.settleTimeoutMs) {
      const list = (await custom.listNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace: NS, plural: 'backupsessions' })) as {
        items: Session[];
      };
      for (const s of list.items) phases.set(s.metadata.name!, s.status?.phase ?? '');
      const open = expects.filter((e) => !['Succeeded', 'Failed'].includes(phases.get(e.session) ?? ''));
      if (open.length === 0) {
        // The conditions that say a hook was run again, and after which stopped worker, by sink path.
        for (const s of list.items) {
          const name = s.metadata.name!;
          const targets = (s as { status?: { targets?: Array<{ conditions?: Array<{ type: string; message?: string }> }> } }).status?.targets ?? [];
          const at = (part: string, conditions: Array<{ type: string; message?: string }> | undefined, type: string) => {
            const m = RERUN_NOTE.exec(conditions?.find((c) => c.type === type)?.message ?? '');
            if (!m) return;
            rerunsNamed++;
            tookOver.set(`/h/${name}/${part}`, m[1]);
          };
          at('global/pre', s.status?.conditions, 'GlobalPreBackupHookSucceeded');
          at('global/post', s.status?.conditions, 'GlobalPostBackupHookSucceeded');
          const members = targets.length > 1 ? ['a/', 'b/'] : [''];
          members.forEach((m, i) => {
            at(`${m}pre`, targets[i]?.conditions, 'PreBackupHookExecutionSucceeded');
            at(`${m}post`, targets[i]?.conditions, 'PostBackupHookExecutionSucceeded');
          });
        }
        break;
      }
      await sleep(500);
    }
    const settleMs = Date.now() - settleStart;
    // Let late duplicates (if any) arrive before counting.
    await sleep(1000);

    const seen = new Map<string, number>();
    const byPath = new Map<string, SinkRequest[]>();
    for (const r of sink.requests) {
      seen.set(r.path, (seen.get(r.path) ?? 0) + 1);
      byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
    }
    const expectedPaths = new Set(expects.flatMap((e) => e.hooks));
    const report: ChaosReport = {
      sessions: o.sessions,
      byKind: expects.reduce<Record<string, number>>((m, e) => ((m[e.kind] = (m[e.kind] ?? 0) + 1), m), {}),
      finalizedRight: expects.filter((e) => phases.get(e.session) === e.phase).length,
      wrongPhase: expects
        .filter((e) => ['Succeeded', 'Failed'].includes(phases.get(e.session) ?? '') && phases.get(e.session) !== e.phase)
        .map((e) => `${e.session}: ${phases.get(e.session)} (expected ${e.phase})`),
      stuck: expects
        .filter((e) => !['Succeeded', 'Failed'].includes(phases.get(e.session) ?? ''))
        .map((e) => `${e.session}: ${phases.get(e.session) || 'no phase'}`),
      hooksExpected: expectedPaths.size,
      hooksSeen: [...expectedPaths].filter((p) => seen.has(p)).length,
      missingHooks: [...expectedPaths].filter((p) => !seen.has(p)),
      duplicateHooks: [...byPath]
        .filter(([, rs]) => rs.length > 1)
        .map(([path, rs]) => ({
          ...explainDuplicate(path, rs, events, killedWorkers, t0, o.duplicates ?? 'killed-only'),
          namedStoppedWorker: namedKilled(tookOver.get(path.replace(/^\/(fail|slow)\//, '/')), killedWorkers),
        })),
      unexpectedHooks: [...seen.keys()].filter((p) => !expectedPaths.has(p)),
      kills,
      workerKillsMidHook,
      redisRestarts,
      faults: faultState.counts,
      durationMs: Date.now() - t0,
      settleMs,
      failovers,
      latencySpikes,
      selfExits,
      rerunsNamedInConditions: rerunsNamed,
      interruptedRuns: sink.requests.filter((r) => interruptedBy(r, killedWorkers) !== undefined).length,
      duplicateBar: o.duplicates ?? 'killed-only',
      diagnostics: [],
    };
    // Where each stuck session's jobs are: state and failure reason, for diagnosis.
    if (report.stuck.length) {
      const stuckNames = new Set(report.stuck.map((x) => x.split(':')[0]));
      const client = await connectRedis(parseRedisUrl(redisUrl), { purpose: 'worker' });
      try {
        for (const qn of ALL_QUEUES) {
          const q = new Queue(qn, { connection: client, prefix: env.STASH_HOOKS_PREFIX });
          for (const job of await q.getJobs(['active', 'waiting', 'delayed', 'failed', 'waiting-children', 'prioritized', 'completed'], 0, 100_000)) {
            const name = (job?.data as { session?: { name?: string } } | undefined)?.session?.name;
            if (name && stuckNames.has(name))
              report.diagnostics.push(
                `job ${qn}/${job.id} ${job.name}: ${await job.getState()}${job.failedReason ? ` (${job.failedReason})` : ''} attempts ${job.attemptsMade}`,
              );
          }
          await q.close();
        }
      } finally {
        client.disconnect();
      }
    }
    for (const name of report.stuck.map((x) => x.split(':')[0])) {
      for (const r of roles)
        for (const chunk of r.output)
          for (const line of chunk.split('\n')) if (line.includes(name)) report.diagnostics.push(`${r.name}: ${line.slice(0, 400)}`);
    }
    return report;
  } finally {
    await Promise.all(roles.map((r) => r.stop().catch(() => {})));
    await sink?.close().catch(() => {});
    await cluster?.close().catch(() => {});
    await redis?.stop().catch(() => {});
    await sentinel?.stop().catch(() => {});
  }
}

/** How long after a hook's request its worker's SIGKILL can still have caught it unrecorded. */
const KILL_ATTRIBUTION_MS = 10_000;
/** The note a re-run's condition carries; group 1 is the stopped worker (`<POD_NAME>/<id>`). */
const RERUN_NOTE = /\(re-run: worker (\S+) stopped while the hook was running\)/;

/** Whether a re-run's condition names a worker incarnation chaos SIGKILLed (`worker-1.g3/0a1b2c3d` is `worker-1.g3`). */
function namedKilled(worker: string | undefined, killedWorkers: ReadonlyMap<string, number>): boolean {
  return worker !== undefined && killedWorkers.has(worker.slice(0, worker.lastIndexOf('/')));
}

/** How much later than the SIGKILL the sink may log a request the killed worker sent. */
const KILL_CLOCK_SLACK_MS = 250;

/** Whether a worker SIGKILL interrupted this run of a hook: its request was cut off, or its sender was killed soon after. */
function interruptedBy(r: SinkRequest, killedWorkers: ReadonlyMap<string, number>): 'cut off' | 'killed' | undefined {
  if (r.cutOff) return 'cut off';
  const at = killedWorkers.get(r.worker);
  // A request the sink logged just after the SIGKILL was already on its way (the sink and
  // the chaos loop stamp times separately): the killed worker still sent it.
  return at !== undefined && at >= r.at - KILL_CLOCK_SLACK_MS && at - r.at <= KILL_ATTRIBUTION_MS ? 'killed' : undefined;
}

/**
 * Why a hook ran more than once. Each re-run must be paid for by an earlier run of the same hook
 * that a worker SIGKILL interrupted: its request was cut off, or its worker (identified by the
 * User-Agent) was killed within {@link KILL_ATTRIBUTION_MS} after it, before it could record the
 * outcome. Each earlier run pays for at most one re-run; what is left over is unexplained.
 */
export function explainDuplicate(
  path: string,
  requests: SinkRequest[],
  events: Array<{ at: number; what: string }>,
  killedWorkers: ReadonlyMap<string, number>,
  t0: number,
  bar: 'killed-only' | 'none' = 'killed-only',
): DuplicateHook {
  const kinds = requests.slice(0, -1).map((r) => interruptedBy(r, killedWorkers));
  const paid = bar === 'none' ? 0 : kinds.filter((k) => k !== undefined).length;
  const unexplained = Math.max(0, requests.length - 1 - paid);
  const first = requests[0].at;
  const last = requests.at(-1)!.at;
  const cause: DuplicateCause =
    unexplained > 0
      ? events.some((e) => e.at >= first && e.at <= last && e.what.startsWith('redis restarted'))
        ? 'Redis restarted empty'
        : 'no worker SIGKILL explains it'
      : kinds.includes('killed')
        ? 'its worker was SIGKILLed before recording it'
        : 'cut off by a worker SIGKILL';
  const sec = (t: number) => ((t - t0) / 1000).toFixed(2);
  const lines = [
    ...requests.map((r) => ({ at: r.at, text: `request from ${r.worker}${r.cutOff ? ' (cut off)' : ''}` })),
    ...events.filter((e) => e.at >= first - 2000 && e.at <= last).map((e) => ({ at: e.at, text: e.what })),
  ].sort((a, b) => a.at - b.at);
  return { path, count: requests.length, unexplained, cause, timeline: lines.map((l) => `${sec(l.at)} s ${l.text}`).join('; ') };
}

/** Re-runs of hooks that no worker SIGKILL accounts for: the chaos run's duplicate bar is zero. */
export function unexplainedReruns(r: ChaosReport): number {
  return r.duplicateHooks.reduce((a, d) => a + d.unexplained, 0);
}

/** The summary table printed by `npm run chaos`. */
export function formatReport(r: ChaosReport): string {
  const dup = r.duplicateHooks.reduce((a, d) => a + d.count - 1, 0);
  const rows: Array<[string, string]> = [
    [
      'sessions',
      `${r.sessions} (${Object.entries(r.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
    ],
    ['finalized with the expected phase', String(r.finalizedRight)],
    ['finalized with a wrong phase', String(r.wrongPhase.length)],
    ['stuck (not finalized)', String(r.stuck.length)],
    ['lost hooks (expected, never run)', String(r.missingHooks.length)],
    ['hook executions expected / seen', `${r.hooksExpected} / ${r.hooksSeen}`],
    ['duplicate executions', `${dup} on ${r.duplicateHooks.length} hooks`],
    [r.duplicateBar === 'none' ? 'duplicates (the bar here: none at all)' : 'duplicates no worker SIGKILL explains', String(unexplainedReruns(r))],
    ...Object.entries(r.duplicateHooks.reduce<Record<string, number>>((m, d) => ((m[d.cause] = (m[d.cause] ?? 0) + d.count - 1), m), {})).map(
      ([cause, n]): [string, string] => [`  of them: ${cause}`, String(n)],
    ),
    ['unexpected hook requests', String(r.unexpectedHooks.length)],
    ['SIGKILLs: watcher / coordinator / worker', `${r.kills.watcher} / ${r.kills.coordinator} / ${r.kills.worker}`],
    ['worker SIGKILLs with a hook in flight', String(r.workerKillsMidHook)],
    ['hook runs those SIGKILLs may have interrupted (cut off, or answered ≤ 10 s before)', String(r.interruptedRuns)],
    ['hooks taken over from a stopped worker (condition: re-run: worker … stopped)', String(r.rerunsNamedInConditions)],
    [
      'duplicated hooks whose condition names the SIGKILLed worker',
      `${r.duplicateHooks.filter((d) => d.namedStoppedWorker).length} of ${r.duplicateHooks.length}`,
    ],
    ['processes that ended by themselves', String(r.selfExits.length)],
    ['Redis restarts (empty) / Sentinel failovers', `${r.redisRestarts} / ${r.failovers}`],
    ['API latency spikes', String(r.latencySpikes)],
    [
      'injected: write 500s / watch 410s / delayed / watches closed',
      `${r.faults.writeErrors ?? 0} / ${r.faults.watchGone ?? 0} / ${r.faults.delayed ?? 0} / ${r.faults.watchesClosed ?? 0}`,
    ],
    ['run time / settle time after chaos', `${(r.durationMs / 1000).toFixed(1)} s / ${(r.settleMs / 1000).toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v}`).join('\n');
}
