/**
 * httpGet / httpPost (DESIGN §5): got 14, one attempt, bounded by `timeoutSeconds`.
 *
 * Stash's probe semantics (kubelet's `probe/http`): success is a status 200–399; redirects to the
 * same host name are followed (at most 10), a redirect to another host is not followed and the
 * 3xx counts as success. Our deviations (§10): an empty scheme is HTTP, TLS is verified unless
 * `insecureSkipTLSVerify`, a user Content-Type is kept.
 */
import { isIP } from 'node:net';
import got, { type Response } from 'got';
import { HookFailedError, HookTimeoutError, NetworkDeniedError } from '../../shared/errors.js';
import type { FormEntry, HTTPPostAction } from '../../shared/resources.js';
import type { NetworkGuard } from './network-guard.js';
import { CappedBuffer, redact } from './output.js';
import type { ActionOptions, HostResult } from './types.js';

/** Kubelet's cap (`probe/http`: "stopped after 10 redirects"). */
const MAX_REDIRECTS = 10;

/** A rendered HTTP action with its destination resolved. */
export interface HttpRequestSpec {
  action: 'httpGet' | 'httpPost';
  host: string;
  port: number;
  scheme?: string;
  path?: string;
  /** Headers in the order given; values already rendered or read from Secrets. */
  headers: Array<{ name: string; value: string }>;
  body?: string;
  form?: FormEntry[];
  insecureSkipTLSVerify?: boolean;
}

/** `scheme://host:port/path`, with IPv6 hosts bracketed and the path made absolute. */
export function buildUrl(spec: Pick<HttpRequestSpec, 'host' | 'port' | 'scheme' | 'path'>): URL {
  const scheme = (spec.scheme ?? '').toUpperCase() === 'HTTPS' ? 'https' : 'http';
  const host = isIP(spec.host) === 6 ? `[${spec.host}]` : spec.host;
  const path = spec.path ? (spec.path.startsWith('/') ? spec.path : `/${spec.path}`) : '/';
  return new URL(`${scheme}://${host}:${spec.port}${path}`);
}

/** Go's `url.QueryEscape`: only `A-Za-z0-9-_.~` stay, spaces become `+`. */
function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * Go's `url.Values.Encode()` of Stash's form (kmodules/prober `probe/prober.go` `toValues`:
 * `out[v.Key] = v.Values`): a repeated key keeps its last entry's values; keys sorted, each key's
 * values in order.
 */
export function encodeForm(form: readonly FormEntry[]): string {
  const byKey = new Map<string, readonly string[]>();
  for (const f of form) byKey.set(f.key, f.values ?? []);
  return [...byKey.keys()]
    .sort()
    .flatMap((k) => byKey.get(k)!.map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');
}

/** gabriel-vasile/mimetype `internal/magic/text.go` `HTML`: a leading tag, any case, then a space or `>`. */
const HTML_START = /^(<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<body|<br|<p)[ >]/i;
/** Its `XML`: `<?xml` the same way. */
const XML_START = /^<\?xml[ >]/i;
/** Binary data bytes (mimesniff), which make a body not text. */
// eslint-disable-next-line no-control-regex -- control bytes are what this pattern detects
const BINARY_BYTE = /[\x00-\x08\x0B\x0E-\x1A\x1C-\x1F]/;

/**
 * The Content-Type Stash sends with an httpPost body: kmodules/prober `probe/http/http_post.go`
 * sets it from gabriel-vasile/mimetype's detector (`internal/magic/text.go`), which reports
 * HTML and XML by their leading tag, JSON only for an object or array (`"x"`, `42` and `true`
 * are plain text), other text as UTF-8 text, and a body with binary bytes as octet-stream.
 */
export function detectContentType(body: string): string {
  if (BINARY_BYTE.test(body)) return 'application/octet-stream';
  const text = body.replace(/^\uFEFF?[\t\n\f\r ]+|^\uFEFF/, '');
  if (HTML_START.test(text)) return 'text/html; charset=utf-8';
  if (XML_START.test(text)) return 'text/xml; charset=utf-8';
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      JSON.parse(text);
      return 'application/json';
    } catch {
      // not JSON after all: plain text
    }
  }
  return 'text/plain; charset=utf-8';
}

/** The body and Content-Type to send; `form` wins over `body`, a user Content-Type wins over ours. */
export function requestBody(spec: Pick<HTTPPostAction, 'body' | 'form'>, userContentType: boolean): { body?: string; contentType?: string } {
  if (spec.form && spec.form.length > 0) {
    return { body: encodeForm(spec.form), contentType: userContentType ? undefined : 'application/x-www-form-urlencoded' };
  }
  if (spec.body === undefined || spec.body === '') return {};
  if (userContentType) return { body: spec.body };
  return { body: spec.body, contentType: detectContentType(spec.body) };
}

function seconds(n: number): string {
  return `${n}s`;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeFailure(err: NodeJS.ErrnoException & { name?: string }, host: string): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host ${host} not found (${code})`;
  if (code === 'ECONNRESET') return 'connection reset by the server (ECONNRESET)';
  if (code === 'ERR_TOO_MANY_REDIRECTS' || err.name === 'MaxRedirectsError') return `stopped after ${MAX_REDIRECTS} redirects`;
  if (TLS_CODES.has(code)) {
    return `TLS certificate not trusted: ${err.message} (${code}); set insecureSkipTLSVerify: true to skip verification`;
  }
  return code ? `${err.message} (${code})` : err.message;
}

/**
 * Sends one request and returns the host result, or throws {@link HookFailedError} (status,
 * connection), {@link HookTimeoutError} or {@link NetworkDeniedError}.
 */
export async function runHttp(spec: HttpRequestSpec, guard: NetworkGuard, opts: ActionOptions): Promise<HostResult> {
  const started = Date.now();
  const url = buildUrl(spec);
  const method = spec.action === 'httpPost' ? 'POST' : 'GET';
  const label = `HTTP ${method} ${redact(url.toString(), opts.secrets)}`;
  const fail = (msg: string, cause?: unknown) => new HookFailedError(redact(msg, opts.secrets), { action: spec.action, cause });

  // IP literals never reach a lookup function, so they are checked here; names are checked in dnsLookup.
  if (isIP(url.hostname.replace(/^\[|\]$/g, ''))) await guard.resolve(url.hostname, spec.port);
  let denied: NetworkDeniedError | undefined;

  const headers: Record<string, string> = {};
  for (const h of spec.headers) {
    const key = h.name.toLowerCase();
    headers[key] = headers[key] === undefined ? h.value : `${headers[key]}, ${h.value}`;
  }
  const { body, contentType } = method === 'POST' ? requestBody(spec, headers['content-type'] !== undefined) : {};
  if (contentType) headers['content-type'] = contentType;

  const originalHost = url.hostname;
  const output = new CappedBuffer();
  let response: Response | undefined;
  try {
    const stream = got.stream(url, {
      method,
      headers,
      // A POST stream waits for a body to be piped in: without one the request never leaves.
      body: method === 'POST' ? (body ?? '') : undefined,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { request: opts.timeoutSeconds * 1000 },
      // Kubelet's rule: follow only while the host name stays the first request's.
      followRedirect: (res) => {
        try {
          return new URL(String(res.headers.location ?? ''), res.url).hostname === originalHost;
        } catch {
          return false; // an unparseable Location is not followed; the 3xx stands
        }
      },
      maxRedirects: MAX_REDIRECTS,
      methodRewriting: true,
      https: { rejectUnauthorized: !spec.insecureSkipTLSVerify },
      // Fresh agents per request whose every connection (redirects too) is checked for its host
      // and port, and connects to the checked address.
      agent: guard.agents((err) => (denied = err)),
      hooks: {
        beforeRedirect: [
          async (options) => {
            const next = options.url instanceof URL ? options.url.hostname : '';
            if (isIP(next.replace(/^\[|\]$/g, ''))) await guard.resolve(next);
          },
        ],
      },
      signal: opts.signal,
    });
    stream.on('response', (res: Response) => (response = res));
    for await (const chunk of stream) {
      output.push(chunk as Buffer);
      if (output.full) break;
    }
  } catch (err) {
    if (denied) throw denied;
    if (err instanceof NetworkDeniedError) throw err;
    const e = err as NodeJS.ErrnoException & { name?: string };
    if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') {
      throw new HookTimeoutError(`${label} timed out after ${seconds(opts.timeoutSeconds)}`, { action: spec.action, cause: err });
    }
    if (e.name === 'AbortError' || e.code === 'ABORT_ERR') throw fail(`${label} was cancelled`, err);
    throw fail(`${label} failed: ${describeFailure(e, originalHost)}`, err);
  }
  if (!response) throw fail(`${label} failed: no response`);
  const statusCode = response.statusCode;
  const finalUrl = redact(String(response.url), opts.secrets);
  if (statusCode < 200 || statusCode >= 400) {
    const via = finalUrl !== url.toString() ? ` (after redirect to ${finalUrl})` : '';
    throw fail(`${label} returned ${statusCode}${via}`);
  }
  return {
    action: spec.action,
    where: redact(url.toString(), opts.secrets),
    statusCode,
    durationMs: Date.now() - started,
    output: redact(output.toString(), opts.secrets),
  };
}
