// shared/template.ts: both dialects (Go and Liquid), names, strictness, sandbox, checkTemplate,
// and the seed's Slack example in each dialect rendering the JSON Stash's Go template renders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkTemplate, renderTemplate, rewriteLeadingDots } from '../../shared/template.js';
import { SEED_SUMMARY, SLACK_LIQUID_TEMPLATE } from '../fixtures/execution/seed-summary.js';

const render = (src: string, s = SEED_SUMMARY) => renderTemplate(src, 'httpPost.body', s);
function templateError(src: string): string {
  try {
    render(src);
  } catch (err) {
    assert.is((err as { code: string }).code, 'ERR_TEMPLATE');
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(src)} to fail`);
}

test('Go names and JSON names render the same summary', () => {
  const go =
    '{{ Name }}|{{ Namespace }}|{{ Invoker.APIGroup }}|{{ Invoker.Kind }}|{{ Invoker.Name }}|{{ Target.APIVersion }}|{{ Target.Kind }}|{{ Target.Name }}|{{ Target.Namespace }}|{{ Status.Phase }}|{{ Status.Duration }}|{{ Status.Error }}|{{ RetryLeft }}';
  const json =
    '{{ name }}|{{ namespace }}|{{ invoker.apiGroup }}|{{ invoker.kind }}|{{ invoker.name }}|{{ target.apiVersion }}|{{ target.kind }}|{{ target.name }}|{{ target.namespace }}|{{ status.phase }}|{{ status.duration }}|{{ status.error }}|{{ retryLeft }}';
  const expected =
    'deployment-backup-1646741400|demo|stash.appscode.com|BackupConfiguration|deployment-backup|apps/v1|Deployment|stash-demo|demo|Failed|10s|failed to backup host-0. Reason: path not found|0';
  assert.is(render(go), expected);
  assert.is(render(json), expected);
});

test("Stash's leading dot is accepted in output and tags, with and without trim markers", () => {
  assert.is(render('{{ .Status.Phase }}'), 'Failed');
  assert.is(render('{{.Name}}'), 'deployment-backup-1646741400');
  assert.is(render('a {{- .Namespace -}} b'), 'ademob');
  assert.is(render('{% if .Status.Phase == "Failed" %}bad{% else %}good{% endif %}'), 'bad');
  assert.is(render('{{ .Target.Name | upcase }}'), 'STASH-DEMO');
  assert.is(render('{{ "a" | append: .Namespace }}'), 'ademo');
});

test('the dot rewrite leaves strings, member access and text alone', () => {
  assert.is(rewriteLeadingDots('x .Y {{ "a .B" }} {{ a.b }} {{ .C }} {% if .D %}'), 'x .Y {{ "a .B" }} {{ a.b }} {{ C }} {% if D %}');
  assert.is(render('text .Name stays {{ ".Name" }}'), 'text .Name stays .Name');
});

test('rendered output is trimmed; a string that is not a template passes as written, untrimmed', () => {
  assert.is(render('\n  {{ .Name }}  \n'), 'deployment-backup-1646741400');
  assert.is(render('\n  {{ name }}  \n'), 'deployment-backup-1646741400');
  assert.is(render('  no tags here  '), '  no tags here  ');
  // `{%s}` is a printf verb, not a Liquid tag: the command runs as written.
  assert.is(render("printf '{%s}\\n' x "), "printf '{%s}\\n' x ");
});

test("toJson is Go's encoding/json in the Go dialect; the Liquid toJson and json filters produce JSON strings", () => {
  const tricky = { ...SEED_SUMMARY, status: { ...SEED_SUMMARY.status, error: 'say "hi"\\n\nnext <&>' } };
  // A leading-dot path piped to a Go function is Go: HTML characters escaped as Go does.
  assert.is(render('{{ .Status.Error | toJson }}', tricky), '"say \\"hi\\"\\\\n\\nnext \\u003c\\u0026\\u003e"');
  assert.is(render('{{ Status.Error | toJson }}', tricky), JSON.stringify('say "hi"\\n\nnext <&>'));
  assert.is(render('{{ status.error | json }}', tricky), JSON.stringify('say "hi"\\n\nnext <&>'));
  assert.equal(JSON.parse(render('{{ invoker | json }}')), SEED_SUMMARY.invoker);
});

test('errors name the field, the line and the variable', () => {
  assert.is(templateError('line one\nline two\n{{ Status.Eror }}'), 'template error in httpPost.body, line 3: unknown variable Status.Eror');
  assert.is(
    templateError('line one\nline two\n{{ .Status.Eror }}'),
    "template error in httpPost.body, line 3, col 4: can't evaluate field Eror in type v1beta1.TargetStatus at <.Status.Eror> (did you mean Error?)",
  );
  assert.is(templateError('{{ toJson $msg }}'), 'template error in httpPost.body, line 1, col 11: undefined variable "$msg"');
  assert.is(templateError('{{ printf "%s" .Name | shout }}'), 'template error in httpPost.body, line 1: unknown filter shout');
  assert.is(templateError('{{ .Name | nope }}'), 'template error in httpPost.body, line 1: unknown filter nope');
  assert.is(templateError('{{ $x := 1 }}\n{{ frobnicate $x }}'), 'template error in httpPost.body, line 2, col 4: function "frobnicate" not defined');
  assert.is(
    templateError('{{ Target.ApiVersion }}'),
    'template error in httpPost.body, line 1: unknown variable Target.ApiVersion (did you mean Target.APIVersion?)',
  );
  assert.is(templateError('{{ status.Phase }}'), 'template error in httpPost.body, line 1: unknown variable status.Phase (did you mean status.phase?)');
  assert.is(templateError('{{ Name | shout }}'), 'template error in httpPost.body, line 1: unknown filter shout');
  assert.is(templateError('ok\n{{ Name '), 'template error in httpPost.body, line 2: output "{{ Name " not closed');
  assert.is(templateError('{% if Name %}'), 'template error in httpPost.body, line 1: tag {% if Name %} not closed');
});

test('no file system, includes or environment are reachable', () => {
  assert.is(templateError('{% include "secrets.txt" %}'), 'template error in httpPost.body, line 1: tag include is not allowed (templates cannot read files)');
  assert.is(templateError('{% render "x" %}'), 'template error in httpPost.body, line 1: tag render is not allowed (templates cannot read files)');
  assert.is(templateError('{% layout "x" %}'), 'template error in httpPost.body, line 1: tag layout is not allowed (templates cannot read files)');
  assert.is(templateError('{{ process.env.HOME }}'), 'template error in httpPost.body, line 1: unknown variable process');
  assert.is(templateError('{{ env.PATH }}'), 'template error in httpPost.body, line 1: unknown variable env');
  assert.is(templateError('{{ Name.constructor }}'), 'template error in httpPost.body, line 1: unknown variable Name.constructor');
  assert.is(templateError('{{ status.__proto__ }}'), 'template error in httpPost.body, line 1: unknown variable status.__proto__');
  assert.match(templateError('{% for i in (1..100000000) %}{{ i }}{% endfor %}'), /^template error in httpPost\.body, line 1: template too expensive/);
});

test('checkTemplate reports syntax and unknown variables without rendering', () => {
  assert.is(checkTemplate('{{ .Status.Error }} {{ name | upcase }}', 'httpPost.body'), undefined);
  assert.is(checkTemplate('no template', 'exec.command[0]'), undefined);
  assert.is(checkTemplate('{% assign m = Status.Phase %}{{ m }}{{ Status.Error.size }}', 'f'), undefined);
  assert.is(checkTemplate('a\n\n{{ Status.Eror }}', 'httpPost.body'), 'template error in httpPost.body, line 3: unknown variable Status.Eror');
  assert.is(
    checkTemplate('a\n\n{{ .Status.Eror }}', 'httpPost.body'),
    "template error in httpPost.body, line 3, col 4: can't evaluate field Eror in type v1beta1.TargetStatus at <.Status.Eror> (did you mean Error?)",
  );
  assert.is(
    checkTemplate('{{ if .Target.ApiVersion }}x{{ end }}', 'f'),
    "template error in f, line 1, col 7: can't evaluate field ApiVersion in type v1beta1.TargetRef at <.Target.ApiVersion> (did you mean APIVersion?)",
  );
  assert.is(checkTemplate('{{ nope 1 }}', 'f'), 'template error in f, line 1, col 4: function "nope" not defined');
  assert.is(checkTemplate('{{ index (list) 3 }}', 'f'), undefined, 'value-dependent failures are left to run time');
  assert.is(checkTemplate('{{ Name | nope }}', 'httpGet.path'), 'template error in httpGet.path, line 1: unknown filter nope');
  assert.is(checkTemplate('{{ Name', 'exec.command[1]'), 'template error in exec.command[1], line 1: output "{{ Name" not closed');
  assert.is(checkTemplate('{% include "x" %}', 'f'), 'template error in f, line 1: tag include is not allowed (templates cannot read files)');
  assert.is(checkTemplate('{{ Invoker.apiGroup }}', 'f'), 'template error in f, line 1: unknown variable Invoker.apiGroup (did you mean Invoker.APIGroup?)');
});

// What Stash's Go template (seed doc) produces for the seed summary, written out by hand from Go's
// semantics: `{{-`/`-}}` trim the first line away; Sprig `dict` is a map[string]interface{};
// `toJson` is encoding/json.Marshal, which sorts map keys and escapes <, > and & as \u003c etc.
const GO_OUTPUT_FOR_SEED = `{
  "blocks": [
      {
        "type": "section",
        "text": {"text":":x: Backup failed for demo/stash-demo Reason: failed to backup host-0. Reason: path not found.","type":"mrkdwn"}
      }
    ]
}
`;

test("the seed's Slack message in Liquid renders the JSON Stash's Go template produces", () => {
  const liquid = render(SLACK_LIQUID_TEMPLATE);
  assert.equal(JSON.parse(liquid), JSON.parse(GO_OUTPUT_FOR_SEED));
  assert.equal(JSON.parse(liquid).blocks[0].text, {
    type: 'mrkdwn',
    text: ':x: Backup failed for demo/stash-demo Reason: failed to backup host-0. Reason: path not found.',
  });
});

test('the Slack equivalence holds for errors that need JSON escaping', () => {
  const s = { ...SEED_SUMMARY, status: { ...SEED_SUMMARY.status, error: 'pg_dump: "x" <failed> & quit\n\tat line 2 \\ é' } };
  // Go: json.Marshal escapes " \\ \n \t and HTML-escapes < > & as \u003c \u003e \u0026; é stays UTF-8.
  const go = `{
  "blocks": [
      {
        "type": "section",
        "text": {"text":":x: Backup failed for demo/stash-demo Reason: pg_dump: \\"x\\" \\u003cfailed\\u003e \\u0026 quit\\n\\tat line 2 \\\\ é.","type":"mrkdwn"}
      }
    ]
}`;
  assert.equal(JSON.parse(render(SLACK_LIQUID_TEMPLATE, s)), JSON.parse(go));
});

test.run();
