/**
 * Label and field selectors with kube-apiserver's grammar: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, comma-separated (AND). Parsing errors are `ApiError` 400s so a bad
 * selector never reaches the store.
 */
import { badRequest } from './api-error.js';

type Requirement =
  { op: 'in'; key: string; values: string[] } | { op: 'notin'; key: string; values: string[] } | { op: 'exists'; key: string } | { op: '!exists'; key: string };

/** A compiled selector: true when the labels (or fields) match. */
export type Matcher = (values: Record<string, string | undefined>) => boolean;

const KEY_RE = /^([a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function checkKey(key: string, selector: string): string {
  if (!KEY_RE.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (value.length > 63 || !VALUE_RE.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  }
  return value;
}

function parseRequirements(selector: string, validate: boolean): Requirement[] {
  const reqs: Requirement[] = [];
  for (const term of splitTerms(selector)) {
    let m: RegExpExecArray | null;
    const key = (k: string): string => (validate ? checkKey(k, selector) : k);
    const val = (v: string): string => (validate ? checkValue(v, selector) : v);
    if ((m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term))) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map(val);
      reqs.push({ op: m[2] as 'in' | 'notin', key: key(m[1]), values });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) {
      const v = val(m[3]);
      reqs.push(m[2] === '!=' ? { op: 'notin', key: key(m[1]), values: [v] } : { op: 'in', key: key(m[1]), values: [v] });
    } else if ((m = /^!\s*(\S+)$/.exec(term))) {
      reqs.push({ op: '!exists', key: key(m[1]) });
    } else if ((m = /^(\S+)$/.exec(term)) && !/[=()!]/.test(term)) {
      reqs.push({ op: 'exists', key: key(m[1]) });
    } else {
      throw badRequest(`unable to parse requirement: unable to parse selector "${selector}" at "${term}"`);
    }
  }
  return reqs;
}

function compile(reqs: Requirement[]): Matcher {
  if (reqs.length === 0) return () => true;
  return (values) =>
    reqs.every((r) => {
      const v = values[r.key];
      switch (r.op) {
        case 'exists':
          return v !== undefined;
        case '!exists':
          return v === undefined;
        case 'in':
          return v !== undefined && r.values.includes(v);
        case 'notin':
          return v === undefined || !r.values.includes(v);
      }
    });
}

/** Parses a label selector string; an empty or absent one matches everything. */
export function parseLabelSelector(selector: string | undefined | null): Matcher {
  if (!selector) return () => true;
  return compile(parseRequirements(selector, true));
}

/**
 * Parses a field selector. Only `=`, `==` and `!=` are allowed (as in kube-apiserver); `allowed`
 * lists the field paths the resource supports, anything else is a 400 naming the field.
 */
export function parseFieldSelector(selector: string | undefined | null, allowed: readonly string[]): Matcher {
  if (!selector) return () => true;
  const reqs = parseRequirements(selector, false);
  for (const r of reqs) {
    if (r.op !== 'in' && r.op !== 'notin') throw badRequest(`invalid selector: '${selector}'; can't understand '${r.key}'`);
    if (!allowed.includes(r.key)) throw badRequest(`field label not supported: ${r.key}`);
  }
  return compile(reqs);
}

/** The `metav1.LabelSelector` shape used by workloads and `executor.pod`. */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Compiles a structured `metav1.LabelSelector`; an empty one matches everything (as in Kubernetes). */
export function compileLabelSelector(sel: LabelSelectorSpec | undefined): Matcher {
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ op: 'in', key: k, values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') reqs.push({ op: 'in', key: e.key, values: e.values ?? [] });
    else if (e.operator === 'NotIn') reqs.push({ op: 'notin', key: e.key, values: e.values ?? [] });
    else if (e.operator === 'Exists') reqs.push({ op: 'exists', key: e.key });
    else if (e.operator === 'DoesNotExist') reqs.push({ op: '!exists', key: e.key });
  }
  return compile(reqs);
}

/** Renders a structured selector as the query-string form (`a=b,c in (d)`). */
export function labelSelectorToString(sel: LabelSelectorSpec | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
