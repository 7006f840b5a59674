/**
 * The hook execution engine's entry point: runs one Handler for a resolved context.
 *
 * Order of work: validate (HookSpecError) → render templates (TemplateError) → read every
 * `secretKeyRef` (so each value is known, and redacted, before any action produces output) → for
 * each action present, in Stash's order exec → httpGet → httpPost → tcpSocket: resolve where it
 * runs, confined to the invoker's namespace (NamespaceDeniedError, TargetError), fan out over the
 * hosts (HookFailedError / HookTimeoutError / NetworkDeniedError), and stop at the first failure.
 * API-server trouble surfaces as KubernetesApiError, which the caller retries. Secret values are
 * redacted from every result, message and log line.
 */
import { HookSpecError, type HookAction } from '../../shared/errors.js';
import { validateHandler } from '../../shared/hook-spec.js';
import type { Handler, HTTPPostAction } from '../../shared/resources.js';
import { runExec } from './exec-action.js';
import { fanOut } from './fan-out.js';
import { runHttp } from './http-action.js';
import { NamespaceGuard, placementNamespace } from './namespace-guard.js';
import { NetworkGuard } from './network-guard.js';
import { boundOutputs, redact } from './output.js';
import { renderHandler } from './render-handler.js';
import { resolveHeaders, type ResolvedHeader } from './secret-headers.js';
import { execTargets, networkDestinations, resolvePlacement, type Placement } from './targeting.js';
import { runTcp } from './tcp-action.js';
import type { ActionOptions, ExecutionDeps, HookContext, HookResult, HostResult } from './types.js';

/** Stash's order (`pkg/hooks`: exec, httpGet, httpPost, tcpSocket). */
export const ACTION_ORDER: readonly HookAction[] = ['exec', 'httpGet', 'httpPost', 'tcpSocket'];

const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_MAX_PARALLEL = 10;

/**
 * Runs `handler` for `ctx` and returns what ran where, or throws a typed error from
 * shared/errors.ts. Never hangs: every action is bounded by `timeoutSeconds`.
 */
export async function runHandler(handler: Handler, ctx: HookContext, deps: ExecutionDeps): Promise<HookResult> {
  const started = Date.now();
  const problems = validateHandler(handler, ctx.hookName, { hook: ctx.hookName, scope: ctx.scope });
  if (problems.length > 0) throw new HookSpecError(problems);
  const maxParallel = deps.maxParallel ?? DEFAULT_MAX_PARALLEL;
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new RangeError(`maxParallel must be an integer ≥ 1, got ${maxParallel}`);

  // The worker renders in its render pool (off the event loop, under a budget); alone, in-line.
  const rendered = deps.render ? await deps.render(handler, ctx.summary) : renderHandler(handler, ctx.summary);
  const guard = new NetworkGuard(deps.network);
  const secrets: string[] = [];
  const opts: ActionOptions = {
    timeoutSeconds: handler.timeoutSeconds ?? deps.defaultTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    secrets,
    signal: ctx.signal,
  };
  const confine = new NamespaceGuard(deps.kube, ctx.namespace, deps.protectedNamespaces);
  const headers: Partial<Record<'httpGet' | 'httpPost', ResolvedHeader[]>> = {};
  for (const action of ['httpGet', 'httpPost'] as const) {
    const spec = rendered[action];
    if (spec) headers[action] = await resolveHeaders(spec.httpHeaders, action, ctx.namespace, deps.kube, secrets);
  }
  let placement: Promise<Placement> | undefined;
  const where = () => (placement ??= confinedPlacement(handler, ctx, deps, confine));
  const log = (msg: string, fields: Record<string, unknown>) => deps.log?.('info', redact(msg, secrets), fields);

  const actions: HookAction[] = [];
  const hosts: HostResult[] = [];
  for (const action of ACTION_ORDER) {
    if (!rendered[action]) continue;
    ctx.signal?.throwIfAborted();
    actions.push(action);
    let results: HostResult[];
    try {
      results = await runAction(action, rendered, headers, deps, guard, opts, where, maxParallel);
    } catch (err) {
      // A hook cut short by shutdown is not the hook's failure: hand back the abort reason so it is retried.
      ctx.signal?.throwIfAborted();
      deps.log?.('warn', redact(`hook ${ctx.hookName} ${action} failed: ${(err as Error).message}`, secrets), { action });
      throw err;
    }
    for (const r of results)
      log(`hook ${ctx.hookName} ${action} succeeded`, { action, where: r.where, statusCode: r.statusCode, exitCode: r.exitCode, durationMs: r.durationMs });
    hosts.push(...results);
  }
  return { ok: true, actions, hosts: boundOutputs(hosts), durationMs: Date.now() - started };
}

/**
 * Where the hook runs, never outside the namespaces it may act in: the namespace its fields point
 * at is checked before anything is read there, and every pod chosen is checked again.
 */
async function confinedPlacement(handler: Handler, ctx: HookContext, deps: ExecutionDeps, confine: NamespaceGuard): Promise<Placement> {
  const home = placementNamespace(handler, ctx);
  await confine.check(home.namespace, home.field);
  const placement = await resolvePlacement(handler, ctx, deps.kube);
  const pods = placement.kind === 'pods' ? placement.pods : placement.kind === 'service' ? [placement.pod] : [];
  for (const pod of pods) await confine.check(pod.namespace, `pod ${pod.namespace}/${pod.name}`);
  return placement;
}

async function runAction(
  action: HookAction,
  h: Handler,
  resolvedHeaders: Partial<Record<'httpGet' | 'httpPost', ResolvedHeader[]>>,
  deps: ExecutionDeps,
  guard: NetworkGuard,
  opts: ActionOptions,
  where: () => Promise<Placement>,
  maxParallel: number,
): Promise<HostResult[]> {
  if (action === 'exec') {
    const targets = execTargets(await where(), h.containerName);
    return fanOut('exec', targets, maxParallel, (t) => runExec(deps.kube, t, h.exec!.command, opts));
  }
  if (action === 'tcpSocket') {
    const spec = h.tcpSocket!;
    const placement = needsPlacement(spec) ? await where() : undefined;
    const dests = networkDestinations(spec, placement, h.containerName, 'tcpSocket.port');
    return fanOut('tcpSocket', dests, maxParallel, (d) => runTcp(d.host, d.port, guard, opts));
  }
  const spec: HTTPPostAction = action === 'httpGet' ? h.httpGet! : h.httpPost!;
  const headers = [...(resolvedHeaders[action] ?? [])];
  if (deps.userAgent && !headers.some((hd) => hd.name.toLowerCase() === 'user-agent')) headers.push({ name: 'User-Agent', value: deps.userAgent });
  const placement = needsPlacement(spec) ? await where() : undefined;
  const dests = networkDestinations(spec, placement, h.containerName, `${action}.port`);
  return fanOut(action, dests, maxParallel, (d) =>
    runHttp(
      {
        action,
        host: d.host,
        port: d.port,
        scheme: spec.scheme,
        path: spec.path,
        headers,
        body: spec.body,
        form: spec.form,
        insecureSkipTLSVerify: h.insecureSkipTLSVerify,
      },
      guard,
      opts,
    ),
  );
}

/** HTTP/TCP need the API server only without a host or with a named port. */
function needsPlacement(spec: { host?: string; port: number | string }): boolean {
  return !spec.host || (typeof spec.port === 'string' && !/^\d+$/.test(spec.port));
}
