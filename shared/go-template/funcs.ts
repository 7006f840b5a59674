/**
 * The functions a Go-dialect hook template can call: text/template's builtins (Go 1.19
 * src/text/template/funcs.go, without `call`) and the sprig functions Stash users write
 * (Masterminds/sprig v3 functions.go, defaults.go, dict.go, strings.go, numeric.go, date.go —
 * the casts are spf13/cast's), plus `shellQuote`. Each has Go's parameter types, because
 * text/template converts and checks arguments by type before the call.
 */
import { GoExecError, GoInt, GoList, GoMap, GoStruct, GoTime, byteLength, int, isTrue, kindOf, typeName, wrap } from './values.js';
import type { GoValue, Kind } from './values.js';
import { formatValue, sprint, sprintf, sprintln, isPrint } from './fmt.js';
import { marshalJson, JsonUnsupportedError } from './json.js';
import { formatGoDuration, formatGoTime } from './time.js';

/**
 * A parameter's Go type: `value` is reflect.Value (the builtins see the raw value), `any` is
 * interface{}, `map` is map[string]interface{}.
 */
export type ParamType = 'value' | 'any' | 'string' | 'bool' | 'int' | 'float64' | 'map';

/** Go's spelling of a parameter type, for "expected %s" messages. */
export const PARAM_TYPE_NAME: Record<ParamType, string> = {
  value: 'reflect.Value',
  any: 'interface {}',
  string: 'string',
  bool: 'bool',
  int: 'int',
  float64: 'float64',
  map: 'map[string]interface {}',
};

/** What a function needs at call time: the clock (`now`, `date`, `ago`). */
export interface CallContext {
  nowMs: number;
}

export interface GoFunc {
  params: ParamType[];
  variadic?: ParamType;
  builtin?: boolean;
  call(args: GoValue[], ctx: CallContext): GoValue;
}

const fail = (msg: string): never => {
  throw new GoExecError(msg);
};

// ---- comparison (text/template's basicKind, eq, lt) ----

type BasicKind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid';

function basicKind(v: GoValue): BasicKind {
  const k: Kind = kindOf(v);
  if (k === 'bool' || k === 'int' || k === 'uint' || k === 'float' || k === 'string') return k;
  return 'invalid';
}

const comparable = (v: GoValue) => !(v instanceof GoMap || v instanceof GoList);

function eq(args: GoValue[]): boolean {
  const [a, ...rest] = args;
  if (rest.length === 0) fail('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') truth = (a as GoInt).v >= 0n && (a as GoInt).v === (b as GoInt).v;
      else if (k1 === 'uint' && k2 === 'int') truth = (b as GoInt).v >= 0n && (a as GoInt).v === (b as GoInt).v;
      else if (a !== undefined && a !== null && b !== undefined && b !== null) fail('incompatible types for comparison');
      else truth = false;
    } else {
      switch (k1) {
        case 'int':
        case 'uint':
          truth = (a as GoInt).v === (b as GoInt).v;
          break;
        case 'bool':
        case 'float':
        case 'string':
          truth = a === b;
          break;
        default:
          if (a === undefined || a === null || b === undefined || b === null) truth = (a ?? null) === (b ?? null);
          else {
            for (const x of [a, b]) if (!comparable(x)) fail(`non-comparable type ${formatValue(x, 'v', NO_SPEC, 0)}: ${typeName(x)}`);
            truth = a === b || (a instanceof GoTime && b instanceof GoTime && a.ms === b.ms);
          }
      }
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  if (k1 === 'invalid') fail('invalid type for comparison');
  const k2 = basicKind(b);
  if (k2 === 'invalid') fail('invalid type for comparison');
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return (a as GoInt).v < 0n || (a as GoInt).v < (b as GoInt).v;
    if (k1 === 'uint' && k2 === 'int') return (b as GoInt).v >= 0n && (a as GoInt).v < (b as GoInt).v;
    fail('incompatible types for comparison');
  }
  switch (k1) {
    case 'bool':
      return fail('invalid type for comparison');
    case 'int':
    case 'uint':
      return (a as GoInt).v < (b as GoInt).v;
    case 'float':
      return (a as number) < (b as number);
    default:
      return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  }
}

const NO_SPEC = { minus: false, plus: false, sharp: false, space: false, zero: false };

// ---- index and slice ----

function indexArg(index: GoValue, cap: number): number {
  const k = kindOf(index);
  if (k === 'invalid' || index === null) fail('cannot index slice/array with nil');
  if (k !== 'int' && k !== 'uint') fail(`cannot index slice/array with type ${typeName(index)}`);
  const x = (index as GoInt).v;
  if (x < 0n || x > BigInt(cap)) fail(`index out of range: ${x}`);
  return Number(x);
}

function index(args: GoValue[]): GoValue {
  let item = args[0];
  if (item === undefined || item === null) fail('index of untyped nil');
  for (const ix of args.slice(1)) {
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const x = indexArg(ix, bytes.length);
      if (x === bytes.length) fail(`index out of range: ${x}`);
      item = int(bytes[x], 'uint8');
    } else if (item instanceof GoList) {
      const x = indexArg(ix, item.items.length);
      if (x === item.items.length) fail(`index out of range: ${x}`);
      item = item.items[x];
    } else if (item instanceof GoMap) {
      if (typeof ix !== 'string') {
        if (ix === undefined || ix === null) fail(`value is nil; should be of type string`);
        fail(`value has type ${typeName(ix)}; should be string`);
      }
      item = item.entries.has(ix as string) ? item.entries.get(ix as string) : item.elem === 'string' ? '' : null;
    } else if (item === undefined || item === null) {
      fail('index of untyped nil');
    } else {
      fail(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function slice(args: GoValue[]): GoValue {
  const item = args[0];
  if (item === undefined || item === null) fail('slice of untyped nil');
  const idx = args.slice(1);
  if (idx.length > 3) fail(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (idx.length === 3) fail('cannot 3-index slice a string');
    len = byteLength(item);
  } else if (item instanceof GoList) len = item.items.length;
  else return fail(`can't slice item of type ${typeName(item)}`);
  const bounds = [0, len, len];
  idx.forEach((ix, i) => {
    bounds[i] = indexArg(ix, len);
  });
  if (bounds[0] > bounds[1]) fail(`invalid slice index: ${bounds[0]} > ${bounds[1]}`);
  if (idx.length === 3 && bounds[1] > bounds[2]) fail(`invalid slice index: ${bounds[1]} > ${bounds[2]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(bounds[0], bounds[1]).toString('utf8');
  return new GoList(item.items.slice(bounds[0], bounds[1]), item.elem);
}

// ---- escaping (text/template's html, js, urlquery) ----

/** text/template's evalArgs: one string as is, else fmt.Sprint of the arguments. */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === undefined ? null : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      switch (ch) {
        case '\\': out += '\\\\'; continue;
        case "'": out += "\\'"; continue;
        case '"': out += '\\"'; continue;
        case '<': out += '\\u003C'; continue;
        case '>': out += '\\u003E'; continue;
        case '&': out += '\\u0026'; continue;
        case '=': out += '\\u003D'; continue;
      }
      out += cp < 0x20 ? '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0') : ch;
    } else out += isPrint(cp) ? ch : '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

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

/** Every function a Go-dialect template may call, by name. */
export const GO_FUNCS: Record<string, GoFunc> = {
  // text/template builtins (and/or are evaluated lazily by the executor).
  and: { params: ['value'], variadic: 'value', builtin: true, call: () => null },
  or: { params: ['value'], variadic: 'value', builtin: true, call: () => null },
  // `call` exists in Go but a summary holds no functions, so it always fails as Go fails.
  call: { params: ['value'], variadic: 'value', builtin: true, call: ([f]) => fail(`non-function of type ${f === null || f === undefined ? '<nil>' : typeName(f)}`) },
  not: { params: ['value'], builtin: true, call: ([a]) => !isTrue(a) },
  len: {
    params: ['value'],
    builtin: true,
    call: ([a]) => {
      if (typeof a === 'string') return int(byteLength(a));
      if (a instanceof GoList) return int(a.items.length);
      if (a instanceof GoMap) return int(a.entries.size);
      if (a === null) return fail('len of nil pointer');
      return fail(`len of type ${typeName(a)}`);
    },
  },
  index: { params: ['value'], variadic: 'value', builtin: true, call: index },
  slice: { params: ['value'], variadic: 'value', builtin: true, call: slice },
  eq: { params: ['value'], variadic: 'value', builtin: true, call: (a) => eq(a) },
  ne: { params: ['value', 'value'], builtin: true, call: ([a, b]) => !eq([a, b]) },
  lt: { params: ['value', 'value'], builtin: true, call: ([a, b]) => lt(a, b) },
  le: { params: ['value', 'value'], builtin: true, call: ([a, b]) => lt(a, b) || eq([a, b]) },
  gt: { params: ['value', 'value'], builtin: true, call: ([a, b]) => !(lt(a, b) || eq([a, b])) },
  ge: { params: ['value', 'value'], builtin: true, call: ([a, b]) => !lt(a, b) },
  print: { params: [], variadic: 'any', builtin: true, call: (a) => sprint(a) },
  println: { params: [], variadic: 'any', builtin: true, call: (a) => sprintln(a) },
  printf: { params: ['string'], variadic: 'any', builtin: true, call: ([f, ...a]) => sprintf(f as string, a) },
  html: { params: [], variadic: 'any', builtin: true, call: (a) => htmlEscape(evalArgs(a)) },
  js: { params: [], variadic: 'any', builtin: true, call: (a) => jsEscape(evalArgs(a)) },
  urlquery: { params: [], variadic: 'any', builtin: true, call: (a) => queryEscape(evalArgs(a)) },

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
  keys: { params: [], variadic: 'map', call: (ds) => new GoList(ds.flatMap((d) => asMap(d).sortedKeys()), 'string') },

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
  quote: { params: [], variadic: 'any', call: (a) => a.filter((x) => x !== null && x !== undefined).map((x) => sprintf('%q', [strval(x)])).join(' ') },
  squote: { params: [], variadic: 'any', call: (a) => a.filter((x) => x !== null && x !== undefined).map((x) => sprintf("'%v'", [x])).join(' ') },
  upper: { params: ['string'], call: ([s]) => mapRunes(s as string, (c) => c.toUpperCase()) },
  lower: { params: ['string'], call: ([s]) => mapRunes(s as string, (c) => c.toLowerCase()) },
  title: { params: ['string'], call: ([s]) => title(s as string) },
  trim: { params: ['string'], call: ([s]) => trimSpace(s as string) },
  trimPrefix: { params: ['string', 'string'], call: ([p, s]) => ((s as string).startsWith(p as string) ? (s as string).slice((p as string).length) : (s as string)) },
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
