/**
 * Hook templates (DESIGN §5 "Templating"): Liquid, strict, sandboxed.
 *
 * A template sees the {@link Summary} under Stash's Go names (`.Status.Error`) and under its JSON
 * names (`status.error`). Stash writes Go templates, so a leading dot inside a tag is accepted
 * (`{{ .Status.Error }}` ≡ `{{ Status.Error }}`). Unknown variables, unknown filters and syntax
 * errors are {@link TemplateError}s naming the field, the line and the culprit. Nothing outside
 * the summary is reachable: no file system (includes, renders and layouts are removed and the
 * file system throws), no environment, no inherited properties, and bounded parse/render work.
 */
import { Liquid } from 'liquidjs';
import type { FS } from 'liquidjs';
import { TemplateError } from './errors.js';
import type { Summary } from './summary.js';

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

const SAMPLE_SCOPE = templateScope({
  name: '',
  namespace: '',
  invoker: { apiGroup: '', kind: '', name: '' },
  target: { apiVersion: '', kind: '', name: '', namespace: '' },
  status: { phase: 'Succeeded', duration: '', error: '' },
  retryLeft: 0,
});

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

/** Go/Sprig constructs a Stash user may paste: `$vars`, `{{ toJson x }}`, `{{ if … }}` in output tags. */
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
  const hint = syntax && GO_SYNTAX.test(source) ? ' (this looks like a Go template; hooks use Liquid: write {{ x | toJson }} for {{ toJson x }}, see docs/templating.md)' : '';
  return new TemplateError(`template error in ${field}${where}: ${what}${hint}`, { cause: err });
}

function hasTags(source: string): boolean {
  return source.includes('{{') || source.includes('{%');
}

/**
 * Renders `source` (the value of hook field `field`, e.g. `httpPost.body`) against the summary
 * and trims the result. Throws {@link TemplateError}.
 */
export function renderTemplate(source: string, field: string, summary: Summary): string {
  if (!hasTags(source)) return source.trim();
  const engine = createEngine();
  try {
    const out: unknown = engine.parseAndRenderSync(rewriteLeadingDots(source), templateScope(summary));
    return String(out).trim();
  } catch (err) {
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
  if (!hasTags(source)) return undefined;
  const engine = createEngine();
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
