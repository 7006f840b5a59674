// Property-based tests (fast-check) of templates, both dialects: whatever a user writes, checking
// returns a message or nothing and rendering returns a string or throws a TemplateError naming
// the field; no other exception escapes. 10,000 cases per property.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { renderTemplate, checkTemplate } from '../../shared/template.js';
import type { Summary } from '../../shared/summary.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10_000);

/** Template sources: random text mixed with Liquid fragments, valid or broken. */
const FRAGMENTS = [
  '{{ .Name }}',
  '{{ .Status.Phase }}',
  '{{ status.error | json }}',
  '{{ Target.Name | upcase }}',
  '{{',
  '}}',
  '{%',
  '%}',
  '{% if Status.Phase == "Failed" %}',
  '{% endif %}',
  '{% for x in (1..3) %}',
  '{% endfor %}',
  '{{ .Nope.Deeper }}',
  '{{ 1 | nofilter }}',
  '{% include "x" %}',
  '{% render "/etc/passwd" %}',
  '{{ "a" | append: }}',
  '{{ RetryLeft | plus: 1 }}',
  '{{ Invoker.Kind | split: "" | first }}',
  '{% assign a = Name %}{{ a }}',
  '{% raw %}',
  '{% endraw %}',
  '{{ . }}',
  '{{ .. }}',
  '{{ [ }}',
  '{{ Name[0] }}',
  '{{ -1 | abs }}',
  '\n',
  ' ',
  '"',
  "'",
  // Go dialect: actions, control structures, functions and their failure modes.
  '{{ $x := .Name }}',
  '{{ $x }}',
  '{{ if .Status.Error }}',
  '{{ else }}',
  '{{ else if eq .Status.Phase "Failed" }}',
  '{{ end }}',
  '{{ range $i, $v := list 1 "a" nil }}',
  '{{ range splitList "" .Name }}',
  '{{ with .Target }}',
  '{{ break }}',
  '{{ continue }}',
  '{{- ',
  ' -}}',
  '{{ (',
  ')',
  '{{/* c */}}',
  '{{/*',
  '*/}}',
  '{{ printf "%d %s %v %5.2f" }}',
  '{{ toJson . }}',
  '{{ toPrettyJson .Status }}',
  '{{ index .Name 99 }}',
  '{{ slice .Name 1 }}',
  '{{ div 1 0 }}',
  '{{ dict "a" }}',
  '{{ .Status.Phase | upper | shellQuote }}',
  '{{ $ }}',
  '{{ date "2006" now }}',
  '{{ ago 0 }}',
  '{{ duration "-99999999999" }}',
  '{{ 9223372036854775808 }}',
  "{{ 'x' }}",
  '{{ `raw` }}',
  '|',
];
const source = fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 6 })), { maxLength: 6 }).map((parts) => parts.join(''));
const summary: fc.Arbitrary<Summary> = fc.record({
  name: fc.string({ maxLength: 10 }),
  namespace: fc.string({ maxLength: 10 }),
  invoker: fc.record({ apiGroup: fc.string({ maxLength: 5 }), kind: fc.string({ maxLength: 5 }), name: fc.string({ maxLength: 5 }) }),
  target: fc.record({
    apiVersion: fc.string({ maxLength: 5 }),
    kind: fc.string({ maxLength: 5 }),
    name: fc.string({ maxLength: 5 }),
    namespace: fc.string({ maxLength: 5 }),
  }),
  status: fc.record({
    phase: fc.constantFrom('Succeeded' as const, 'Failed' as const),
    duration: fc.string({ maxLength: 5 }),
    error: fc.string({ maxLength: 20 }),
  }),
  retryLeft: fc.integer({ min: -5, max: 5 }),
});

test('checkTemplate: a message or undefined for any source, never an exception', () => {
  fc.assert(
    fc.property(source, (src) => {
      const r = checkTemplate(src, 'httpPost.body');
      return r === undefined || (typeof r === 'string' && r.startsWith('template error in httpPost.body'));
    }),
    { numRuns: RUNS },
  );
});

test('renderTemplate: a string, or a TemplateError naming the field — nothing else escapes', () => {
  fc.assert(
    fc.property(source, summary, (src, s) => {
      try {
        return typeof renderTemplate(src, 'httpPost.body', s) === 'string';
      } catch (err) {
        const e = err as { name?: string; code?: string; message?: string };
        if (e?.name !== 'TemplateError') throw new Error(`escaped ${e?.name}: ${e?.message} for ${JSON.stringify(src)}`);
        return typeof e.message === 'string' && e.message.includes('httpPost.body');
      }
    }),
    { numRuns: RUNS },
  );
});

test('renderTemplate: no template reads the environment or the filesystem', () => {
  process.env.PROPERTY_TEST_SECRET = 'env-secret-3f9a';
  const probe = [
    '{{ env }}',
    '{{ process.env.PROPERTY_TEST_SECRET }}',
    '{% include "/etc/hostname" %}',
    '{% render "/etc/hostname" %}',
    '{{ ENV.PROPERTY_TEST_SECRET }}',
  ];
  const s: Summary = {
    name: 'n',
    namespace: 'ns',
    invoker: { apiGroup: 'g', kind: 'k', name: 'i' },
    target: { apiVersion: 'v', kind: 'k', name: 't', namespace: 'ns' },
    status: { phase: 'Succeeded', duration: '1s', error: '' },
    retryLeft: 0,
  };
  for (const src of probe) {
    let out = '';
    try {
      out = renderTemplate(src, 'body', s);
    } catch (err) {
      assert.is((err as Error).name, 'TemplateError', src);
      out = (err as Error).message;
    }
    assert.not.ok(out.includes('env-secret-3f9a'), src);
  }
});

test.run();
