// The two dialects as a hook field meets them through shared/template.ts: which dialect a string
// is, the Go dialect rendered through the liquidjs engine (with Stash's Slack examples), the
// shell_quote filter / shellQuote function run through a real /bin/sh, and the caps on size and work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { checkTemplate, detectDialect, renderTemplate, MAX_TEMPLATE_BYTES } from '../../shared/template.js';
import { SEED_SLACK_GO_TEMPLATE, SEED_SUMMARY, SLACK_LIQUID_TEMPLATE } from '../fixtures/execution/seed-summary.js';
import type { Summary } from '../../shared/summary.js';

const render = (src: string, s: Summary = SEED_SUMMARY) => renderTemplate(src, 'exec.command[2]', s, { nowMs: Date.UTC(2022, 2, 8, 12, 10, 10) });
function templateError(src: string): string {
  try {
    render(src);
  } catch (err) {
    assert.is((err as { code: string }).code, 'ERR_TEMPLATE');
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(src)} to fail`);
}

test('dialect: Go syntax is Go, Liquid tags and filters are Liquid, the rest is plain text', () => {
  const cases: Array<[string, string]> = [
    ['{{ .Status.Phase }}', 'go'],
    ['{{- $msg := dict "a" 1 -}}{{ toJson $msg }}', 'go'],
    ['{{ if eq .Status.Phase "Failed" }}x{{ end }}', 'go'],
    ['{{ printf "%s" .Name }}', 'go'],
    ['{{ toJson .Status }}', 'go'],
    ['{{/* note */}}', 'go'],
    ['{{ (.Target).Name }}', 'go'],
    ['{{ .Name | upper }}', 'go'],
    ['{{ nosuch .Name }}', 'go'],
    ['{{ status.phase }}', 'liquid'],
    ['{{ Status.Error | toJson }}', 'liquid'],
    ['{{ .Target.Name | upcase }}', 'liquid'],
    ['{{ "a" | append: .Namespace }}', 'liquid'],
    ['{% if status.phase == "Failed" %}x{% endif %}', 'liquid'],
    ['{%- capture t -%}{{ .Name }}{%- endcapture -%}{{ t }}', 'liquid'],
    ["printf '{%s}\\n' x", 'text'],
    ['{"a": {"b": 1}}', 'text'],
    ['mysql -e "SET GLOBAL super_read_only = ON;"', 'text'],
    ['100% {% not a tag', 'text'],
    ['{{ .Namespace }}/{{ target.name }}', 'liquid'],
  ];
  for (const [src, want] of cases) assert.is(detectDialect(src), want, src);
});

test("Stash's Slack examples render through the one liquidjs engine, byte-exact with Go (then trimmed)", () => {
  const go = render(SEED_SLACK_GO_TEMPLATE);
  assert.is(
    go,
    '{\n  "blocks": [\n      {\n        "type": "section",\n        "text": {"text":":x: Backup failed for demo/stash-demo Reason: failed to backup host-0. Reason: path not found.","type":"mrkdwn"}\n      }\n    ]\n}',
  );
  // The Liquid version of the same message carries the same JSON.
  assert.equal(JSON.parse(render(SLACK_LIQUID_TEMPLATE)), JSON.parse(go));
  const restore =
    '{{if eq .Status.Phase `Succeeded`}}:white_check_mark: Restore succeeded for {{ .Namespace }}/{{.Target.Name}}{{else}}:x: Restore failed for {{ .Namespace }}/{{.Target.Name}} Reason: {{.Status.Error}}.{{end}}';
  assert.is(
    render(restore, { ...SEED_SUMMARY, status: { phase: 'Succeeded', duration: '3s', error: '' } }),
    ':white_check_mark: Restore succeeded for demo/stash-demo',
  );
});

test('Go-dialect errors name the field, the position and the culprit', () => {
  assert.is(
    templateError('{{ toJson .Name }}\n  {{ frobnicate .Name }}'),
    'template error in exec.command[2], line 2, col 6: function "frobnicate" not defined',
  );
  assert.is(
    templateError('{{ .Status.phase }}'),
    "template error in exec.command[2], line 1, col 4: can't evaluate field phase in type v1beta1.TargetStatus at <.Status.phase> (did you mean Phase?)",
  );
  assert.is(templateError('{{ index (list 1) 3 }}'), 'template error in exec.command[2], line 1, col 4: error calling index: index out of range: 3 at <index>');
  assert.is(templateError('{{ if .Name }}x'), 'template error in exec.command[2], line 1, col 16: unexpected EOF');
  assert.is(templateError('{{ call .Name }}'), 'template error in exec.command[2], line 1, col 4: error calling call: non-function of type string at <call>');
});

test('shell_quote (Liquid) and shellQuote (Go) make any value one word for sh -c', () => {
  const hostile = `x'; touch /tmp/pwned-${process.pid}; echo '$(id) \`id\` "q" \\ \n ${'$'}HOME`;
  const s: Summary = { ...SEED_SUMMARY, status: { ...SEED_SUMMARY.status, error: hostile } };
  const liquid = render('printf %s {{ status.error | shell_quote }}', s);
  const go = render('printf %s {{ shellQuote .Status.Error }}', s);
  assert.is(go, liquid);
  // A real shell prints the value back, unchanged, and runs nothing else.
  assert.is(execFileSync('/bin/sh', ['-c', go], { encoding: 'utf8' }), hostile);
  assert.is(render('{{ "it\'s" | shellQuote }}'), `'it'\\''s'`);
  assert.is(render('{{ "" | shell_quote }}'), "''");
});

test('a template over 64 KiB fails, naming the limit, before it is parsed; so does its check', () => {
  const big = `{{ .Name }}${'x'.repeat(MAX_TEMPLATE_BYTES)}`;
  const msg = `template error in exec.command[2]: the template is ${MAX_TEMPLATE_BYTES + 11} bytes, over the limit of 65536 bytes (64 KiB)`;
  assert.is(templateError(big), msg);
  assert.is(checkTemplate(big, 'exec.command[2]'), msg);
  // Plain text is held to the same cap: a field is bounded whatever it holds.
  assert.match(templateError('y'.repeat(MAX_TEMPLATE_BYTES + 1)), /over the limit of 65536 bytes/);
  assert.is(render(`{{ .Namespace }}${'z'.repeat(MAX_TEMPLATE_BYTES - 20)}`).length, 4 + MAX_TEMPLATE_BYTES - 20);
});

test('a template that would run away stops with "template too expensive"', () => {
  const letters = `{{ $l := splitList "" "${'x'.repeat(2000)}" }}`;
  assert.match(
    templateError(`${letters}{{ range $l }}{{ range $l }}.{{ end }}{{ end }}`),
    /^template error in exec\.command\[2\]: template too expensive \(more than \d+ evaluation steps\)$/,
  );
  assert.match(templateError(`{{ ${'('.repeat(600)}1${')'.repeat(600)} }}`), /template nested too deeply/);
});

test('limits are per render: the shared engine never runs out after many templates', () => {
  const liquid = `{{ name }}${' '.repeat(4000)}`;
  for (let i = 0; i < 400; i++) assert.is(render(liquid), 'deployment-backup-1646741400'); // 1.6 MB parsed in all, over the 1 MB parse limit
  assert.is(render('{% for i in (1..500) %}.{% endfor %}').length, 500);
});

test('the Go dialect reads nothing but the summary', () => {
  process.env.GO_TEMPLATE_TEST_SECRET = 'env-secret-7c1e';
  for (const src of [
    '{{ env "GO_TEMPLATE_TEST_SECRET" }}',
    '{{ expandenv "$GO_TEMPLATE_TEST_SECRET" }}',
    '{{ template "x" }}',
    '{{ .Environ }}',
    '{{ $.constructor }}',
  ]) {
    assert.not.match(templateError(src), /env-secret-7c1e/);
  }
});

test.run();
