/**
 * Renders the templated fields of a Handler (DESIGN §5): each `exec.command` element, `path`,
 * header values, `httpPost.body` and form values. Field names in errors match the validator's
 * (`exec.command[1]`, `httpPost.body`, `httpGet.httpHeaders[0].value`, `httpPost.form.<key>`).
 * Secret header values are not templates and are left alone.
 */
import type { Handler, HTTPGetAction, HTTPPostAction } from '../../shared/resources.js';
import type { Summary } from '../../shared/summary.js';
import { renderTemplate } from '../../shared/template.js';

function renderHttp<T extends HTTPGetAction>(spec: T, action: 'httpGet' | 'httpPost', summary: Summary): T {
  const out: T = { ...spec };
  if (spec.path !== undefined) out.path = renderTemplate(spec.path, `${action}.path`, summary);
  if (spec.httpHeaders) {
    out.httpHeaders = spec.httpHeaders.map((h, i) =>
      h.value !== undefined ? { ...h, value: renderTemplate(h.value, `${action}.httpHeaders[${i}].value`, summary) } : h,
    );
  }
  return out;
}

/** A copy of `handler` with every templated field rendered; throws TemplateError. */
export function renderHandler(handler: Handler, summary: Summary): Handler {
  const out: Handler = { ...handler };
  if (handler.exec) {
    out.exec = { command: handler.exec.command.map((c, i) => renderTemplate(c, `exec.command[${i}]`, summary)) };
  }
  if (handler.httpGet) out.httpGet = renderHttp(handler.httpGet, 'httpGet', summary);
  if (handler.httpPost) {
    const post: HTTPPostAction = renderHttp(handler.httpPost, 'httpPost', summary);
    if (handler.httpPost.body !== undefined) post.body = renderTemplate(handler.httpPost.body, 'httpPost.body', summary);
    if (handler.httpPost.form) {
      post.form = handler.httpPost.form.map((f) => ({
        key: f.key,
        values: (f.values ?? []).map((v) => renderTemplate(v, `httpPost.form.${f.key}`, summary)),
      }));
    }
    out.httpPost = post;
  }
  return out;
}

/** One templated field of a Handler: its name (as in errors) and its source. */
export interface TemplatedField {
  field: string;
  source: string;
}

/** Every field {@link renderHandler} renders, in its order: what the render caps count. */
export function templatedFields(handler: Handler): TemplatedField[] {
  const out: TemplatedField[] = [];
  handler.exec?.command.forEach((c, i) => out.push({ field: `exec.command[${i}]`, source: c }));
  for (const action of ['httpGet', 'httpPost'] as const) {
    const spec: HTTPPostAction | undefined = handler[action];
    if (!spec) continue;
    if (spec.path !== undefined) out.push({ field: `${action}.path`, source: spec.path });
    spec.httpHeaders?.forEach((h, i) => h.value !== undefined && out.push({ field: `${action}.httpHeaders[${i}].value`, source: h.value }));
    if (spec.body !== undefined) out.push({ field: `${action}.body`, source: spec.body });
    spec.form?.forEach((f) => (f.values ?? []).forEach((v) => out.push({ field: `${action}.form.${f.key}`, source: v })));
  }
  return out;
}
