/**
 * The Sessions page of the dashboard (DESIGN §9): the BackupSessions and RestoreSessions of the
 * cluster, newest first, and per session its hooks as a Gantt timeline, live while it runs.
 *
 * Mounted by dashboard.ts behind the same auth, security headers (CSP: scripts and styles from
 * this server only, no external fetch) and read-only rules as bull-board: every route is a GET and
 * nothing here writes to the cluster or to Redis. Everything shown passes `redactText` once more.
 *
 *   GET /sessions                              the list page
 *   GET /sessions/view/:kind/:namespace/:name  a session's timeline page
 *   GET /sessions/api/list?namespace=&phase=&kind=&page=&pageSize=
 *   GET /sessions/api/timeline/:kind/:namespace/:name
 *   GET /sessions/api/events/:kind/:namespace/:name   server-sent events: `timeline` on change, `done` once final
 *   GET /sessions/assets/(sessions.css|sessions-list.js|sessions-timeline.js)
 */
import { readFileSync } from 'node:fs';
import { Router, type Request, type Response } from 'express';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Redis } from 'ioredis';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SessionKind } from '../shared/resources.js';
import type { SessionTimeline } from '../shared/timeline.js';
import { redactText } from './redact.js';
import { listItemOf, loadTimeline, parseSessionKind, SessionReader, type SessionListItem } from './sessions-data.js';

export interface SessionsRouterOptions {
  /** The cluster to read sessions from; without one the page says so. */
  kubeConfig?: KubeConfig;
  redis: Redis | Cluster;
  /** The BullMQ prefix as the queues use it. */
  prefix: string;
  /** Where bull-board is mounted, for links to jobs; default `/`. */
  boardPath?: string;
  /** How often a live session is re-read for its event stream; default 1000 ms. */
  liveIntervalMs?: number;
  logger?: Logger;
}

const ASSETS: Record<string, string> = {
  'sessions.css': 'text/css; charset=utf-8',
  'sessions-list.js': 'text/javascript; charset=utf-8',
  'sessions-timeline.js': 'text/javascript; charset=utf-8',
};
const MAX_PAGE_SIZE = 200;
const TERMINAL = new Set(['Succeeded', 'Failed', 'Skipped']);

function asset(name: string): string {
  return readFileSync(new URL(`./sessions-assets/${name}`, import.meta.url), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, script: string, data: Record<string, string>): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · stash-hooks</title>
<link rel="stylesheet" href="/sessions/assets/sessions.css">
<script src="/sessions/assets/${script}" defer></script>
</head>
<body${attrs}>
<header class="top"><a class="brand" href="/sessions">stash-hooks · Sessions</a><nav><a href="/sessions">Sessions</a><a data-board href="/">Queues (bull-board)</a></nav></header>
<main id="main" tabindex="-1"><p class="loading">Loading…</p></main>
</body>
</html>`;
}

/** Masks credentials in everything a timeline shows. */
export function redactTimeline(t: SessionTimeline): SessionTimeline {
  return {
    ...t,
    ...(t.deadlineMessage ? { deadlineMessage: redactText(t.deadlineMessage) } : {}),
    rows: t.rows.map((r) => ({
      ...r,
      label: redactText(r.label),
      bars: r.bars.map((b) => ({ ...b, ...(b.message ? { message: redactText(b.message) } : {}), ...(b.where ? { where: redactText(b.where) } : {}) })),
    })),
  };
}

/** Newest first (by creation, then name), filtered, one page. */
export function pageOfSessions(
  items: SessionListItem[],
  q: { namespace?: string; phase?: string; kind?: SessionKind; page: number; pageSize: number },
): { items: SessionListItem[]; total: number; page: number; pageSize: number; namespaces: string[]; phases: string[] } {
  const namespaces = [...new Set(items.map((i) => i.namespace))].sort();
  const phases = [...new Set(items.map((i) => i.phase))].sort();
  const kept = items
    .filter((i) => (!q.namespace || i.namespace === q.namespace) && (!q.phase || i.phase === q.phase) && (!q.kind || i.kind === q.kind))
    .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name));
  const start = (q.page - 1) * q.pageSize;
  return { items: kept.slice(start, start + q.pageSize), total: kept.length, page: q.page, pageSize: q.pageSize, namespaces, phases };
}

/** The Sessions routes, to mount at `/sessions`. */
export function sessionsRouter(options: SessionsRouterOptions): Router {
  const router = Router();
  const log = options.logger?.child({ component: 'dashboard-sessions' });
  const boardPath = options.boardPath ?? '/';
  const liveMs = options.liveIntervalMs ?? 1000;
  const reader = options.kubeConfig?.getCurrentCluster() ? new SessionReader(options.kubeConfig) : undefined;
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, asset(name)]));
  const noCluster = 'the dashboard has no cluster configured: run it with a kubeconfig (KUBECONFIG) or in a cluster to see sessions';

  const fail = (res: Response, status: number, message: string) => res.status(status).json({ error: message });
  const sessionParams = (req: Request): { kind: SessionKind; namespace: string; name: string } | string => {
    const kind = parseSessionKind(String(req.params.kind));
    if (!kind) return `unknown kind "${String(req.params.kind)}"; expected backupsession or restoresession`;
    return { kind, namespace: String(req.params.namespace), name: String(req.params.name) };
  };
  const timelineOf = async (kind: SessionKind, namespace: string, name: string) => {
    const found = await loadTimeline({ sessions: reader!, redis: options.redis, prefix: options.prefix }, kind, namespace, name);
    return found ? { timeline: redactTimeline(found.timeline), jobsRead: found.jobsRead, nowMs: Date.now() } : undefined;
  };

  router.get('/assets/:name', (req, res) => {
    const name = String(req.params.name);
    const body = assets.get(name);
    if (!body) return void res.status(404).type('text/plain').send('not found');
    res.type(ASSETS[name]).setHeader('Cache-Control', 'no-cache');
    res.send(body);
  });

  router.get('/', (_req, res) => {
    res.type('html').send(page('Sessions', 'sessions-list.js', { board: boardPath }));
  });

  router.get('/view/:kind/:namespace/:name', (req, res) => {
    const p = sessionParams(req);
    if (typeof p === 'string') return void res.status(400).type('text/plain').send(p);
    res
      .type('html')
      .send(page(`${p.kind} ${p.namespace}/${p.name}`, 'sessions-timeline.js', { board: boardPath, kind: p.kind, namespace: p.namespace, name: p.name }));
  });

  router.get('/api/list', async (req, res) => {
    if (!reader) return void fail(res, 503, noCluster);
    const q = req.query;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const kindRaw = str(q.kind);
    const kind = kindRaw ? parseSessionKind(kindRaw) : undefined;
    if (kindRaw && !kind) return void fail(res, 400, `kind: "${kindRaw}" is not backupsession or restoresession`);
    const pageNo = Number(str(q.page) ?? 1);
    const pageSize = Number(str(q.pageSize) ?? 50);
    if (!Number.isInteger(pageNo) || pageNo < 1) return void fail(res, 400, `page: "${String(q.page)}" is not a positive integer`);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
      return void fail(res, 400, `pageSize: "${String(q.pageSize)}" is not an integer 1-${MAX_PAGE_SIZE}`);
    try {
      const sessions = await reader.list(kind ? [kind] : ['BackupSession', 'RestoreSession']);
      res.json(pageOfSessions(sessions.map(listItemOf), { namespace: str(q.namespace), phase: str(q.phase), kind, page: pageNo, pageSize }));
    } catch (err) {
      log?.warn({ err: errorMessage(err) }, 'could not list sessions');
      fail(res, 502, errorMessage(err));
    }
  });

  router.get('/api/timeline/:kind/:namespace/:name', async (req, res) => {
    if (!reader) return void fail(res, 503, noCluster);
    const p = sessionParams(req);
    if (typeof p === 'string') return void fail(res, 400, p);
    try {
      const found = await timelineOf(p.kind, p.namespace, p.name);
      if (!found) return void fail(res, 404, `${p.kind} ${p.namespace}/${p.name} not found`);
      res.json(found);
    } catch (err) {
      fail(res, 502, errorMessage(err));
    }
  });

  router.get('/api/events/:kind/:namespace/:name', async (req, res) => {
    if (!reader) return void fail(res, 503, noCluster);
    const p = sessionParams(req);
    if (typeof p === 'string') return void fail(res, 400, p);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    let last = '';
    let terminalReads = 0;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    req.on('close', () => {
      closed = true;
      clearTimeout(timer);
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const tick = async () => {
      if (closed) return;
      try {
        const found = await timelineOf(p.kind, p.namespace, p.name);
        if (!found) {
          send('gone', { error: `${p.kind} ${p.namespace}/${p.name} not found` });
          return void res.end();
        }
        // Compare without the clock, so an unchanged session sends nothing.
        const key = JSON.stringify(found.timeline.rows) + found.timeline.phase;
        if (key !== last) {
          last = key;
          send('timeline', found);
        }
        // One more read after the final phase: finalize's job completes just after it writes the phase.
        if (TERMINAL.has(found.timeline.phase) && ++terminalReads > 1) {
          send('done', { phase: found.timeline.phase });
          return void res.end();
        }
      } catch (err) {
        send('problem', { error: errorMessage(err) });
      }
      if (!closed) timer = setTimeout(() => void tick(), liveMs);
    };
    await tick();
  });

  return router;
}
