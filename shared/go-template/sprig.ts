/**
 * The sprig functions Stash users write (Masterminds/sprig v3 functions.go, defaults.go, dict.go,
 * strings.go, numeric.go, date.go; the numeric casts are spf13/cast's), plus `shellQuote`.
 */
import { GoInt, GoList, GoMap, GoStruct, GoTime, isTrue, wrap } from './values.js';
import type { GoValue } from './values.js';
import { formatValue, sprintf } from './fmt.js';
import { marshalJson, JsonUnsupportedError } from './json.js';
import { formatGoDuration, formatGoTime } from './time.js';
import { NO_SPEC, fail } from './func-types.js';
import type { GoFunc } from './func-types.js';

// ---- sprig helpers ----

/** sprig's strval. */
export function strval(v: GoValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof GoTime) return formatValue(v, 'v', NO_SPEC, 0);
  return formatValue(v ?? null, 'v', NO_SPEC, 0);
}

/** sprig's empty. */
function empty(v: GoValue): boolean {
  if (v === undefined || v === null) return true;
  if (v instanceof GoStruct || v instanceof GoTime) return false;
  return !isTrue(v);
}

/** spf13/cast's trimZeroDecimal: "1.0" → "1", "1.50" stays. */
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** strconv.ParseInt(s, 0, 64); undefined on error. */
function parseIntBase0(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[oO][0-7](?:_?[0-7])*|0[bB][01](?:_?[01])*|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/.exec(s);
  if (!m) return undefined;
  let body = m[2].replace(/_/g, '');
  if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
  const v = (m[1] === '-' ? -1n : 1n) * BigInt(body);
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return undefined;
  return v;
}

/** cast.ToInt64: integers as is, floats truncated, strings parsed (base 0), bools 1/0, else 0. */
function toInt64(v: GoValue): bigint {
  if (v instanceof GoInt) return v.v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : -(2n ** 63n);
  if (typeof v === 'string') return parseIntBase0(trimZeroDecimal(v)) ?? 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

/** cast.ToFloat64. */
function toFloat64(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'string') {
    const t = v.replace(/_/g, '');
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && (!v.includes('_') || /^[+-]?\d(_?\d)*(\.\d(_?\d)*)?$/.test(v))) return Number(t);
    if (/^[+-]?(inf|infinity)$/i.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(v)) return NaN;
    return 0;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

/** Go's unicode.IsSpace. */
const GO_SPACE = '\t\n\v\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000';
function trimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && GO_SPACE.includes(s[a])) a++;
  while (b > a && GO_SPACE.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Per-rune case mapping, as Go's strings.ToUpper/ToLower (no multi-rune expansions such as ß → SS). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const ch of s) {
    const m = f(ch);
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/** Go's strings.Title: upper-case the first letter of each word (words split at non-letters). */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = prev.charCodeAt(0) < 0x80 ? !/[A-Za-z0-9_]/.test(prev) : /\s/u.test(prev);
    out += sep ? mapRunes(ch, (c) => c.toUpperCase()) : ch;
    prev = ch;
  }
  return out;
}

function strslice(v: GoValue): string[] {
  if (v instanceof GoList) return v.items.filter((x) => x !== null && x !== undefined).map(strval);
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

function asMap(v: GoValue): GoMap {
  return v instanceof GoMap ? v : new GoMap(new Map());
}

/** Quotes a value for a POSIX shell: 'it'\''s' — safe as one word inside `sh -c`. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const TO_STRING: GoFunc = { params: ['any'], call: ([v]) => strval(v) };

const i64 = (v: bigint) => new GoInt(wrap(v, 'int64'), 'int64');

/** The sprig functions by name. */
export const SPRIG: Record<string, GoFunc> = {
  // sprig: data structures
  dict: {
    params: [],
    variadic: 'any',
    call: (a) => {
      const m = new Map<string, GoValue>();
      for (let i = 0; i < a.length; i += 2) m.set(strval(a[i]), i + 1 < a.length ? a[i + 1] : '');
      return new GoMap(m);
    },
  },
  list: { params: [], variadic: 'any', call: (a) => new GoList([...a]) },
  get: { params: ['map', 'string'], call: ([d, k]) => (asMap(d).entries.has(k as string) ? asMap(d).entries.get(k as string)! : '') },
  set: {
    params: ['map', 'string', 'any'],
    call: ([d, k, v]) => {
      if (!(d instanceof GoMap)) return fail('assignment to entry in nil map');
      d.entries.set(k as string, v);
      return d;
    },
  },
  hasKey: { params: ['map', 'string'], call: ([d, k]) => asMap(d).entries.has(k as string) },
  // Go ranges over a map in random order, so sprig's keys is unordered; sorted is one of its orders.
  keys: {
    params: [],
    variadic: 'map',
    call: (ds) =>
      new GoList(
        ds.flatMap((d) => asMap(d).sortedKeys()),
        'string',
      ),
  },

  // sprig: JSON and strings
  toJson: {
    params: ['any'],
    call: ([v]) => {
      try {
        return marshalJson(v);
      } catch (err) {
        if (err instanceof JsonUnsupportedError) return '';
        throw err;
      }
    },
  },
  toPrettyJson: {
    params: ['any'],
    call: ([v]) => {
      try {
        return marshalJson(v, '  ');
      } catch (err) {
        if (err instanceof JsonUnsupportedError) return '';
        throw err;
      }
    },
  },
  toString: TO_STRING,
  quote: {
    params: [],
    variadic: 'any',
    call: (a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => sprintf('%q', [strval(x)]))
        .join(' '),
  },
  squote: {
    params: [],
    variadic: 'any',
    call: (a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => sprintf("'%v'", [x]))
        .join(' '),
  },
  upper: { params: ['string'], call: ([s]) => mapRunes(s as string, (c) => c.toUpperCase()) },
  lower: { params: ['string'], call: ([s]) => mapRunes(s as string, (c) => c.toLowerCase()) },
  title: { params: ['string'], call: ([s]) => title(s as string) },
  trim: { params: ['string'], call: ([s]) => trimSpace(s as string) },
  trimPrefix: {
    params: ['string', 'string'],
    call: ([p, s]) => ((s as string).startsWith(p as string) ? (s as string).slice((p as string).length) : (s as string)),
  },
  trimSuffix: {
    params: ['string', 'string'],
    call: ([p, s]) => ((s as string).endsWith(p as string) && (p as string).length > 0 ? (s as string).slice(0, -(p as string).length) : (s as string)),
  },
  replace: { params: ['string', 'string', 'string'], call: ([o, n, s]) => goReplaceAll(s as string, o as string, n as string) },
  contains: { params: ['string', 'string'], call: ([sub, s]) => (s as string).includes(sub as string) },
  hasPrefix: { params: ['string', 'string'], call: ([p, s]) => (s as string).startsWith(p as string) },
  hasSuffix: { params: ['string', 'string'], call: ([p, s]) => (s as string).endsWith(p as string) },
  join: { params: ['string', 'any'], call: ([sep, v]) => strslice(v).join(sep as string) },
  split: {
    params: ['string', 'string'],
    call: ([sep, s]) => new GoMap(new Map(goSplit(s as string, sep as string).map((p, i) => [`_${i}`, p] as [string, GoValue])), 'string'),
  },
  splitList: { params: ['string', 'string'], call: ([sep, s]) => new GoList(goSplit(s as string, sep as string), 'string') },
  shellQuote: { params: ['string'], call: ([s]) => shellQuote(s as string) },

  // sprig: defaults
  default: { params: ['any'], variadic: 'any', call: ([d, ...given]) => (given.length === 0 || empty(given[0]) ? d : given[0]) },
  empty: { params: ['any'], call: ([v]) => empty(v) },
  coalesce: { params: [], variadic: 'any', call: (a) => a.find((x) => !empty(x)) ?? null },
  ternary: { params: ['any', 'any', 'bool'], call: ([t, f, c]) => (c ? t : f) },

  // sprig: dates (the worker's clock, UTC)
  now: { params: [], call: (_a, ctx) => new GoTime(ctx.nowMs) },
  date: {
    params: ['string', 'any'],
    call: ([layout, d], ctx) => {
      let ms = ctx.nowMs;
      if (d instanceof GoTime) ms = d.ms;
      else if (d instanceof GoInt && d.type !== 'uint8') ms = Number(d.v) * 1000;
      return formatGoTime(ms, layout as string);
    },
  },
  ago: {
    params: ['any'],
    call: ([d], ctx) => {
      let ms = ctx.nowMs;
      if (d instanceof GoTime) ms = d.ms;
      else if (d instanceof GoInt && (d.type === 'int' || d.type === 'int64')) ms = Number(d.v) * 1000;
      // time.Since(t).Round(time.Second): halves round away from zero.
      const diff = BigInt(ctx.nowMs - ms) * 1_000_000n;
      const sec = 1_000_000_000n;
      const r = diff % sec;
      let rounded = diff - r;
      if (r + r >= sec) rounded += sec;
      else if (-(r + r) >= sec) rounded -= sec;
      return formatGoDuration(rounded);
    },
  },
  duration: {
    params: ['any'],
    call: ([v]) => {
      let n = 0n;
      if (typeof v === 'string') n = /^[+-]?\d+$/.test(v) && BigInt(v) < 2n ** 63n && BigInt(v) >= -(2n ** 63n) ? BigInt(v) : 0n;
      else if (v instanceof GoInt && v.type === 'int64') n = v.v;
      return formatGoDuration(BigInt.asIntN(64, n * 1_000_000_000n));
    },
  },

  // sprig: numbers (cast conversions, int64 arithmetic)
  int: { params: ['any'], call: ([v]) => new GoInt(wrap(toInt64(v), 'int'), 'int') },
  float64: { params: ['any'], call: ([v]) => toFloat64(v) },
  add: { params: [], variadic: 'any', call: (a) => i64(a.reduce<bigint>((s, x) => s + toInt64(x), 0n)) },
  sub: { params: ['any', 'any'], call: ([a, b]) => i64(toInt64(a) - toInt64(b)) },
  mul: { params: ['any'], variadic: 'any', call: ([a, ...r]) => i64(r.reduce<bigint>((s, x) => BigInt.asIntN(64, s * toInt64(x)), toInt64(a))) },
  div: {
    params: ['any', 'any'],
    call: ([a, b]) => {
      const d = toInt64(b);
      if (d === 0n) return fail('runtime error: integer divide by zero');
      return i64(toInt64(a) / d);
    },
  },
  mod: {
    params: ['any', 'any'],
    call: ([a, b]) => {
      const d = toInt64(b);
      if (d === 0n) return fail('runtime error: integer divide by zero');
      return i64(toInt64(a) % d);
    },
  },
};

/** Go's strings.Split: an empty separator splits after each UTF-8 sequence. */
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** Go's strings.Replace(s, old, new, -1): an empty `old` matches before every rune and at the end. */
function goReplaceAll(s: string, old: string, rep: string): string {
  if (old === '') return rep + [...s].join(rep) + (s.length ? rep : '');
  return s.split(old).join(rep);
}
