/**
 * Go values as a Go template sees them (DESIGN §5 "Templating"). Go is typed where JavaScript is
 * not, and the output depends on the type (`printf "%s" 3` is `%!s(int=3)`, `{{ 1.0 }}` is `1`),
 * so each Go kind a hook template can meet has one representation:
 *
 * - `string` → JS string; `float64` → JS number; `bool` → JS boolean;
 * - integers → {@link GoInt} (`int`, `int64` from sprig's arithmetic, `int32`, `uint8` from
 *   indexing a string), an exact `bigint` wrapped with its Go type name;
 * - `nil` (a nil interface) → `null`; Go's invalid `reflect.Value` (a missing map key, which
 *   prints `<no value>`) → `undefined`;
 * - `map[string]interface{}` / `map[string]string` → {@link GoMap};
 * - `[]interface{}` / `[]string` → {@link GoList};
 * - the summary and its parts → {@link GoStruct}; `time.Time` → {@link GoTime}.
 */

/** A Go integer of a named type; arithmetic wraps like Go's fixed-width integers. */
export class GoInt {
  constructor(
    readonly v: bigint,
    readonly type: 'int' | 'int64' | 'int32' | 'uint8' = 'int',
  ) {}
}

/** A Go map with string keys; `elem` is the element type (`interface {}` or `string`). */
export class GoMap {
  constructor(
    readonly entries: Map<string, GoValue>,
    readonly elem: 'any' | 'string' = 'any',
  ) {}
  /** Keys in Go's order for printing and `range` (internal/fmtsort: byte-wise for strings). */
  sortedKeys(): string[] {
    return [...this.entries.keys()].sort(compareGoStrings);
  }
}

/** A Go slice; `elem` is the element type (`interface {}` or `string`). */
export class GoList {
  constructor(
    readonly items: GoValue[],
    readonly elem: 'any' | 'string' = 'any',
  ) {}
}

/** One field of a {@link GoStruct}: its Go name, JSON name (with `omitempty`) and value. */
export interface GoField {
  name: string;
  json: string;
  omitEmpty: boolean;
  value: GoValue;
}

/** A Go struct (`ptr`: held through a pointer, as Stash passes `*v1beta1.Summary`). */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: GoField[],
    readonly ptr = false,
  ) {}
  field(name: string): GoField | undefined {
    return this.fields.find((f) => f.name === name);
  }
}

/** A Go `time.Time` in UTC, to the millisecond. */
export class GoTime {
  constructor(readonly ms: number) {}
}

export type GoValue = string | number | boolean | null | undefined | GoInt | GoMap | GoList | GoStruct | GoTime;

/** Go compares strings byte-wise (UTF-8); for the BMP that is code-point order. */
export function compareGoStrings(a: string, b: string): number {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ab, bb);
}

/** An error raised while executing (Go's `ExecError`) or calling a function. */
export class GoExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoExecError';
  }
}

export const int = (n: number | bigint, type: GoInt['type'] = 'int'): GoInt => new GoInt(wrap(BigInt(n), type), type);

/** Wraps to the width of the Go type, as Go's integer arithmetic does. */
export function wrap(v: bigint, type: GoInt['type']): bigint {
  switch (type) {
    case 'int32':
      return BigInt.asIntN(32, v);
    case 'uint8':
      return BigInt.asUintN(8, v);
    default:
      return BigInt.asIntN(64, v);
  }
}

/** Go's type name of a value, as `%T` and error messages print it. */
export function typeName(v: GoValue): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return v.type;
  if (v instanceof GoMap) return v.elem === 'string' ? 'map[string]string' : 'map[string]interface {}';
  if (v instanceof GoList) return v.elem === 'string' ? '[]string' : '[]interface {}';
  if (v instanceof GoStruct) return (v.ptr ? '*' : '') + v.typeName;
  return 'time.Time';
}

/** Go's `reflect.Kind` families that the template builtins switch on. */
export type Kind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'string' | 'map' | 'slice' | 'struct' | 'ptr' | 'interface';

export function kindOf(v: GoValue): Kind {
  if (v === undefined) return 'invalid';
  if (v === null) return 'interface';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return v.type === 'uint8' ? 'uint' : 'int';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoList) return 'slice';
  if (v instanceof GoStruct) return v.ptr ? 'ptr' : 'struct';
  return 'struct';
}

/** UTF-8 length, as Go's `len` of a string. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** text/template's `isTrue`: the truth of a value in `if`, `with`, `and`, `or`, `not`. */
export function isTrue(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoList) return v.items.length > 0;
  return true; // structs (and pointers to them) are always true
}

/** Go's `strconv.FormatFloat(f, fmt, prec, 64)` for 'e', 'f' and 'g' (prec -1 = shortest). */
export function formatFloat(f: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const neg = f < 0 || Object.is(f, -0);
  const a = Math.abs(f);
  // Decimal digits and the decimal point position (value = 0.d1d2… × 10^dp).
  let digits: string;
  let dp: number;
  const shortest = prec < 0;
  const fromExp = (s: string) => {
    const [mant, e] = s.split('e');
    const ds = mant.replace('.', '').replace(/0+$/, '') || '0';
    return { ds, dp: Number(e) + 1 };
  };
  if (a === 0) {
    digits = '0';
    dp = 1;
  } else if (shortest) {
    ({ ds: digits, dp } = fromExp(a.toExponential()));
  } else {
    // Rounded to a precision: Go rounds the exact binary value, ties to even.
    const exact = exactDecimal(a);
    const keep = fmt === 'f' ? exact.dp + prec : fmt === 'g' || fmt === 'G' ? Math.max(prec, 1) : prec + 1;
    ({ ds: digits, dp } = roundDigits(exact.ds, exact.dp, keep));
  }
  const sign = neg ? '-' : '';
  const fmtE = (d: string, decimals: number, e: string) => {
    const exp = d === '0' ? 0 : dp - 1;
    let m = d[0];
    if (decimals > 0) m += '.' + d.slice(1).padEnd(decimals, '0').slice(0, decimals);
    const ae = Math.abs(exp);
    return `${sign}${m}${e}${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  };
  const fmtF = (d: string, decimals: number) => {
    let intPart: string;
    let frac: string;
    if (dp <= 0) {
      intPart = '0';
      frac = '0'.repeat(-dp) + d;
    } else if (dp >= d.length) {
      intPart = d + '0'.repeat(dp - d.length);
      frac = '';
    } else {
      intPart = d.slice(0, dp);
      frac = d.slice(dp);
    }
    if (d === '0') {
      intPart = '0';
      frac = '';
    }
    frac = frac.padEnd(decimals, '0').slice(0, decimals);
    return sign + intPart + (decimals > 0 ? '.' + frac : '');
  };
  if (fmt === 'e' || fmt === 'E') return fmtE(digits, shortest ? digits.length - 1 : prec, fmt);
  if (fmt === 'f') return fmtF(digits, shortest ? Math.max(digits.length - dp, 0) : prec);
  // 'g': %e when the exponent is < -4 or >= the precision (6 when shortest).
  let eprec = shortest ? 6 : Math.max(prec, 1);
  if (!shortest && eprec > digits.length && digits.length >= dp) eprec = digits.length;
  const exp = dp - 1;
  if (exp < -4 || exp >= eprec) return fmtE(digits, digits.length - 1, fmt === 'G' ? 'E' : 'e');
  return fmtF(digits, Math.max(digits.length - dp, 0));
}

/** The exact decimal expansion of a positive finite double: digits and decimal point position. */
function exactDecimal(a: number): { ds: string; dp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  let ds: string;
  let dp: number;
  if (exp >= 0) {
    ds = (mant << BigInt(exp)).toString();
    dp = ds.length;
  } else {
    ds = (mant * 5n ** BigInt(-exp)).toString();
    dp = ds.length + exp;
  }
  const lead = ds.length - ds.replace(/^0+/, '').length;
  ds = ds.slice(lead).replace(/0+$/, '') || '0';
  return { ds, dp: dp - lead };
}

/** Rounds digits to `keep` significant digits, ties to even (Go's decimal.Round); trailing zeros dropped. */
function roundDigits(ds: string, dp: number, keep: number): { ds: string; dp: number } {
  if (keep < 0) return { ds: '0', dp: 1 };
  if (keep >= ds.length) return { ds, dp };
  const next = ds.charCodeAt(keep) - 48;
  const rest = ds.slice(keep + 1);
  const prevOdd = keep > 0 && (ds.charCodeAt(keep - 1) - 48) % 2 === 1;
  const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || prevOdd));
  let head = ds.slice(0, keep);
  if (up) {
    const n = (BigInt(head || '0') + 1n).toString();
    if (head === '' || n.length > head.length) {
      dp += 1;
      head = n;
    } else head = n.padStart(head.length, '0');
  }
  head = head.replace(/0+$/, '');
  return head ? { ds: head, dp } : { ds: '0', dp: 1 };
}

/** `fmt.Sprint`-style `%v` of a value (the plain form, no flags). */
export function formatV(v: GoValue, depth = 0): string {
  if (v === undefined) return '<nil>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatFloat(v, 'g', -1);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoInt) return v.v.toString();
  if (v instanceof GoMap) {
    return `map[${v
      .sortedKeys()
      .map((k) => `${k}:${formatV(v.entries.get(k), depth + 1)}`)
      .join(' ')}]`;
  }
  if (v instanceof GoList) return `[${v.items.map((x) => formatV(x, depth + 1)).join(' ')}]`;
  if (v instanceof GoStruct) {
    const body = `{${v.fields.map((f) => formatV(f.value, depth + 1)).join(' ')}}`;
    return v.ptr && depth === 0 ? `&${body}` : body;
  }
  return formatTimeString(v);
}

/** `time.Time.String()` in UTC: `2022-03-08 12:10:10 +0000 UTC` (fraction only when non-zero). */
export function formatTimeString(t: GoTime): string {
  const d = new Date(t.ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = d.getUTCMilliseconds();
  const frac = ms ? '.' + p(ms, 3).replace(/0+$/, '') : '';
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}
