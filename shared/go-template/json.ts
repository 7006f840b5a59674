/**
 * Go's `encoding/json` Marshal and MarshalIndent for template values, as sprig's `toJson` and
 * `toPrettyJson` call them: map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped, floats in
 * Go's shortest form (`1e+21` → `1e21`), struct fields by their JSON tags with `omitempty`.
 * Reference: Go 1.19 src/encoding/json/encode.go.
 */
import { GoInt, GoList, GoMap, GoStruct, GoTime, formatFloat, compareGoStrings } from './values.js';
import type { GoValue } from './values.js';

/** Thrown for a value JSON cannot hold (NaN, ±Inf); sprig's `toJson` then returns "". */
export class JsonUnsupportedError extends Error {}

export function encodeJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
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
      case '<':
      case '>':
      case '&':
        out += '\\u00' + cp.toString(16);
        continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).padStart(2, '0');
    else if (cp === 0x2028 || cp === 0x2029) out += '\\u' + cp.toString(16);
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

function encodeFloat(f: number): string {
  if (!Number.isFinite(f)) throw new JsonUnsupportedError(`json: unsupported value: ${f}`);
  const a = Math.abs(f);
  if (a !== 0 && (a < 1e-6 || a >= 1e21)) {
    // 'e' format, then Go cleans e-07 → e-7.
    return formatFloat(f, 'e', -1).replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloat(f, 'f', -1);
}

function isEmptyValue(v: GoValue): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v === '';
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'boolean') return !v;
  if (v instanceof GoInt) return v.v === 0n;
  if (v instanceof GoMap) return v.entries.size === 0;
  if (v instanceof GoList) return v.items.length === 0;
  return false;
}

/** RFC 3339 with nanoseconds, trailing zeros dropped: time.Time's MarshalJSON. */
function encodeTime(t: GoTime): string {
  const iso = new Date(t.ms).toISOString(); // 2022-03-08T12:10:10.000Z
  return `"${iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'))}"`;
}

/** `json.Marshal(v)` (indent '' ) or `json.MarshalIndent(v, "", indent)`. */
export function marshalJson(v: GoValue, indent = ''): string {
  const enc = (x: GoValue, level: number): string => {
    const nl = indent ? '\n' + indent.repeat(level + 1) : '';
    const close = indent ? '\n' + indent.repeat(level) : '';
    const colon = indent ? ': ' : ':';
    if (x === null || x === undefined) return 'null';
    if (typeof x === 'string') return encodeJsonString(x);
    if (typeof x === 'number') return encodeFloat(x);
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    if (x instanceof GoInt) return x.v.toString();
    if (x instanceof GoTime) return encodeTime(x);
    if (x instanceof GoList) {
      if (x.items.length === 0) return '[]';
      return `[${x.items.map((i) => nl + enc(i, level + 1)).join(',')}${close}]`;
    }
    if (x instanceof GoMap) {
      const keys = [...x.entries.keys()].sort(compareGoStrings);
      if (keys.length === 0) return '{}';
      return `{${keys.map((k) => `${nl}${encodeJsonString(k)}${colon}${enc(x.entries.get(k), level + 1)}`).join(',')}${close}}`;
    }
    const s = x as GoStruct;
    const fields = s.fields.filter((f) => !(f.omitEmpty && isEmptyValue(f.value)));
    if (fields.length === 0) return '{}';
    return `{${fields.map((f) => `${nl}${encodeJsonString(f.json)}${colon}${enc(f.value, level + 1)}`).join(',')}${close}}`;
  };
  return enc(v, 0);
}
