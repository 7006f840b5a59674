/**
 * Go's `fmt` for the values a template handles: `fmt.Sprint`, `fmt.Sprintln` and `fmt.Sprintf`
 * with the verbs, flags, width and precision Go documents, and Go's error forms for a bad verb
 * (`%!d(string=x)`), a missing operand (`%!s(MISSING)`) and extra operands (`%!(EXTRA int=1)`).
 * Reference: Go 1.19 src/fmt/print.go and format.go, src/strconv/quote.go.
 */
import { GoInt, GoList, GoMap, GoStruct, GoTime, formatFloat, formatTimeString, typeName } from './values.js';
import type { GoValue } from './values.js';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const NO_FLAGS: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp === 0x20) return true;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(cp));
}

/** `strconv.Quote` (and `QuoteToASCII` when `ascii`). */
export function quoteGo(s: string, quote = '"', ascii = false): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is not valid UTF-8
      continue;
    }
    if (ascii ? cp < 0x80 && isPrint(cp) : isPrint(cp)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}

function pad(s: string, spec: Spec, zeroOk = false): string {
  const w = spec.width;
  const len = [...s].length;
  if (w === undefined || len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function badVerb(verb: string, v: GoValue): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatValue(v, 'v', NO_FLAGS, 0)})`;
}

function fmtInteger(n: bigint, verb: string, spec: Spec, unsigned: boolean): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let digits: string;
  switch (verb) {
    case 'd':
    case 'v':
      digits = a.toString(10);
      break;
    case 'x':
      digits = a.toString(16);
      if (spec.sharp) digits = '0x' + digits;
      break;
    case 'X':
      digits = a.toString(16).toUpperCase();
      if (spec.sharp) digits = '0X' + digits;
      break;
    case 'o':
      digits = a.toString(8);
      if (spec.sharp && digits[0] !== '0') digits = '0' + digits;
      break;
    case 'O':
      digits = '0o' + a.toString(8);
      break;
    case 'b':
      digits = a.toString(2);
      break;
    default:
      digits = a.toString(10);
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && n === 0n) digits = '';
    const m = /^(0[xXo]?)?(.*)$/.exec(digits)!;
    digits = (m[1] ?? '') + m[2].padStart(spec.prec, '0');
  }
  let sign = neg ? '-' : '';
  if (!neg && !unsigned && spec.plus) sign = '+';
  else if (!neg && !unsigned && spec.space) sign = ' ';
  return pad(sign + digits, spec, spec.prec === undefined);
}

function fmtFloatVerb(f: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
      s = formatFloat(f, 'g', spec.prec ?? -1);
      break;
    case 'G':
      s = formatFloat(f, 'G', spec.prec ?? -1);
      break;
    case 'e':
    case 'E':
      s = formatFloat(f, verb, spec.prec ?? 6);
      break;
    default: // f, F
      s = formatFloat(f, 'f', spec.prec ?? 6);
  }
  if (spec.plus && !s.startsWith('-') && !s.startsWith('+')) s = '+' + s;
  else if (spec.space && !s.startsWith('-')) s = ' ' + s;
  else if (s === '+Inf' && !spec.plus) s = 'Inf';
  const infinite = /Inf|NaN/.test(s);
  return pad(s, spec, !infinite);
}

function fmtString(s: string, verb: string, spec: Spec): string {
  if (spec.prec !== undefined && (verb === 's' || verb === 'v' || verb === 'q')) s = [...s].slice(0, spec.prec).join('');
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, spec);
    case 'q':
      // Go's strconv.CanBackquote: control characters are exactly what must be matched here.
      // eslint-disable-next-line no-control-regex
      if (spec.sharp && !/[`\r\n\t\x00-\x08\x0b-\x1f\x7f\ufeff]/.test(s)) return pad('`' + s + '`', spec);
      return pad(quoteGo(s, '"', spec.plus), spec);
    case 'x':
    case 'X': {
      let bytes = Buffer.from(s, 'utf8');
      if (spec.prec !== undefined) bytes = bytes.subarray(0, spec.prec);
      const parts = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
      let hex = spec.space ? parts.map((p) => (spec.sharp ? '0x' : '') + p).join(' ') : (spec.sharp ? '0x' : '') + parts.join('');
      if (verb === 'X') hex = hex.toUpperCase();
      return pad(hex, spec);
    }
  }
  return badVerb(verb, s);
}

/** Formats one operand with one verb, recursing into maps, slices and structs as fmt does. */
export function formatValue(v: GoValue, verb: string, spec: Spec, depth: number): string {
  if (v === null || v === undefined) {
    if (verb === 'v') return pad('<nil>', spec);
    return badVerb(verb, v);
  }
  if (verb === 'T') return pad(typeName(v), spec);
  if (typeof v === 'boolean') {
    if (verb === 'v' || verb === 't') return pad(v ? 'true' : 'false', spec);
    return badVerb(verb, v);
  }
  if (v instanceof GoInt) {
    switch (verb) {
      case 'v':
      case 'd':
      case 'b':
      case 'o':
      case 'O':
      case 'x':
      case 'X':
        return fmtInteger(v.v, verb, spec, v.type === 'uint8');
      case 'c':
        return pad(String.fromCodePoint(Number(v.v) >= 0 && Number(v.v) <= 0x10ffff ? Number(v.v) : 0xfffd), spec);
      case 'q':
        return pad(quoteGo(String.fromCodePoint(Number(v.v) >= 0 && Number(v.v) <= 0x10ffff ? Number(v.v) : 0xfffd), "'", spec.plus), spec);
      case 'U':
        return pad('U+' + v.v.toString(16).toUpperCase().padStart(4, '0'), spec);
    }
    return badVerb(verb, v);
  }
  if (typeof v === 'number') {
    if ('vgGeEfF'.includes(verb)) return fmtFloatVerb(v, verb, spec);
    return badVerb(verb, v);
  }
  if (typeof v === 'string') return fmtString(v, verb, spec);
  if (v instanceof GoTime) {
    // time.Time is a fmt.Stringer: %v and %s print String(); %q quotes it.
    if (verb === 'v' || verb === 's' || verb === 'x' || verb === 'X' || verb === 'q') return fmtString(formatTimeString(v), verb, spec);
    return badVerb(verb, v);
  }
  if (v instanceof GoMap) {
    const keys = v.sortedKeys();
    const body = keys.map((k) => `${formatValue(k, verb, spec, depth + 1)}:${formatValue(v.entries.get(k), verb, spec, depth + 1)}`);
    return `map[${body.join(' ')}]`;
  }
  if (v instanceof GoList) return `[${v.items.map((x) => formatValue(x, verb, spec, depth + 1)).join(' ')}]`;
  // GoStruct
  const s = v as GoStruct;
  const fields = s.fields.map((f) => (spec.plus ? `${f.name}:` : '') + formatValue(f.value, verb, spec, depth + 1));
  return `${s.ptr && depth === 0 ? '&' : ''}{${fields.join(' ')}}`;
}

/** `fmt.Sprint`: operands formatted with %v, a space between two operands when neither is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a, 'v', NO_FLAGS, 0);
  });
  return out;
}

/** `fmt.Sprintln`: always a space between operands, and a newline. */
export function sprintln(args: GoValue[]): string {
  return args.map((a) => formatValue(a, 'v', NO_FLAGS, 0)).join(' ') + '\n';
}

/** `fmt.Sprintf`. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== '%') {
      out += ch;
      i++;
      continue;
    }
    i++;
    const spec: Spec = { ...NO_FLAGS };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') {
        spec.minus = true;
        spec.zero = false;
      } else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    let m = /^\d+/.exec(format.slice(i));
    if (m) {
      spec.width = Number(m[0]);
      i += m[0].length;
    }
    if (format[i] === '.') {
      i++;
      m = /^\d+/.exec(format.slice(i));
      spec.prec = m ? Number(m[0]) : 0;
      if (m) i += m[0].length;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    out += formatValue(arg, verb, spec, 0);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatValue(a, 'v', NO_FLAGS, 0)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
