/**
 * Who may see the dashboard (DESIGN §9): open on loopback, credentials everywhere else.
 *
 * Basic auth is for people with a browser; a bearer token is for a proxy or a script in front of
 * the board. Both come from the environment (the CLI reads it), never from flags, so they do not
 * show up in `ps`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../shared/errors.js';

/** Dashboard credentials: basic auth or a bearer token. */
export type DashboardAuth = { user: string; password: string } | { token: string };

/** The realm browsers show in their login prompt. */
export const AUTH_REALM = 'stash-hooks dashboard';

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Checks that credentials, if given, are usable, and that a non-loopback address has them.
 * Throws a `ConfigError` naming the settings to fix.
 */
export function validateDashboardAuth(host: string, auth: DashboardAuth | undefined): void {
  if (auth) {
    if ('token' in auth) {
      if (!auth.token) throw new ConfigError(['dashboard: STASH_HOOKS_DASHBOARD_TOKEN is empty']);
    } else if (!auth.user || !auth.password) {
      throw new ConfigError(['dashboard: basic auth needs both STASH_HOOKS_DASHBOARD_USER and STASH_HOOKS_DASHBOARD_PASSWORD (one is empty)']);
    }
    return;
  }
  if (!isLoopbackHost(host)) {
    throw new ConfigError([
      `dashboard: refusing to listen on ${host} without credentials; set STASH_HOOKS_DASHBOARD_USER and ` +
        'STASH_HOOKS_DASHBOARD_PASSWORD (basic auth) or STASH_HOOKS_DASHBOARD_TOKEN (bearer token), ' +
        'or bind --dashboard-host to 127.0.0.1',
    ]);
  }
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether the request's `Authorization` header matches `auth`. */
export function isAuthorized(header: string | undefined, auth: DashboardAuth): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if ('token' in auth) return scheme === 'bearer' && sameSecret(credentials, auth.token);
  if (scheme !== 'basic') return false;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Evaluate both so a wrong user takes as long as a wrong password.
  const userOk = sameSecret(decoded.slice(0, colon), auth.user);
  const passwordOk = sameSecret(decoded.slice(colon + 1), auth.password);
  return userOk && passwordOk;
}

/** How failed logins are slowed down, per client address. */
export interface LoginThrottleOptions {
  /** Failed logins allowed before the first lockout; default 5. */
  freeFailures?: number;
  /** The first lockout; each further failure doubles it. Default 1000 ms. */
  baseDelayMs?: number;
  /** The longest lockout; default 15 minutes. */
  maxDelayMs?: number;
  /** Addresses tracked at once; the least recently seen is forgotten past it. Default 10 000. */
  maxClients?: number;
}

type ClientRecord = { failures: number; lockedUntil: number; lastSeen: number };

/**
 * Counts failed logins per client address and locks an address out with exponentially growing
 * waits once it has used its free failures, so a password cannot be guessed at network speed.
 * A success clears the address's record. The address is the TCP peer, never `X-Forwarded-For`
 * (a client sets that header to anything); behind a proxy every client shares the proxy's
 * address and budget, which errs on the safe side.
 */
export class LoginThrottle {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly opts: Required<LoginThrottleOptions>;

  constructor(
    options: LoginThrottleOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60_000, maxClients: 10_000, ...options };
    for (const [name, v] of Object.entries(this.opts)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`dashboard: loginThrottle.${name} must be a number >= 0, got ${String(v)}`);
    }
  }

  /** Milliseconds the address must still wait, 0 when it may try. */
  waitMs(client: string): number {
    const r = this.clients.get(client);
    if (!r) return 0;
    const wait = r.lockedUntil - this.now();
    if (wait <= 0 && this.now() - r.lastSeen > this.opts.maxDelayMs) this.clients.delete(client);
    return Math.max(0, wait);
  }

  /** Records a failed login; returns the lockout it starts (0 while failures are free). */
  fail(client: string): number {
    const now = this.now();
    const r = this.clients.get(client) ?? { failures: 0, lockedUntil: 0, lastSeen: now };
    this.clients.delete(client);
    r.failures += 1;
    r.lastSeen = now;
    const over = r.failures - this.opts.freeFailures;
    const delay = over > 0 ? Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over - 1, 30)) : 0;
    r.lockedUntil = now + delay;
    this.clients.set(client, r);
    if (this.clients.size > this.opts.maxClients) this.clients.delete(this.clients.keys().next().value as string);
    return delay;
  }

  /** Records a successful login. */
  succeed(client: string): void {
    this.clients.delete(client);
  }
}

function challenge(res: ServerResponse, auth: DashboardAuth): void {
  res.statusCode = 401;
  res.setHeader('WWW-Authenticate', 'token' in auth ? `Bearer realm="${AUTH_REALM}"` : `Basic realm="${AUTH_REALM}", charset="UTF-8"`);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end('authentication required\n');
}

/**
 * A connect-style middleware answering 401 to requests without the credentials, and 429 with
 * `Retry-After` to a client locked out by `throttle` (even with the right credentials, or the
 * lockout would not slow a guesser down).
 */
export function authMiddleware(auth: DashboardAuth | undefined, throttle: LoginThrottle = new LoginThrottle()) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (!auth) return next();
    const client = req.socket.remoteAddress ?? 'unknown';
    const header = req.headers.authorization;
    // A request without credentials is a browser asking for the login prompt, not a guess.
    if (!header) return challenge(res, auth);
    const wait = throttle.waitMs(client);
    if (wait > 0) {
      res.statusCode = 429;
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`too many failed logins from this address; try again in ${Math.ceil(wait / 1000)} s\n`);
      return;
    }
    if (isAuthorized(header, auth)) {
      throttle.succeed(client);
      return next();
    }
    throttle.fail(client);
    challenge(res, auth);
  };
}
