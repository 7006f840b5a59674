/**
 * Redaction for everything the dashboard shows (DESIGN §10: secrets stay out of the dashboard).
 *
 * Jobs carry references only and workers redact hook output before returning it, so this is the
 * second line of defence: whatever reaches a browser goes through `redact` once more. It masks
 * values under secret-sounding keys, every header value, credentials inside URLs and
 * `Authorization:`-style text in free-form output.
 */

/** What a masked value is replaced with. */
export const REDACTED = '[redacted]';

// Keys whose value is a secret whatever its shape, compared on the key's ending with separators
// dropped: `token`, `accessToken`, `x-auth-token`, `db_password` are masked, `tokenCount` is not.
const SECRET_KEY_ENDINGS = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'authorization',
  'apikey',
  'accesskey',
  'cookie',
  'credential',
  'credentials',
  'privatekey',
  'sessionid',
];
// Keys holding HTTP headers: every value under them is masked, the names are kept.
const HEADER_KEY = /^(http)?headers$/i;

type Replacer = string | ((match: string, ...groups: string[]) => string);
const TEXT_RULES: Array<[RegExp, Replacer]> = [
  // `Authorization: Bearer abc`, `authorization=abc`, `"Authorization": "Basic abc"`
  [/(\bauthorization"?\s*[:=]\s*"?)(?:(bearer|basic|token|digest)\s+)?[^\s,;"']+/gi, (_m, lead, scheme) => `${lead}${scheme ? `${scheme} ` : ''}${REDACTED}`],
  // a bare `Bearer <token>`, or `Basic <base64 of user:password>` (so "basic checks" stays)
  [
    /\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{6,})/gi,
    (match, scheme, token) => (scheme.toLowerCase() === 'bearer' || isBasicCredential(token) ? `${scheme} ${REDACTED}` : match),
  ],
  // credentials inside a URL: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, '$1:' + REDACTED + '@'],
  // password=..., token: ..., api_key="..."
  [/(\b(?:password|passwd|pwd|secret|token|api[-_]?key|access[-_]?key|client[-_]?secret)"?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;"']+)/gi, '$1' + REDACTED],
];

function isBasicCredential(token: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 !== 0) return false;
  return Buffer.from(token, 'base64').toString('utf8').includes(':');
}

/** Masks credentials in free-form text (hook output, error messages, log lines). */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) {
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

/** True when a value under `key` must never be shown. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.\s]/g, '');
  return k === 'auth' || SECRET_KEY_ENDINGS.some((ending) => k.endsWith(ending));
}

/**
 * A deep copy of `value` with secrets masked: values under secret keys, all header values, and
 * credentials in every string. Cycles and very deep nesting are cut rather than followed.
 */
export function redact<T>(value: T): T {
  return walk(value, 0, new WeakSet()) as T;
}

const MAX_DEPTH = 32;

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null || v === undefined || v === '') out[key] = v;
    else if (isSecretKey(key)) out[key] = REDACTED;
    else if (HEADER_KEY.test(key)) out[key] = maskHeaders(v);
    else out[key] = walk(v, depth + 1, seen);
  }
  return out;
}

// Headers come as Kubernetes `[{name, value, valueFrom}]` or as a plain `{name: value}` map.
function maskHeaders(headers: unknown): unknown {
  if (Array.isArray(headers)) {
    return headers.map((h) =>
      h && typeof h === 'object' ? { ...('name' in h ? { name: String((h as { name: unknown }).name) } : {}), value: REDACTED } : REDACTED,
    );
  }
  if (headers && typeof headers === 'object') {
    return Object.fromEntries(Object.keys(headers).map((k) => [k, REDACTED]));
  }
  return REDACTED;
}
