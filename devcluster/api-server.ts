/**
 * The HTTP front of devcluster: bearer-token check, URL routing (discovery, OpenAPI, resource
 * paths, `pods/exec` upgrades), body parsing with a size cap, and `Status` bodies for every
 * error. Nothing a client sends can crash it: every failure becomes a response.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from './api-error.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { decodeKubernetesProtobuf } from './protobuf.js';
import { handleResource, type ResourceHandlerContext } from './resource-handler.js';
import type { Registry, ResourceDef } from './registry.js';
import type { OpenApi } from './openapi.js';
import type { FaultInjector } from './faults.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Everything the HTTP front needs. */
export interface ApiServerContext extends ResourceHandlerContext {
  registry: Registry;
  openapi: OpenApi;
  token?: string;
  log: (line: string) => void;
  /** Handles a `pods/exec` WebSocket upgrade once the request is authorised and parsed. */
  exec: (req: IncomingMessage, socket: Duplex, head: Buffer, target: ParsedPath) => void;
  /** Chaos switches (`/debug/faults`); absent means no fault injection at all. */
  faults?: FaultInjector;
}

/** A resource URL split into its parts. */
export interface ParsedPath {
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

/** Splits `/api/v1/...` or `/apis/<g>/<v>/...`; undefined for anything else. */
export function parseResourcePath(pathname: string): ParsedPath | undefined {
  let segs: string[];
  try {
    segs = pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    throw badRequest(`malformed path: ${pathname}`);
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  if (rest.length === 0) return { group, version };
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    if (rest.length > 5) return undefined;
    return { group, version, namespace: rest[1], resource: rest[2], name: rest[3], subresource: rest[4] };
  }
  if (rest.length > 3) return undefined;
  return { group, version, resource: rest[0], name: rest[1], subresource: rest[2] };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (typeof body === 'string') {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function sendError(res: ServerResponse, err: unknown, log: (l: string) => void): void {
  const apiErr = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
  if (!(err instanceof ApiError)) log(`devcluster: internal error: ${(err as Error)?.stack ?? String(err)}`);
  send(res, apiErr.code, apiErr.toStatus());
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the cap the rest is drained and dropped, so the client still reads the 413.
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new ApiError(413, 'RequestEntityTooLarge', `the request entity is too large: ${size} bytes, limit ${MAX_BODY_BYTES}`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function parseBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return undefined;
  if (/protobuf/i.test(contentType)) return decodeKubernetesProtobuf(raw);
  const text = raw.toString('utf8');
  try {
    if (/yaml/i.test(contentType)) return parseYaml(text);
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

function authorised(ctx: ApiServerContext, req: IncomingMessage): boolean {
  if (!ctx.token) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${ctx.token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const UNAUTHORIZED = new ApiError(401, 'Unauthorized', 'Unauthorized');

function lookupDef(ctx: ApiServerContext, p: ParsedPath): ResourceDef {
  const def = p.resource ? ctx.registry.get(p.group, p.version, p.resource) : undefined;
  if (!def || (!def.namespaced && p.namespace !== undefined)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (def.namespaced && p.namespace === undefined && p.name !== undefined)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  return def;
}

async function route(ctx: ApiServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!authorised(ctx, req)) throw UNAUTHORIZED;
  const url = new URL(req.url ?? '/', 'http://devcluster');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  if (ctx.faults?.isControlPath(path)) return ctx.faults.handle(req, res, path, async () => parseBody(await readBody(req), 'application/json'));
  if (ctx.faults && path.startsWith('/api') && (await ctx.faults.before(req, res, /^(true|1)$/.test(url.searchParams.get('watch') ?? '')))) return;
  if (method === 'GET') {
    switch (path) {
      case '/version':
        return send(res, 200, versionInfo());
      case '/healthz':
      case '/livez':
      case '/readyz':
        return send(res, 200, 'ok');
      case '/api':
        return send(res, 200, apiVersions(req.headers.host ?? '127.0.0.1'));
      case '/apis':
        return send(res, 200, apiGroupList(ctx.registry));
    }
    if (path.startsWith('/openapi/')) {
      const doc = ctx.openapi.serve(path);
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(doc) });
      res.end(doc);
      return;
    }
    const m = /^\/apis\/([^/]+)$/.exec(path);
    if (m) {
      const g = apiGroup(ctx.registry, m[1]);
      if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, g);
    }
  }
  const p = parseResourcePath(path);
  if (!p) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (!p.resource) {
    const doc = method === 'GET' ? apiResourceList(ctx.registry, p.group, p.version) : undefined;
    if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return send(res, 200, doc);
  }
  const def = lookupDef(ctx, p);
  const contentType = String(req.headers['content-type'] ?? 'application/json');
  const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? parseBody(await readBody(req), contentType) : undefined;
  const result = handleResource(
    ctx,
    { def, namespace: p.namespace, name: p.name, subresource: p.subresource, query: url.searchParams, method, accept: req.headers.accept, contentType, body },
    res,
    req,
  );
  if (result) send(res, result.code, result.body);
}

function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const json = JSON.stringify(err.toStatus());
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

/**
 * Creates the server (not yet listening): HTTPS with `tls` (a certificate and its key, PEM),
 * plain HTTP without.
 */
export function createApiServer(ctx: ApiServerContext, tls?: { certPem: string; keyPem: string }): Server {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(ctx, req, res).catch((err) => sendError(res, err, ctx.log));
  };
  // An https.Server is an http.Server over TLS sockets: same events, same closeAllConnections.
  const server: Server = tls ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler) : createServer(handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      if (!authorised(ctx, req)) throw UNAUTHORIZED;
      const url = new URL(req.url ?? '/', 'http://devcluster');
      const p = parseResourcePath(url.pathname);
      if (!p || p.group !== '' || p.resource !== 'pods' || p.subresource !== 'exec' || !p.name || !p.namespace) {
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      }
      ctx.exec(req, socket, head, p);
    } catch (err) {
      rejectUpgrade(socket, err instanceof ApiError ? err : new ApiError(500, 'InternalError', String(err)));
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

export { rejectUpgrade };
