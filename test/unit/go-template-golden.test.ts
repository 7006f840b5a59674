// The Go dialect against real Go: every case of test/corpus/go-templates/cases.yaml renders
// byte for byte what Go 1.19's text/template rendered into golden.json (regenerate.sh), or fails
// where Go failed, in the same phase (parse or execute) and with Go's message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { executeGoTemplate, parseGoTemplate, summaryToGo, GoParseError, GoTemplateExecError } from '../../shared/go-template/index.js';
import type { Summary } from '../../shared/summary.js';

const dir = new URL('../corpus/go-templates/', import.meta.url);
interface Case {
  name: string;
  template: string;
  summary?: string;
}
const doc = parseYaml(readFileSync(new URL('cases.yaml', dir), 'utf8')) as { summaries: Record<string, Summary>; cases: Case[] };
const golden = JSON.parse(readFileSync(new URL('golden.json', dir), 'utf8')) as Array<{
  name: string;
  output?: string;
  error?: string;
  kind?: 'parse' | 'exec';
}>;
const byName = new Map(golden.map((g) => [g.name, g]));
/** The fixed clock both Go (gen/sprig.go) and this test use. */
const NOW_MS = 1646741410_000;

/** Go's message without its location prefix: `template: hook-template:1:3: executing "…" at <.X>: ` */
function goDetail(message: string): string {
  return message.replace(/^template: hook-template:\d+(:\d+)?: (executing "hook-template" at <.*?>: )?/s, '');
}

type Outcome = { output: string } | { kind: 'parse' | 'exec'; detail: string };
function run(c: Case): Outcome {
  try {
    const tree = parseGoTemplate(c.template);
    return { output: executeGoTemplate(tree, summaryToGo(doc.summaries[c.summary ?? 'seed']), { nowMs: NOW_MS, maxSteps: 1e6, maxOutput: 1e7 }) };
  } catch (err) {
    if (err instanceof GoParseError) return { kind: 'parse', detail: err.detail };
    if (err instanceof GoTemplateExecError) return { kind: 'exec', detail: err.detail };
    throw err;
  }
}

test('the corpus has at least 200 cases and a golden for each', () => {
  assert.ok(doc.cases.length >= 200, `${doc.cases.length} cases`);
  for (const c of doc.cases) assert.ok(byName.has(c.name), `no golden for ${c.name}; run test/corpus/go-templates/regenerate.sh`);
});

/**
 * Where stash-hooks deliberately differs from Go (docs/templating.md, "What differs from Stash"):
 * the case must fail here with this message, whatever Go did.
 */
const DEVIATIONS: Record<string, string> = {
  // {{define}}/{{template}}/{{block}} name other templates; a hook field is one template.
  'error-define-unsupported': '{{define}} is not supported: a hook field is a single template',
};

for (const c of doc.cases) {
  test(`golden: ${c.name}`, () => {
    const want = byName.get(c.name)!;
    const got = run(c);
    if (DEVIATIONS[c.name]) {
      assert.equal(got, { kind: 'parse', detail: DEVIATIONS[c.name] });
      return;
    }
    if (want.output !== undefined) {
      assert.ok('output' in got, `Go rendered ${JSON.stringify(want.output)}, we failed: ${JSON.stringify(got)}`);
      assert.is((got as { output: string }).output, want.output);
    } else {
      assert.ok('kind' in got, `Go failed (${want.kind}: ${want.error}), we rendered ${JSON.stringify(got)}`);
      const g = got as { kind: string; detail: string };
      assert.is(g.kind, want.kind, `phase: Go ${want.error}`);
      assert.is(g.detail, goDetail(want.error!));
    }
  });
}

test.run();
