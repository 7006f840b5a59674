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
