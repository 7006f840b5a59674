/**
 * The Go dialect of hook templates (DESIGN §5 "Templating"): Go `text/template` + the sprig
 * functions Stash users write, rendered byte-for-byte as Go 1.19 renders them.
 *
 * `parseGoTemplate` parses with Go's grammar; `executeGoTemplate` runs the tree against the
 * summary, which a Go template sees as Stash's `*v1beta1.Summary` struct (Go field names only:
 * `.Status.Phase`, never `.status.phase`). shared/template.ts renders the tree through the
 * liquidjs engine (a liquidjs `Template` node), so there is one engine, one entry point and one
 * set of limits for both dialects.
 */
import { filters as liquidFilters } from 'liquidjs';
import { GoInt, GoStruct } from './values.js';
import type { GoField, GoValue } from './values.js';
import { GO_FUNCS } from './funcs.js';
import { parse } from './parse.js';
import type { GoTemplateTree } from './parse.js';
import { execute } from './exec.js';
import type { ExecOptions } from './exec.js';
import type { Summary } from '../summary.js';

export { GoParseError } from './parse.js';
export type { GoTemplateTree } from './parse.js';
export { GoTemplateExecError, GoBudgetError } from './exec.js';
export type { ExecOptions } from './exec.js';
export { GO_FUNCS, shellQuote } from './funcs.js';

/** Names a Go-dialect template may call. */
export const GO_FUNCTION_NAMES: readonly string[] = Object.keys(GO_FUNCS).sort();

/** Parses a Go-dialect template; throws GoParseError (unknown function, undefined variable, syntax). */
export function parseGoTemplate(source: string): GoTemplateTree {
  return parse(source, (name) => Object.hasOwn(GO_FUNCS, name));
}

/** Executes a parsed template against `data`; throws GoTemplateExecError or GoBudgetError. */
export function executeGoTemplate(tree: GoTemplateTree, data: GoValue, opts: ExecOptions): string {
  return execute(tree, data, opts);
}

const field = (name: string, json: string, value: GoValue, omitEmpty = true): GoField => ({ name, json, omitEmpty, value });

/**
 * The summary as Stash hands it to text/template: a `*v1beta1.Summary`. `Invoker.APIGroup` is a
 * string here (in Stash a `*string`, whose `printf "%s"` prints a pointer address).
 */
export function summaryToGo(s: Summary): GoStruct {
  return new GoStruct(
    'v1beta1.Summary',
    [
      field('Name', 'name', s.name),
      field('Namespace', 'namespace', s.namespace),
      field(
        'Invoker',
        'invoker',
        new GoStruct('v1.TypedLocalObjectReference', [
          field('APIGroup', 'apiGroup', s.invoker.apiGroup, false),
          field('Kind', 'kind', s.invoker.kind, false),
          field('Name', 'name', s.invoker.name, false),
        ]),
      ),
      field(
        'Target',
        'target',
        new GoStruct('v1beta1.TargetRef', [
          field('APIVersion', 'apiVersion', s.target.apiVersion),
          field('Kind', 'kind', s.target.kind),
          field('Name', 'name', s.target.name),
          field('Namespace', 'namespace', s.target.namespace),
        ]),
      ),
      field(
        'Status',
        'status',
        new GoStruct('v1beta1.TargetStatus', [
          field('Phase', 'phase', s.status.phase),
          field('Duration', 'duration', s.status.duration),
          field('Error', 'error', s.status.error),
        ]),
      ),
      field('RetryLeft', 'retryLeft', new GoInt(BigInt(s.retryLeft), 'int32')),
    ],
    true,
  );
}

const LIQUID_TAG_NAMES = [
  'assign',
  'capture',
  'endcapture',
  'case',
  'when',
  'endcase',
  'comment',
  'endcomment',
  'cycle',
  'decrement',
  'echo',
  'for',
  'endfor',
  'break',
  'continue',
  'if',
  'elsif',
  'else',
  'endif',
  'increment',
  'liquid',
  'raw',
  'endraw',
  'tablerow',
  'endtablerow',
  'unless',
  'endunless',
  'include',
  'render',
  'layout',
  'block',
  'endblock',
  '#',
];
const LIQUID_TAG = new RegExp(`\\{%-?\\s*(${LIQUID_TAG_NAMES.map((t) => t.replace('#', '\\#')).join('|')})(?=[\\s%-]|$)`);

/** Which language a hook field is written in (DESIGN §5 "Templating"). */
export type Dialect = 'go' | 'liquid' | 'text';

/** The `{{ … }}` actions of a string, roughly (quotes respected), for dialect detection only. */
function actions(source: string): string[] {
  const out: string[] = [];
  let i = 0;
  while ((i = source.indexOf('{{', i)) >= 0) {
    let j = i + 2;
    let quote: string | undefined;
    for (; j < source.length; j++) {
      const c = source[j];
      if (quote) {
        if (c === '\\' && quote !== '`') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`' || c === "'") quote = c;
      else if (source.startsWith('}}', j)) break;
    }
    out.push(
      source
        .slice(i + 2, j)
        .replace(/^-\s/, '')
        .replace(/\s-$/, '')
        .trim(),
    );
    i = j + 2;
  }
  return out;
}

/** Liquid's filters plus the two shared/template.ts registers. */
const LIQUID_FILTERS = new Set([...Object.keys(liquidFilters), 'toJson', 'shell_quote']);

const GO_KEYWORD = /^(if|else|end|range|with|define|template|block|break|continue)\b/;

/**
 * Detects the dialect: a Liquid tag (`{% if`, `{%- assign` …) makes it Liquid; no `{{` makes it
 * plain text (sent as written); otherwise Go when an action uses Go syntax — a `$variable`, a
 * Go keyword, a comment, a parenthesised pipeline, a call of a Go/sprig function, or a leading-dot
 * path, or any `name argument` call — unless it also uses a Liquid-only filter (`| upcase`,
 * `| append: x`).
 */
export function detectDialect(source: string): Dialect {
  if (LIQUID_TAG.test(source)) return 'liquid';
  if (!source.includes('{{')) return 'text';
  let go = false;
  for (const a of actions(source)) {
    if (/\|\s*[A-Za-z_]\w*\s*:/.test(a)) return 'liquid'; // a Liquid filter argument: `| append: x`
    const filters = [...a.matchAll(/\|\s*([A-Za-z_]\w*)/g)].map((m) => m[1]);
    if (filters.some((f) => !Object.hasOwn(GO_FUNCS, f))) return 'liquid';
    const word = /^([A-Za-z_]\w*)/.exec(a)?.[1];
    // A bare name that is no Go function (`{{ target.name }}`) is Liquid's variable syntax.
    if (word && !Object.hasOwn(GO_FUNCS, word) && !GO_KEYWORD.test(a) && !['true', 'false', 'nil'].includes(word) && !/^[A-Za-z_]\w*\s+[.$"`'(\d-]/.test(a)) {
      return 'liquid';
    }
    // A pipe into a function only Go has (`| shellQuote`, `| upper`) is Go.
    if (filters.some((f) => !LIQUID_FILTERS.has(f))) go = true;
    const first = /^[A-Za-z_]\w*/.exec(a)?.[0];
    if (a.startsWith('$') || a.startsWith('/*') || a.startsWith('(') || a.includes(':=') || GO_KEYWORD.test(a)) go = true;
    else if (a.startsWith('.')) go = true;
    else if (first && Object.hasOwn(GO_FUNCS, first) && !/^[A-Za-z_]\w*\s*(\||$|\.)/.test(a)) go = true;
    else if (first && Object.hasOwn(GO_FUNCS, first) && ['now', 'list', 'dict'].includes(first)) go = true;
    // `name arg …` is a call (Liquid has no calls): Go, so an unknown function is named as one.
    else if (/^[A-Za-z_]\w*\s+[.$"`'(\d-]/.test(a)) go = true;
  }
  return go ? 'go' : 'liquid';
}
