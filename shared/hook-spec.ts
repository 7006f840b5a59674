/**
 * Hook spec validation: one pass over a Handler (with our additions and `executionPolicy`) that
 * returns every problem as `path: message`, so a user fixes all of them at once. The same checks
 * run in the worker before a hook runs (a bad hook fails with these messages in its condition);
 * the CRD schemas in k8s-manifests/ reject what a schema can at admission.
 */
import { isIP } from 'node:net';
import type { HookName, HookScope } from './conditions.js';
import { parseDuration } from './duration.js';
import { ExecutionOrder, ExecutionPolicy, ExecutorStrategy } from './resources.js';

/** Reports a template problem (syntax) in `source`, or undefined; supplied by shared/template.ts. */
export type TemplateChecker = (source: string, field: string) => string | undefined;

export interface ValidateHandlerOptions {
  hook: HookName;
  scope?: HookScope;
  /** Checks templated fields (exec.command[], path, body, header and form values) when given. */
  checkTemplate?: TemplateChecker;
}

const HANDLER_FIELDS = [
  'exec',
  'httpGet',
  'httpPost',
  'tcpSocket',
  'containerName',
  'timeoutSeconds',
  'maxRetry',
  'retryDelaySeconds',
  'insecureSkipTLSVerify',
  'executor',
  'executionPolicy',
] as const;
const ACTIONS = ['exec', 'httpGet', 'httpPost', 'tcpSocket'] as const;
const HTTP_GET_FIELDS = ['host', 'port', 'path', 'scheme', 'httpHeaders'];
const HTTP_POST_FIELDS = [...HTTP_GET_FIELDS, 'body', 'form'];
const TCP_FIELDS = ['host', 'port'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Headers a hook may not set (DESIGN §11 "Network guard"): `Host` steers a request to another
 * virtual host than its URL names (past a proxy's or an ingress's checks), `X-Forwarded-*` and
 * `Forwarded` forge the client's address, and `Metadata-Flavor` (GCP), `Metadata` (Azure) and
 * `X-Google-Metadata-Request` are what a cloud metadata service requires before it answers.
 */
const REFUSED_HEADER = /^(host|forwarded|metadata|metadata-flavor|x-google-metadata-request|x-forwarded-.*)$/i;
/** A label-selector string: comma-separated requirements (loose; the API server is the judge). */
const SELECTOR =
  /^\s*!?[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*|\s+(in|notin)\s+\([^)]*\))?\s*(,\s*!?[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*|\s+(in|notin)\s+\([^)]*\))?\s*)*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const quote = (v: unknown) => JSON.stringify(v);

/** Kubernetes `IsValidPortName` (IANA_SVC_NAME): 1-15 of [a-z0-9-], a letter, no `--`, no edge `-`. */
export function isIanaPortName(name: string): boolean {
  return name.length >= 1 && name.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

/** 1-65535 as an integer or, as Stash accepts it (kmodules/prober `extractPort` falls back to `strconv.Atoi`), a decimal string. */
function isPortNumber(port: unknown): boolean {
  if (typeof port === 'string') return /^[1-9][0-9]{0,4}$/.test(port) && Number(port) <= 65535;
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

function checkPort(port: unknown, path: string, out: string[]): void {
  if (port === undefined || port === null || port === '') {
    out.push(`${path}: required (1-65535 or an IANA port name)`);
    return;
  }
  const ok = isPortNumber(port) || (typeof port === 'string' && isIanaPortName(port));
  if (!ok) out.push(`${path}: must be 1-65535 or an IANA port name`);
}

function checkHost(host: unknown, path: string, out: string[]): void {
  if (host === undefined) return;
  if (typeof host !== 'string') out.push(`${path}: must be a string`);
  else if (host.includes('://') || host.includes('/'))
    out.push(`${path}: ${quote(host)} must be a host name or IP address without scheme or path (use scheme and path)`);
  else if (host !== '' && isIP(host.replace(/^\[|\]$/g, '')) === 0 && !HOST_NAME.test(host))
    out.push(`${path}: ${quote(host)} is not a host name or IP address`);
}

function checkUnknown(obj: Record<string, unknown>, known: readonly string[], path: string, out: string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) out.push(`${path}.${k}: unknown field; expected one of ${known.join(', ')}`);
  }
}

function checkInt(v: unknown, min: number, max: number, path: string, out: string[]): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) out.push(`${path}: must be an integer ${min}-${max}`);
}

function checkTemplated(v: unknown, path: string, field: string, out: string[], opts: ValidateHandlerOptions): void {
  if (typeof v !== 'string') {
    out.push(`${path}: must be a string`);
    return;
  }
  const problem = opts.checkTemplate?.(v, field);
  if (problem) out.push(`${path}: ${problem}`);
}

function checkHttp(action: 'httpGet' | 'httpPost', spec: unknown, path: string, out: string[], opts: ValidateHandlerOptions): void {
  if (!isObject(spec)) {
    out.push(`${path}: must be an object`);
    return;
  }
  checkUnknown(spec, action === 'httpGet' ? HTTP_GET_FIELDS : HTTP_POST_FIELDS, path, out);
  checkHost(spec.host, `${path}.host`, out);
  checkPort(spec.port, `${path}.port`, out);
  if (spec.path !== undefined) checkTemplated(spec.path, `${path}.path`, `${action}.path`, out, opts);
  // Stash lower-cases the scheme (kmodules/prober `executeHttpGet`), so `http`/`https` in any case work.
  if (spec.scheme !== undefined && spec.scheme !== '' && (typeof spec.scheme !== 'string' || !/^https?$/i.test(spec.scheme))) {
    out.push(`${path}.scheme: ${quote(spec.scheme)} is not one of HTTP, HTTPS`);
  }
  if (spec.httpHeaders !== undefined) {
    if (!Array.isArray(spec.httpHeaders)) out.push(`${path}.httpHeaders: must be a list of {name, value} or {name, valueFrom}`);
    else spec.httpHeaders.forEach((h, i) => checkHeader(h, `${path}.httpHeaders[${i}]`, `${action}.httpHeaders[${i}].value`, out, opts));
  }
  if (action === 'httpPost') {
    if (spec.body !== undefined) checkTemplated(spec.body, `${path}.body`, 'httpPost.body', out, opts);
    if (spec.form !== undefined) {
      if (!Array.isArray(spec.form)) out.push(`${path}.form: must be a list of {key, values}`);
      else spec.form.forEach((f, i) => checkFormEntry(f, `${path}.form[${i}]`, out, opts));
    }
  }
}

function checkHeader(h: unknown, path: string, field: string, out: string[], opts: ValidateHandlerOptions): void {
  if (!isObject(h)) {
    out.push(`${path}: must be an object with name and value (or valueFrom)`);
    return;
  }
  checkUnknown(h, ['name', 'value', 'valueFrom'], path, out);
  if (typeof h.name !== 'string' || h.name === '') out.push(`${path}.name: required`);
  else if (!HEADER_NAME.test(h.name)) out.push(`${path}.name: ${quote(h.name)} is not a valid HTTP header name`);
  else if (REFUSED_HEADER.test(h.name)) {
    out.push(
      `${path}.name: ${quote(h.name)} may not be set by a hook (Host, Forwarded, X-Forwarded-*, Metadata-Flavor and Metadata are refused: they steer requests past the network guard)`,
    );
  }
  if (h.value !== undefined && h.valueFrom !== undefined) out.push(`${path}: set value or valueFrom, not both`);
  else if (h.value === undefined && h.valueFrom === undefined) out.push(`${path}: set value or valueFrom.secretKeyRef`);
  if (h.value !== undefined) checkTemplated(h.value, `${path}.value`, field, out, opts);
  if (h.valueFrom !== undefined) {
    const ref = isObject(h.valueFrom) ? h.valueFrom.secretKeyRef : undefined;
    if (!isObject(h.valueFrom) || !isObject(ref)) out.push(`${path}.valueFrom: must be {secretKeyRef: {name, key}}`);
    else {
      checkUnknown(h.valueFrom, ['secretKeyRef'], `${path}.valueFrom`, out);
      // A Secret is read only from the session's namespace (DESIGN §11): a namespace here must not look honoured.
      if ('namespace' in ref) out.push(`${path}.valueFrom.secretKeyRef.namespace: not allowed; a hook reads Secrets only from its session's namespace`);
      const { namespace: _named, ...rest } = ref;
      checkUnknown(rest, ['name', 'key'], `${path}.valueFrom.secretKeyRef`, out);
      if (typeof ref.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(ref.name))
        out.push(`${path}.valueFrom.secretKeyRef.name: required, a Secret name`);
      if (typeof ref.key !== 'string' || !/^[-._a-zA-Z0-9]+$/.test(ref.key)) out.push(`${path}.valueFrom.secretKeyRef.key: required, a key of the Secret`);
    }
  }
}

function checkFormEntry(f: unknown, path: string, out: string[], opts: ValidateHandlerOptions): void {
  if (!isObject(f)) {
    out.push(`${path}: must be an object with key and values`);
    return;
  }
  checkUnknown(f, ['key', 'values'], path, out);
  if (typeof f.key !== 'string' || f.key === '') out.push(`${path}.key: required`);
  if (!Array.isArray(f.values)) out.push(`${path}.values: must be a list of strings`);
  else f.values.forEach((v, i) => checkTemplated(v, `${path}.values[${i}]`, `httpPost.form.${String(f.key)}`, out, opts));
}

function checkExec(spec: unknown, path: string, out: string[], opts: ValidateHandlerOptions): void {
  if (!isObject(spec)) {
    out.push(`${path}: must be an object with command`);
    return;
  }
  checkUnknown(spec, ['command'], path, out);
  if (!Array.isArray(spec.command) || spec.command.length === 0) {
    out.push(`${path}.command: must be a non-empty list of strings`);
    return;
  }
  spec.command.forEach((c, i) => checkTemplated(c, `${path}.command[${i}]`, `exec.command[${i}]`, out, opts));
  if (spec.command[0] === '') out.push(`${path}.command[0]: the program must not be empty`);
}

function checkTcp(spec: unknown, path: string, out: string[]): void {
  if (!isObject(spec)) {
    out.push(`${path}: must be an object with host and port`);
    return;
  }
  checkUnknown(spec, TCP_FIELDS, path, out);
  checkHost(spec.host, `${path}.host`, out);
  checkPort(spec.port, `${path}.port`, out);
}

function checkExecutor(spec: unknown, path: string, out: string[]): void {
  if (!isObject(spec)) {
    out.push(`${path}: must be an object with pod`);
    return;
  }
  checkUnknown(spec, ['pod'], path, out);
  const pod = spec.pod;
  if (!isObject(pod)) {
    out.push(`${path}.pod: required, {selector, strategy, namespace}`);
    return;
  }
  checkUnknown(pod, ['namespace', 'selector', 'strategy'], `${path}.pod`, out);
  if (typeof pod.selector !== 'string' || pod.selector.trim() === '') out.push(`${path}.pod.selector: required, a label selector such as app=mysql`);
  else if (!SELECTOR.test(pod.selector)) out.push(`${path}.pod.selector: ${quote(pod.selector)} is not a label selector`);
  const strategies = Object.values(ExecutorStrategy) as string[];
  if (pod.strategy !== undefined && !strategies.includes(pod.strategy as string)) {
    out.push(`${path}.pod.strategy: ${quote(pod.strategy)} is not one of ${strategies.join(', ')}`);
  }
  if (pod.namespace !== undefined && (typeof pod.namespace !== 'string' || !DNS_LABEL.test(pod.namespace))) {
    out.push(`${path}.pod.namespace: ${quote(pod.namespace)} is not a namespace name`);
  }
}

/** Every problem of one hook, as `path: message`; empty when it is valid. */
export function validateHandler(handler: unknown, path: string, opts: ValidateHandlerOptions): string[] {
  const out: string[] = [];
  if (!isObject(handler)) {
    out.push(`${path}: must be an object with one of exec, httpGet, httpPost or tcpSocket`);
    return out;
  }
  checkUnknown(handler, HANDLER_FIELDS, path, out);
  const actions = ACTIONS.filter((a) => handler[a] !== undefined && handler[a] !== null);
  if (actions.length === 0) out.push(`${path}: no action set (exec, httpGet, httpPost or tcpSocket)`);
  if (handler.exec != null) checkExec(handler.exec, `${path}.exec`, out, opts);
  if (handler.httpGet != null) checkHttp('httpGet', handler.httpGet, `${path}.httpGet`, out, opts);
  if (handler.httpPost != null) checkHttp('httpPost', handler.httpPost, `${path}.httpPost`, out, opts);
  if (handler.tcpSocket != null) checkTcp(handler.tcpSocket, `${path}.tcpSocket`, out);

  if (handler.containerName !== undefined && (typeof handler.containerName !== 'string' || !DNS_LABEL.test(handler.containerName))) {
    out.push(`${path}.containerName: ${quote(handler.containerName)} is not a container name (a DNS label)`);
  }
  checkInt(handler.timeoutSeconds, 1, 86400, `${path}.timeoutSeconds`, out);
  checkInt(handler.maxRetry, 0, 100, `${path}.maxRetry`, out);
  checkInt(handler.retryDelaySeconds, 0, 3600, `${path}.retryDelaySeconds`, out);
  if (handler.insecureSkipTLSVerify !== undefined && typeof handler.insecureSkipTLSVerify !== 'boolean') {
    out.push(`${path}.insecureSkipTLSVerify: must be true or false`);
  }
  if (handler.executor !== undefined) checkExecutor(handler.executor, `${path}.executor`, out);

  const post = opts.hook === 'postBackup' || opts.hook === 'postRestore';
  if (handler.executionPolicy !== undefined) {
    const allowed = Object.values(ExecutionPolicy).filter((p) => opts.hook === 'postBackup' || p !== 'OnFinalRetryFailure');
    if (!post) out.push(`${path}.executionPolicy: only postBackup and postRestore hooks have an executionPolicy`);
    else if (!(allowed as string[]).includes(handler.executionPolicy as string)) {
      out.push(`${path}.executionPolicy: ${quote(handler.executionPolicy)} is not one of ${allowed.join(', ')}`);
    }
  }

  if (opts.scope === 'global' && !isObject(handler.executor)) {
    if (handler.exec != null) out.push(`${path}.exec: a global hook runs in no target's pods; set executor.pod to choose them`);
    for (const a of ['httpGet', 'httpPost', 'tcpSocket'] as const) {
      const spec = handler[a];
      if (isObject(spec) && (spec.host === undefined || spec.host === '')) out.push(`${path}.${a}.host: a global hook needs host (or executor.pod)`);
    }
  }
  return out;
}

const BACKUP_HOOKS: readonly HookName[] = ['preBackup', 'postBackup'];
const RESTORE_HOOKS: readonly HookName[] = ['preRestore', 'postRestore'];

/** Validates a `hooks` block (`{preBackup, postBackup}` or `{preRestore, postRestore}`). */
export function validateHooks(
  hooks: unknown,
  path: string,
  kind: 'backup' | 'restore',
  opts: { scope?: HookScope; checkTemplate?: TemplateChecker } = {},
): string[] {
  if (hooks === undefined || hooks === null) return [];
  if (!isObject(hooks)) return [`${path}: must be an object`];
  const names = kind === 'backup' ? BACKUP_HOOKS : RESTORE_HOOKS;
  const out: string[] = [];
  checkUnknown(hooks, names, path, out);
  for (const name of names) {
    if (hooks[name] !== undefined && hooks[name] !== null) {
      out.push(...validateHandler(hooks[name], `${path}.${name}`, { hook: name, scope: opts.scope, checkTemplate: opts.checkTemplate }));
    }
  }
  return out;
}

function checkTargetRef(target: unknown, path: string, out: string[]): void {
  const ref = isObject(target) ? target.ref : undefined;
  if (!isObject(ref)) {
    out.push(`${path}.ref: required, {apiVersion, kind, name}`);
    return;
  }
  if (typeof ref.kind !== 'string' || ref.kind === '') out.push(`${path}.ref.kind: required`);
  if (typeof ref.name !== 'string' || ref.name === '') out.push(`${path}.ref.name: required`);
}

function checkTimeOut(v: unknown, path: string, out: string[]): void {
  if (v === undefined) return;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined || ms <= 0) out.push(`${path}: ${quote(v)} is not a duration such as 30m, 2h or 1h30m`);
}

/**
 * Validates the hook-related parts of an invoker (BackupConfiguration, BackupBatch) or a
 * RestoreSession: targets, hooks, `timeOut`, `executionOrder`. Paths start at `spec`.
 */
export function validateInvoker(obj: unknown, opts: { checkTemplate?: TemplateChecker } = {}): string[] {
  if (!isObject(obj)) return ['object: must be a Kubernetes object'];
  const kind = obj.kind;
  const spec = obj.spec;
  if (!isObject(spec)) return ['spec: required'];
  const out: string[] = [];
  checkTimeOut(spec.timeOut, 'spec.timeOut', out);
  if (kind === 'BackupConfiguration') {
    checkTargetRef(spec.target, 'spec.target', out);
    out.push(...validateHooks(spec.hooks, 'spec.hooks', 'backup', opts));
  } else if (kind === 'BackupBatch') {
    const orders = Object.values(ExecutionOrder) as string[];
    if (spec.executionOrder !== undefined && !orders.includes(spec.executionOrder as string)) {
      out.push(`spec.executionOrder: ${quote(spec.executionOrder)} is not one of ${orders.join(', ')}`);
    }
    if (!Array.isArray(spec.members) || spec.members.length === 0) out.push('spec.members: must list at least one member');
    else {
      spec.members.forEach((m, i) => {
        if (!isObject(m)) return out.push(`spec.members[${i}]: must be an object`);
        checkTargetRef(m.target, `spec.members[${i}].target`, out);
        out.push(...validateHooks(m.hooks, `spec.members[${i}].hooks`, 'backup', opts));
      });
    }
    out.push(...validateHooks(spec.hooks, 'spec.hooks', 'backup', { ...opts, scope: 'global' }));
  } else if (kind === 'RestoreSession') {
    checkTargetRef(spec.target, 'spec.target', out);
    out.push(...validateHooks(spec.hooks, 'spec.hooks', 'restore', opts));
  } else {
    out.push(`kind: ${quote(kind)} is not one of BackupConfiguration, BackupBatch, RestoreSession`);
  }
  return out;
}
