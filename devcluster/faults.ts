/**
 * Fault injection for chaos tests (issue 8): 500s on writes, 410 Gone on watches, added latency,
 * and closing every open watch on demand. All switches are off by default and are changed at
 * runtime through `/debug/faults` on the devcluster server:
 *
 *   GET  /debug/faults                  → the current settings
 *   PUT  /debug/faults   {"writeErrorRate":0.1,…}   → merged into the settings, returns them
 *   POST /debug/faults/close-watches    → ends every open watch now (clients must re-watch)
 *
 * Requests carrying {@link FAULT_EXEMPT_HEADER} never see a fault: devcluster's own backup
 * executor simulator sends it, because the simulator stands in for Stash and a chaos run is about
 * stash-hooks surviving faults, not about the simulator's bookkeeping.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, badRequest } from './api-error.js';

/** Requests with this header (any value) are never faulted. */
export const FAULT_EXEMPT_HEADER = 'x-devcluster-fault-exempt';

/** The runtime switches. Rates are probabilities in [0, 1]. */
export interface FaultSettings {
  /** Probability that a POST/PUT/PATCH/DELETE answers 500 InternalError without touching the store. */
  writeErrorRate: number;
  /** Probability that a watch request answers 410 Gone (the client must relist). */
  watchGoneRate: number;
  /** Each faultable request waits a uniformly random 0..latencyMs before it is served. */
  latencyMs: number;
}

/** Settings with every fault off. */
export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({ writeErrorRate: 0, watchGoneRate: 0, latencyMs: 0 });

/** What {@link FaultInjector} counted since start, served with the settings. */
export interface FaultCounts {
  writeErrors: number;
  watchGone: number;
  delayed: number;
  watchesClosed: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function checkSettings(input: unknown): Partial<FaultSettings> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badRequest('fault settings must be a JSON object');
  const out: Partial<FaultSettings> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (k === 'writeErrorRate' || k === 'watchGoneRate') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) problems.push(`${k} must be a number in [0, 1], got ${JSON.stringify(v)}`);
      else out[k] = v;
    } else if (k === 'latencyMs') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 60_000)) problems.push(`latencyMs must be a number in [0, 60000], got ${JSON.stringify(v)}`);
      else out.latencyMs = v;
    } else if (k !== 'counts') problems.push(`unknown fault setting "${k}" (known: writeErrorRate, watchGoneRate, latencyMs)`);
  }
  if (problems.length) throw badRequest(`invalid fault settings: ${problems.join('; ')}`);
  return out;
}

/** Decides, per request, whether to inject a fault; owns the `/debug/faults` endpoint. */
export class FaultInjector {
  private settings: FaultSettings = { ...NO_FAULTS };
  private readonly counts: FaultCounts = { writeErrors: 0, watchGone: 0, delayed: 0, watchesClosed: 0 };

  /** `closeWatches` ends every open watch and returns how many it ended (or nothing). */
  constructor(
    private readonly closeWatches: () => number | void,
    private readonly random: () => number = Math.random,
  ) {}

  /** Merges `partial` into the settings after validating it; throws an ApiError naming the bad field. */
  set(partial: unknown): FaultSettings {
    this.settings = { ...this.settings, ...checkSettings(partial) };
    return { ...this.settings };
  }

  get(): FaultSettings & { counts: FaultCounts } {
    return { ...this.settings, counts: { ...this.counts } };
  }

  /** True when `path` is the control endpoint (served by {@link handle}, never faulted). */
  isControlPath(path: string): boolean {
    return path === '/debug/faults' || path.startsWith('/debug/faults/');
  }

  /** Serves the control endpoint. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, readJson: () => Promise<unknown>): Promise<void> {
    const method = req.method ?? 'GET';
    let body: unknown;
    if (path === '/debug/faults' && method === 'GET') body = this.get();
    else if (path === '/debug/faults' && (method === 'PUT' || method === 'POST' || method === 'PATCH')) {
      this.set(await readJson());
      body = this.get();
    } else if (path === '/debug/faults/close-watches' && method === 'POST') {
      const n = this.closeWatches() ?? 0;
      this.counts.watchesClosed += n;
      body = { closed: n };
    } else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const json = JSON.stringify(body);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
    res.end(json);
  }

  /**
   * Called before a resource request is served: waits the injected latency, then either answers
   * the request with a fault (returns true) or leaves it to be served normally (returns false).
   * A faulted watch gets what kube-apiserver sends for an expired resourceVersion: 200 and one
   * ERROR event carrying a 410 `Expired` Status.
   */
  async before(req: IncomingMessage, res: ServerResponse, watch: boolean): Promise<boolean> {
    if (req.headers[FAULT_EXEMPT_HEADER] !== undefined) return false;
    const s = this.settings;
    if (s.latencyMs > 0) {
      this.counts.delayed++;
      await new Promise((r) => setTimeout(r, this.random() * s.latencyMs));
    }
    const method = req.method ?? 'GET';
    if (watch && s.watchGoneRate > 0 && this.random() < s.watchGoneRate) {
      this.counts.watchGone++;
      const status = new ApiError(410, 'Expired', 'too old resource version: injected by devcluster fault injection').toStatus();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
      res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      return true;
    }
    if (WRITE_METHODS.has(method) && s.writeErrorRate > 0 && this.random() < s.writeErrorRate) {
      this.counts.writeErrors++;
      req.resume();
      const json = JSON.stringify(new ApiError(500, 'InternalError', 'Internal error occurred: injected by devcluster fault injection').toStatus());
      res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
      res.end(json);
      return true;
    }
    return false;
  }
}

/**
 * A copy of `kubeConfig` whose every request (API calls, watches, informers) carries
 * {@link FAULT_EXEMPT_HEADER}.
 */
export function faultExemptKubeConfig(kubeConfig: KubeConfig): KubeConfig {
  const kc = new ExemptKubeConfig();
  kc.loadFromString(kubeConfig.exportConfig());
  return kc;
}

class ExemptKubeConfig extends KubeConfig {
  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    (opts as { headers?: Record<string, unknown> }).headers = {
      ...((opts as { headers?: Record<string, unknown> }).headers ?? {}),
      [FAULT_EXEMPT_HEADER]: '1',
    };
  }

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam(FAULT_EXEMPT_HEADER, '1');
  }
}
