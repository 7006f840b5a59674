/**
 * Request checks that run before anything else on the dashboard (DESIGN §11, "Dashboard"):
 *
 * - **DNS rebinding.** A board open on loopback without credentials trusts whoever can reach
 *   loopback. A web page on `evil.example` whose name re-resolves to 127.0.0.1 could reach it
 *   from the user's browser as same-origin, so such a board answers only requests whose `Host`
 *   is a loopback name.
 * - **CSRF.** A state-changing request (anything but GET/HEAD/OPTIONS) must carry
 *   `Content-Type: application/json` and the header `X-Stash-Hooks-CSRF: 1`. A cross-site page
 *   cannot send either without a CORS preflight, which the board never grants; a plain HTML form
 *   can send neither. When the browser names the page's `Origin`, it must be this board's own.
 *
 * bull-board's UI sends its PUT/PATCH calls through axios without a custom header and without a
 * body, so the board's HTML loads {@link CSRF_SCRIPT_PATH} first: a few lines that add the header
 * (and an empty JSON body) to the page's own non-GET requests. A script can do that; a foreign
 * page cannot, which is the point.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackHost } from './auth.js';

/** The header every state-changing request must carry, with the value `1`. */
export const CSRF_HEADER = 'X-Stash-Hooks-CSRF';

/** Where the board serves the script that makes bull-board's UI send {@link CSRF_HEADER}. */
export const CSRF_SCRIPT_PATH = '/stash-hooks/csrf.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The script served at {@link CSRF_SCRIPT_PATH}. It runs in the board's page before bull-board's
 * scripts (a plain, non-deferred script in <head>). axios uses XMLHttpRequest in browsers; fetch is
 * covered too for anything else. Only requests to this origin get the header.
 */
export const CSRF_SCRIPT = `(function () {
  var H = ${JSON.stringify(CSRF_HEADER)};
  function same(url) { try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; } }
  function unsafe(m) { return ['GET', 'HEAD', 'OPTIONS'].indexOf(String(m || 'GET').toUpperCase()) < 0; }
  var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send, set = XMLHttpRequest.prototype.setRequestHeader;
  XMLHttpRequest.prototype.open = function (m, u) { this.__shGuard = unsafe(m) && same(u); this.__shType = false; return open.apply(this, arguments); };
  XMLHttpRequest.prototype.setRequestHeader = function (k) { if (String(k).toLowerCase() === 'content-type') this.__shType = true; return set.apply(this, arguments); };
  XMLHttpRequest.prototype.send = function (body) {
    if (this.__shGuard) {
      set.call(this, H, '1');
      if (body == null) { body = '{}'; }
      if (!this.__shType) set.call(this, 'Content-Type', 'application/json');
    }
    return send.call(this, body);
  };
  var f = window.fetch;
  if (f) window.fetch = function (input, init) {
    var req = new Request(input, init);
    if (!unsafe(req.method) || !same(req.url)) return f.call(this, input, init);
    var headers = new Headers(req.headers);
    headers.set(H, '1');
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    return req.text().then(function (text) {
      return f.call(window, req.url, { method: req.method, headers: headers, body: text || '{}', credentials: req.credentials });
    });
  };
})();
`;

/** What {@link requestGuard} needs to know about the board. */
export interface RequestGuardOptions {
  /** The address the board binds. */
  host: string;
  /** Whether credentials are required; without them a loopback board checks `Host`. */
  authRequired: boolean;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`${message}\n`);
}

/** The host name of a `Host` header value (`[::1]:3000` → `::1`, `localhost:80` → `localhost`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** The reason a request is refused, or undefined when it may go on. */
export function refusal(req: Pick<IncomingMessage, 'method' | 'headers'>, options: RequestGuardOptions): { status: number; message: string } | undefined {
  const host = req.headers.host;
  if (!host) return { status: 400, message: 'the Host header is required' };
  if (!options.authRequired && isLoopbackHost(options.host) && !isLoopbackHost(hostName(host))) {
    return {
      status: 421,
      message: `this dashboard runs without credentials on loopback and answers only to a loopback Host, not "${host}"`,
    };
  }
  const method = (req.method ?? 'GET').toUpperCase();
  if (SAFE_METHODS.has(method)) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = origin === 'null' ? undefined : new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost?.toLowerCase() !== host.toLowerCase()) {
      return { status: 403, message: `cross-origin request refused: Origin ${origin} is not this dashboard (${host})` };
    }
  }
  if (req.headers[CSRF_HEADER.toLowerCase()] !== '1') {
    return { status: 403, message: `a ${method} request must carry the header ${CSRF_HEADER}: 1` };
  }
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type !== 'application/json') {
    return { status: 415, message: `a ${method} request must have Content-Type: application/json, not "${type || 'none'}"` };
  }
  return undefined;
}

/** A connect-style middleware applying {@link refusal}, and serving {@link CSRF_SCRIPT}. */
export function requestGuard(options: RequestGuardOptions) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const refused = refusal(req, options);
    if (refused) return refuse(res, refused.status, refused.message);
    next();
  };
}
