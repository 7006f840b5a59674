/**
 * Watches: newline-delimited JSON events `{type, object}` over a chunked 200 response, as
 * client-node's `Watch` and `kubectl get -w` read them. A watch starts from a resourceVersion
 * (replaying the kept history), or with synthetic ADDED events for the current state when none
 * is given; a version older than the history gets an ERROR event with a 410 `Expired` Status
 * (client-node's informer relists on it). BOOKMARK events are sent every `bookmarkIntervalMs`
 * when `allowWatchBookmarks=true`, and `timeoutSeconds` ends the watch.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import type { ObjectFilter } from './filters.js';
import { apiVersionOf, storageKey, type ResourceDef } from './registry.js';
import type { KubeObject, Store, StoreEvent } from './store.js';
import { toTable } from './table.js';

/** One watch as requested. */
export interface WatchRequest {
  def: ResourceDef;
  filter: ObjectFilter;
  /** The `resourceVersion` query parameter, if any. */
  resourceVersion?: string;
  bookmarks: boolean;
  timeoutSeconds?: number;
  /** `includeObject` when the client asked for Table events, else undefined. */
  table?: string | null;
}

/** Options of {@link WatchHub}. */
export interface WatchHubOptions {
  bookmarkIntervalMs: number;
  /** A watcher whose unsent output exceeds this is cut off (it will relist). */
  maxBufferedBytes: number;
  /**
   * Watch output is held and flushed once per event-loop turn (0) or after this many ms, so
   * one syscall carries many events per watcher.
   */
  flushDelayMs: number;
}

interface Watcher {
  req: WatchRequest;
  res: ServerResponse;
  apiVersion: string;
  timer?: NodeJS.Timeout;
  /** True while writes are corked until the end of this event-loop turn. */
  corked: boolean;
}

/** Serves watch streams and fans store events out to them. */
export class WatchHub {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly serialized = new WeakMap<KubeObject, string>();
  /** Encoded event lines of the event being fanned out, shared by every watcher that gets it. */
  private lines: Map<string, Buffer> | undefined;
  private readonly bookmarkTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly corked = new Set<Watcher>();
  private readonly flush = (): void => {
    for (const w of this.corked) {
      w.corked = false;
      w.res.uncork();
    }
    this.corked.clear();
  };

  constructor(
    private readonly store: Store,
    private readonly options: WatchHubOptions,
  ) {
    this.unsubscribe = store.subscribe((ev) => this.dispatch(ev));
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  /** Number of open watches (for tests and the benchmark). */
  get size(): number {
    let n = 0;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  /** Serves a watch on `res`; throws a 400 `ApiError` before any output for a bad version. */
  serve(req: WatchRequest, res: ServerResponse): void {
    const key = storageKey(req.def.group, req.def.resource);
    let replay: StoreEvent[] | undefined;
    let initial: KubeObject[] | undefined;
    const rvParam = req.resourceVersion;
    if (rvParam === undefined || rvParam === '' || rvParam === '0') {
      initial = this.store.list(key).filter(req.filter);
    } else {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`);
      replay = this.store.eventsSince(key, rv);
      if (!replay) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
        const status = new ApiError(410, 'Expired', `too old resource version: ${rv} (${this.store.resourceVersion})`).toStatus();
        res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
        return;
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const watcher: Watcher = { req, res, apiVersion: apiVersionOf(req.def), corked: false };
    for (const obj of initial ?? []) this.send(watcher, 'ADDED', obj);
    for (const ev of replay ?? []) this.deliver(watcher, ev);
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(watcher);
    const stop = (): void => {
      clearTimeout(watcher.timer);
      set!.delete(watcher);
    };
    res.on('close', stop);
    if (req.timeoutSeconds && req.timeoutSeconds > 0) {
      watcher.timer = setTimeout(() => {
        stop();
        res.end();
      }, req.timeoutSeconds * 1000);
    }
  }

  /** Ends every watch (server shutdown, a deleted CRD's resources, fault injection); returns how many. */
  closeAll(key?: string): number {
    let n = 0;
    for (const [k, set] of this.byKey) {
      if (key !== undefined && k !== key) continue;
      for (const w of set) {
        clearTimeout(w.timer);
        w.res.end();
        n++;
      }
      set.clear();
    }
    return n;
  }

  close(): void {
    clearInterval(this.bookmarkTimer);
    this.unsubscribe();
    this.closeAll();
  }

  private dispatch(ev: StoreEvent): void {
    const set = this.byKey.get(ev.key);
    if (!set || set.size === 0) return;
    this.lines = new Map();
    try {
      for (const w of set) this.deliver(w, ev);
    } finally {
      this.lines = undefined;
    }
  }

  private deliver(w: Watcher, ev: StoreEvent): void {
    const matches = w.req.filter(ev.object);
    if (ev.type !== 'MODIFIED') {
      if (matches) this.send(w, ev.type, ev.object);
      return;
    }
    // Objects entering or leaving a selector appear as ADDED/DELETED, as in kube-apiserver.
    const matched = ev.previous ? w.req.filter(ev.previous) : matches;
    if (matches && matched) this.send(w, 'MODIFIED', ev.object);
    else if (matches) this.send(w, 'ADDED', ev.object);
    else if (matched) this.send(w, 'DELETED', ev.object);
  }

  private objectJson(w: Watcher, obj: KubeObject): string {
    if (w.req.table !== undefined) return JSON.stringify(toTable(w.req.def, [obj], w.req.table));
    if (obj.apiVersion !== w.apiVersion) return JSON.stringify({ ...obj, apiVersion: w.apiVersion });
    let json = this.serialized.get(obj);
    if (json === undefined) {
      json = JSON.stringify(obj);
      this.serialized.set(obj, json);
    }
    return json;
  }

  private send(w: Watcher, type: string, obj: KubeObject): void {
    if (w.res.writableEnded || w.res.destroyed) return;
    if (!w.corked) {
      // Events of one loop turn go out in one syscall per watcher: with many watchers and many
      // writes a write(2) per event per watcher is what limits throughput.
      w.corked = true;
      w.res.cork();
      this.corked.add(w);
      if (this.corked.size === 1) {
        if (this.options.flushDelayMs > 0) setTimeout(this.flush, this.options.flushDelayMs);
        else setImmediate(this.flush);
      }
    }
    let line: Buffer | undefined;
    // Only during one event's fan-out may watchers share lines (replays send many objects).
    const shared = w.req.table === undefined && obj.apiVersion === w.apiVersion ? this.lines : undefined;
    line = shared?.get(type);
    if (!line) {
      line = Buffer.from(`{"type":"${type}","object":${this.objectJson(w, obj)}}\n`);
      shared?.set(type, line);
    }
    w.res.write(line);
    if (w.res.writableLength > this.options.maxBufferedBytes) {
      // A consumer this far behind would only fall further; cut it so it relists.
      w.res.destroy();
    }
  }

  private sendBookmarks(): void {
    const rv = String(this.store.resourceVersion);
    for (const set of this.byKey.values()) {
      for (const w of set) {
        if (!w.req.bookmarks || w.res.writableEnded) continue;
        const obj = { kind: w.req.def.kind, apiVersion: w.apiVersion, metadata: { resourceVersion: rv } };
        w.res.write(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`);
      }
    }
  }
}
