/**
 * Hook templates (DESIGN §5 "Templating"): one engine (liquidjs), two dialects, strict and
 * sandboxed.
 *
 * - Go dialect (Stash's own: Go `text/template` + sprig): parsed by shared/go-template with Go's
 *   grammar into a tree that is rendered as a liquidjs `Template` node by the same Liquid
 *   instance, options and limits as a Liquid template; output is byte-for-byte Go's (proven by
 *   test/corpus/go-templates against Go 1.19).
 * - Liquid dialect: the {@link Summary} under Stash's Go names (`Status.Error`) and its JSON names
 *   (`status.error`); a leading dot (`{{ .Status.Error | upcase }}`) is accepted.
 * - A string with neither `{{` nor a Liquid tag is not a template: it is used as written.
 *
 * Unknown variables, functions, filters and syntax errors are {@link TemplateError}s naming the
 * field, the position and the culprit. Nothing outside the summary is reachable: no file system,
 * no environment, no inherited properties; parse size, work and output are bounded.
 */
import { Liquid, Token, TokenKind } from 'liquidjs';
import type { Context, Emitter, FS, Template } from 'liquidjs';
import { TemplateError } from './errors.js';
import type { Summary } from './summary.js';
import {
  GoBudgetError,
  GoParseError,
  GoTemplateExecError,
  detectDialect,
  executeGoTemplate,
  parseGoTemplate,
  shellQuote,
  summaryToGo,
} from './go-template/index.js';
import type { Dialect, GoTemplateTree } from './go-template/index.js';

export { detectDialect, shellQuote };
export type { Dialect };

/** Largest template source accepted, in UTF-8 bytes (DESIGN §11: templates cannot stall a worker). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/** Largest rendered output of one field, in characters. */
export const MAX_OUTPUT_CHARS = 1024 * 1024;
/** Evaluation steps one Go-dialect field may take (nodes, commands, range iterations). */
export const MAX_GO_STEPS = 200_000;

/** Tags that would read other templates; a hook template has no files to read. */
const FILE_TAGS = ['include', 'render', 'layout', 'block'] as const;

const NO_FILES = (): never => {
  throw new Error('templates cannot read files');
};
const noFs: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => NO_FILES(),
  readFileSync: () => NO_FILES(),
  resolve: () => NO_FILES(),
  contains: async () => false,
  sep: '/',
  dirname: () => '/',
};

let sharedEngine: Liquid | undefined;

/**
 * The one Liquid engine. Building one costs about 2 ms (it registers every tag and filter) and
 * rendering keeps no state in it (the cache is off), so every field of every hook shares it.
 */
function engineInstance(): Liquid {
  sharedEngine ??= createEngine();
  return sharedEngine;
}

function createEngine(): Liquid {
  const engine = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    relativeReference: false,
    dynamicPartials: false,
    fs: noFs,
    root: [],
    partials: [],
    layouts: [],
    templates: {},
    globals: {},
    // A hook template is a few lines; these only stop a runaway loop from eating a worker.
    parseLimit: 1_000_000,
    renderLimit: 2_000,
    memoryLimit: 10_000_000,
  });
  for (const tag of FILE_TAGS) delete engine.tags[tag];
  // Sprig's `toJson`, so Stash users find the name they know.
  engine.registerFilter('toJson', (v: unknown) => JSON.stringify(v ?? null));
  // A value as one POSIX shell word: 'it'\''s'. The Go dialect calls it shellQuote.
  engine.registerFilter('shell_quote', (v: unknown) => shellQuote(v === undefined || v === null ? '' : String(v)));
  return engine;
}

/**
 * Rewrites Go's leading dot (`{{ .X`, `{{- .X`, `( .X`, ` .X`) to a plain Liquid name inside
 * `{{ }}` and `{% %}` tags, leaving string literals, member access (`a.b`) and text alone.
 * Line structure is unchanged so error positions still point at the user's source.
 */
export function rewriteLeadingDots(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const open = source.slice(i).search(/\{\{|\{%/);
    if (open < 0) {
      out += source.slice(i);
      break;
    }
    const start = i + open;
    out += source.slice(i, start + 2);
    const close = source[start + 1] === '{' ? '}}' : '%}';
    let j = start + 2;
    if (source[j] === '-') {
      out += '-';
      j++;
    }
    let quote: string | undefined;
    let prev = ' '; // the opening delimiter counts as a separator
    for (; j < source.length; j++) {
      const ch = source[j];
      if (quote) {
        if (ch === quote) quote = undefined;
        out += ch;
      } else if (ch === '"' || ch === "'") {
        quote = ch;
        out += ch;
      } else if (source.startsWith(close, j) || (ch === '-' && source.startsWith(close, j + 1))) {
        break;
      } else if (ch === '.' && /[\s(,:|=[]/.test(prev) && /[A-Za-z_]/.test(source[j + 1] ?? '')) {
        // Go's dot: drop it.
      } else {
        out += ch;
      }
      prev = ch;
    }
    i = j;
  }
  return out;
}

/** The scope a template renders against: Go names and JSON names of the same summary. */
export function templateScope(s: Summary): Record<string, unknown> {
  return {
    ...s,
    Name: s.name,
    Namespace: s.namespace,
    Invoker: { APIGroup: s.invoker.apiGroup, Kind: s.invoker.kind, Name: s.invoker.name },
    Target: { APIVersion: s.target.apiVersion, Kind: s.target.kind, Name: s.target.name, Namespace: s.target.namespace },
    Status: { Phase: s.status.phase, Duration: s.status.duration, Error: s.status.error },
    RetryLeft: s.retryLeft,
  };
}

const SAMPLE_SUMMARY: Summary = {
  name: '',
  namespace: '',
  invoker: { apiGroup: '', kind: '', name: '' },
  target: { apiVersion: '', kind: '', name: '', namespace: '' },
  status: { phase: 'Succeeded', duration: '', error: '' },
  retryLeft: 0,
};
const SAMPLE_SCOPE = templateScope(SAMPLE_SUMMARY);

const KNOWN_PATHS = (() => {
  const paths: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k;
      paths.push(p);
      if (v && typeof v === 'object') walk(v as Record<string, unknown>, p);
    }
  };
  walk(SAMPLE_SCOPE, '');
  return paths;
})();

/** `Target.ApiVersion` (the seed's own spelling) → `Target.APIVersion`; exact-case matches only. */
function didYouMean(variable: string): string {
  const lower = variable.toLowerCase();
  const hits = KNOWN_PATHS.filter((p) => p.toLowerCase() === lower && p !== variable);
  // Prefer the naming family the user wrote in: Go names start upper-case, JSON names lower.
  const hit = hits.find((p) => (p[0] === p[0].toUpperCase()) === (variable[0] === variable[0].toUpperCase())) ?? hits[0];
  return hit ? ` (did you mean ${hit}?)` : '';
}

interface LiquidLikeError {
  name?: string;
  message?: string;
  token?: { getPosition?: () => [number, number] };
}

/** Go/Sprig constructs inside a string detected as Liquid (it also has a Liquid tag or filter). */
const GO_SYNTAX = /\{\{-?\s*(\$\w|(toJson|printf|dict|index|len|eq|ne|if|else|end|range|with|define|template|block)\s)|\{\{-?[^}]*\s\$\w/;

function toTemplateError(err: unknown, field: string, source: string): TemplateError {
  const e = (err ?? {}) as LiquidLikeError;
  const raw = e.message ?? String(err);
  const pos = /, line:(\d+), col:(\d+)$/.exec(raw);
  const line = pos ? Number(pos[1]) : e.token?.getPosition?.()[0];
  const bare = pos ? raw.slice(0, pos.index) : raw;
  let what: string;
  let m: RegExpExecArray | null;
  if ((m = /^undefined variable: (.+)$/.exec(bare))) what = `unknown variable ${m[1]}${didYouMean(m[1])}`;
  else if ((m = /^undefined filter: (.+)$/.exec(bare))) what = `unknown filter ${m[1]}`;
  else if ((m = /^tag "(include|render|layout|block)" not found$/.exec(bare))) {
    what = `tag ${m[1]} is not allowed (templates cannot read files)`;
  } else if ((m = /^tag "(.+)" not found$/.exec(bare))) what = `unknown tag ${m[1]}`;
  else if (/limit exceeded/i.test(bare)) what = `template too expensive (${bare})`;
  else what = bare;
  const where = line !== undefined ? `, line ${line}` : '';
  const goWord = /^unknown variable (toJson|printf|dict|index|len|eq|ne|if|else|end|range|with)\b/.test(what);
  const syntax = goWord || ((e.name === 'TokenizationError' || e.name === 'ParseError') && !what.startsWith('unknown filter'));
  const hint =
    syntax && GO_SYNTAX.test(source)
      ? ' (Go syntax inside a Liquid template: a string is Liquid when it has a Liquid tag or filter; use one dialect per field, see docs/templating.md)'
      : '';
  return new TemplateError(`template error in ${field}${where}: ${what}${hint}`, { cause: err });
}

/** The size cap, checked before anything parses: a message naming the limit, else undefined. */
function sizeProblem(source: string, field: string): string | undefined {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes <= MAX_TEMPLATE_BYTES) return undefined;
  return `template error in ${field}: the template is ${bytes} bytes, over the limit of ${MAX_TEMPLATE_BYTES} bytes (64 KiB)`;
}

/** Levenshtein distance, for "did you mean" on short field names. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/** The fields of each Go type a template can reach (shared/go-template summaryToGo). */
const GO_TYPE_FIELDS: Record<string, string[]> = {
  '*v1beta1.Summary': ['Name', 'Namespace', 'Invoker', 'Target', 'Status', 'RetryLeft'],
  'v1.TypedLocalObjectReference': ['APIGroup', 'Kind', 'Name'],
  'v1beta1.TargetRef': ['APIVersion', 'Kind', 'Name', 'Namespace'],
  'v1beta1.TargetStatus': ['Phase', 'Duration', 'Error'],
};

/** `Status` for `status`, `Error` for `Eror`, `APIVersion` for `ApiVersion`: Go names are exact. */
function goFieldHint(detail: string): string {
  const m = /^can't evaluate field (\w+) in type (\S+)$/.exec(detail);
  const fields = m && GO_TYPE_FIELDS[m[2]];
  if (!fields) return '';
  const name = m[1].toLowerCase();
  const hit = fields.find((k) => k.toLowerCase() === name) ?? fields.find((k) => editDistance(k.toLowerCase(), name) <= 2);
  return hit ? ` (did you mean ${hit}?)` : ` (${m[2].replace('*', '')} has ${fields.join(', ')})`;
}

function goError(err: unknown, field: string): TemplateError {
  if (err instanceof GoParseError || err instanceof GoTemplateExecError) {
    const at = err instanceof GoTemplateExecError && err.at ? ` at <${err.at}>` : '';
    return new TemplateError(`template error in ${field}, line ${err.line}, col ${err.col}: ${err.detail}${at}${goFieldHint(err.detail)}`, { cause: err });
  }
  if (err instanceof GoBudgetError) return new TemplateError(`template error in ${field}: template too expensive (${err.message})`, { cause: err });
  return new TemplateError(`template error in ${field}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Options of {@link renderTemplate}. */
export interface RenderTemplateOptions {
  /** The clock of sprig's `now`, `date` and `ago`, in epoch milliseconds (default: now). */
  nowMs?: number;
}

/** The token a Go-dialect node carries: the whole source (liquidjs's Token is abstract). */
class GoSourceToken extends Token {}

/**
 * A Go-dialect template as a liquidjs `Template`: the Liquid engine renders it like any other
 * node (its render limit applies), and the node executes the Go tree with Go's semantics.
 */
class GoTemplateNode implements Template {
  readonly token: Token;
  constructor(
    private readonly tree: GoTemplateTree,
    private readonly nowMs: number,
  ) {
    this.token = new GoSourceToken(TokenKind.HTML, tree.source, 0, tree.source.length);
  }
  render(ctx: Context, emitter: Emitter): void {
    const summary = ctx.environments as unknown as { [GO_SUMMARY]: Summary };
    emitter.write(
      executeGoTemplate(this.tree, summaryToGo(summary[GO_SUMMARY]), {
        nowMs: this.nowMs,
        maxSteps: MAX_GO_STEPS,
        maxOutput: MAX_OUTPUT_CHARS,
      }),
    );
  }
}

const GO_SUMMARY = Symbol('summary');

/** Renders a parsed Go-dialect template through the liquidjs engine; Go's output, untrimmed. */
function renderGo(tree: GoTemplateTree, summary: Summary, nowMs: number): string {
  const engine = engineInstance();
  try {
    return String(engine.renderSync([new GoTemplateNode(tree, nowMs)], { [GO_SUMMARY]: summary }));
  } catch (err) {
    // liquidjs wraps what a node throws in a RenderError; the Go error is its originalError.
    throw (err as { originalError?: unknown }).originalError ?? err;
  }
}

/**
 * Renders `source` (the value of hook field `field`, e.g. `httpPost.body`) against the summary
 * and trims the result, as Stash does. A string that is not a template is returned as written.
 * Throws {@link TemplateError}.
 */
export function renderTemplate(source: string, field: string, summary: Summary, options: RenderTemplateOptions = {}): string {
  const tooBig = sizeProblem(source, field);
  if (tooBig) throw new TemplateError(tooBig);
  const dialect = detectDialect(source);
  if (dialect === 'text') return source;
  if (dialect === 'go') {
    try {
      return renderGo(parseGoTemplate(source), summary, options.nowMs ?? Date.now()).trim();
    } catch (err) {
      throw goError(err, field);
    }
  }
  const engine = engineInstance();
  try {
    const out: unknown = engine.parseAndRenderSync(rewriteLeadingDots(source), templateScope(summary));
    const text = String(out);
    if (text.length > MAX_OUTPUT_CHARS)
      throw new TemplateError(`template error in ${field}: template too expensive (output longer than ${MAX_OUTPUT_CHARS} characters)`);
    return text.trim();
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    throw toTemplateError(err, field, source);
  }
}

/** The first summary path a global variable reference does not name, e.g. `Status.Eror`. */
function unknownPath(segments: ReadonlyArray<unknown>): string | undefined {
  let at: unknown = SAMPLE_SCOPE;
  const walked: string[] = [];
  for (const seg of segments) {
    // Past a leaf (`Status.Error.size`) or a computed index, what follows is Liquid's business.
    if (typeof seg !== 'string' || at === null || typeof at !== 'object') return undefined;
    walked.push(seg);
    if (!Object.hasOwn(at, seg)) return walked.join('.');
    at = (at as Record<string, unknown>)[seg];
  }
  return undefined;
}

/**
 * Checks `source` without rendering it: syntax, unknown filters and tags, and variables that
 * name nothing in the summary. Returns the first problem's message (`template error in <field>,
 * line N: …`), else undefined: the `TemplateChecker` shape `shared/hook-spec.ts` takes.
 */
export function checkTemplate(source: string, field: string): string | undefined {
  const tooBig = sizeProblem(source, field);
  if (tooBig) return tooBig;
  const dialect = detectDialect(source);
  if (dialect === 'text') return undefined;
  if (dialect === 'go') {
    try {
      const tree = parseGoTemplate(source);
      // A dry run against a sample summary finds unknown fields (`.Status.Eror`), which Go only
      // reports when executing; other failures may depend on the real values, so only that one counts.
      try {
        executeGoTemplate(tree, summaryToGo(SAMPLE_SUMMARY), { nowMs: Date.now(), maxSteps: MAX_GO_STEPS, maxOutput: MAX_OUTPUT_CHARS });
      } catch (err) {
        if (err instanceof GoTemplateExecError && /^can't evaluate field /.test(err.detail)) return goError(err, field).message;
      }
      return undefined;
    } catch (err) {
      return goError(err, field).message;
    }
  }
  const engine = engineInstance();
  try {
    const parsed = engine.parse(rewriteLeadingDots(source));
    const problems: Array<{ row: number; col: number; path: string }> = [];
    for (const refs of Object.values(engine.analyzeSync(parsed).globals)) {
      for (const ref of refs) {
        const path = unknownPath(ref.segments);
        if (path) problems.push({ row: ref.location.row, col: ref.location.col, path });
      }
    }
    problems.sort((a, b) => a.row - b.row || a.col - b.col);
    const first = problems[0];
    if (!first) return undefined;
    return `template error in ${field}, line ${first.row}: unknown variable ${first.path}${didYouMean(first.path)}`;
  } catch (err) {
    return toTemplateError(err, field, source).message;
  }
}
