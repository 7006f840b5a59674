/**
 * text/template's builtin functions (Go 1.19 src/text/template/funcs.go): and, or, not, len,
 * index, slice, eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery — and `call`,
 * which always fails because a summary holds no functions.
 */
import { GoInt, GoList, GoMap, GoTime, byteLength, int, isTrue, kindOf, typeName } from './values.js';
import type { GoValue, Kind } from './values.js';
import { formatValue, sprint, sprintf, sprintln, isPrint } from './fmt.js';
import { NO_SPEC, fail } from './func-types.js';
import type { GoFunc } from './func-types.js';

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
        case '\\':
          out += '\\\\';
          continue;
        case "'":
          out += "\\'";
          continue;
        case '"':
          out += '\\"';
          continue;
        case '<':
          out += '\\u003C';
          continue;
        case '>':
          out += '\\u003E';
          continue;
        case '&':
          out += '\\u0026';
          continue;
        case '=':
          out += '\\u003D';
          continue;
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

/** The builtins by name (and/or are evaluated lazily by the executor). */
export const BUILTINS: Record<string, GoFunc> = {
  and: { params: ['value'], variadic: 'value', builtin: true, call: () => null },
  or: { params: ['value'], variadic: 'value', builtin: true, call: () => null },
  // `call` exists in Go but a summary holds no functions, so it always fails as Go fails.
  call: {
    params: ['value'],
    variadic: 'value',
    builtin: true,
    call: ([f]) => fail(`non-function of type ${f === null || f === undefined ? '<nil>' : typeName(f)}`),
  },
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
};
