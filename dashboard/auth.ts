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
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
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
      throw new ConfigError([
        'dashboard: basic auth needs both STASH_HOOKS_DASHBOARD_USER and STASH_HOOKS_DASHBOARD_PASSWORD (one is empty)',
      ]);
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

/** A connect-style middleware answering 401 to requests without the credentials. */
export function authMiddleware(auth: DashboardAuth | undefined) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (!auth || isAuthorized(req.headers.authorization, auth)) return next();
    res.statusCode = 401;
    res.setHeader(
      'WWW-Authenticate',
      'token' in auth ? `Bearer realm="${AUTH_REALM}"` : `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
    );
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('authentication required\n');
  };
}
