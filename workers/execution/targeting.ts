/**
 * Where a hook runs (DESIGN §5 "Where a hook runs"), Stash's sidecar and job models:
 * - `executor.pod`: the pods its selector matches (one or all, by strategy);
 * - a workload target: the leader replica, or every running pod (workload-pods.ts);
 * - an AppBinding target: its Service → Endpoints → per subset, the first ready pod, else the
 *   first not-ready one, then the next subset;
 *   HTTP/TCP without `host` go to the Service's DNS name; a URL-only AppBinding has no pod;
 * - anything else: nowhere, and the error says what to set.
 * Missing objects are {@link TargetError}s naming what is missing; API trouble is infrastructure.
 */
import type { V1Service } from '@kubernetes/client-node';
import { TargetError } from '../../shared/errors.js';
import type { AppBinding, Handler, IntOrString } from '../../shared/resources.js';
import { APPCATALOG_GROUP, isWorkloadKind } from '../../shared/resources.js';
import type { ExecTarget } from './exec-action.js';
import { readOrUndefined } from './kube-read.js';
import type { HookContext, KubeAccess } from './types.js';
import { podRef, usablePods, workloadPods, type PodRef } from './workload-pods.js';

export { selectorString, type PodRef } from './workload-pods.js';

/** The resolved home of a hook. */
export type Placement =
  | { kind: 'pods'; pods: PodRef[] }
  | { kind: 'service'; host: string; service: V1Service; pod: PodRef; appBinding: string }
  | { kind: 'url'; url: string; appBinding: string }
  | { kind: 'none'; what: string };

/** A host and numeric port for an HTTP or TCP action. */
export interface Destination {
  host: string;
  port: number;
}

async function appBindingPlacement(kube: KubeAccess, namespace: string, name: string): Promise<Placement> {
  const label = `AppBinding ${namespace}/${name}`;
  const ab = (await readOrUndefined(
    () => kube.custom.getNamespacedCustomObject({ group: APPCATALOG_GROUP, version: 'v1alpha1', namespace, plural: 'appbindings', name }),
    label,
  )) as AppBinding | undefined;
  if (!ab) throw new TargetError(`${label} not found`);
  const cc = ab.spec?.clientConfig;
  const svcName = cc?.service?.name;
  if (!svcName) {
    if (cc?.url) return { kind: 'url', url: cc.url, appBinding: label };
    throw new TargetError(`${label} has neither clientConfig.service nor clientConfig.url`);
  }
  const svcLabel = `Service ${namespace}/${svcName}`;
  const service = await readOrUndefined(() => kube.core.readNamespacedService({ namespace, name: svcName }), svcLabel);
  if (!service) throw new TargetError(`${svcLabel} (clientConfig.service of ${label}) not found`);
  const endpoints = await readOrUndefined(() => kube.core.readNamespacedEndpoints({ namespace, name: svcName }), `Endpoints ${namespace}/${svcName}`);
  const subsets = endpoints?.subsets ?? [];
  const podOf = (addrs: Array<{ targetRef?: { kind?: string; name?: string } }> | undefined) =>
    addrs?.find((a) => a.targetRef?.kind === 'Pod' && a.targetRef.name)?.targetRef?.name;
  // Stash's job model, subset by subset (DESIGN §5): a subset's first ready address with a pod,
  // else that subset's first not-ready one, and only then the next subset.
  const podName = subsets.map((s) => podOf(s.addresses) ?? podOf(s.notReadyAddresses)).find((n) => n !== undefined);
  if (!podName) throw new TargetError(`${svcLabel} (clientConfig.service of ${label}) has no endpoints backed by a pod`);
  const pod = await readOrUndefined(() => kube.core.readNamespacedPod({ namespace, name: podName }), `pod ${namespace}/${podName}`);
  if (!pod) throw new TargetError(`pod ${namespace}/${podName} (endpoint of ${svcLabel}) not found`);
  return { kind: 'service', host: `${svcName}.${namespace}.svc`, service, pod: podRef(pod, namespace), appBinding: label };
}

/** Resolves where `handler` runs for `ctx`. Reads the API server; call only when a pod or host is needed. */
export async function resolvePlacement(handler: Handler, ctx: HookContext, kube: KubeAccess): Promise<Placement> {
  const exe = handler.executor?.pod;
  if (exe) {
    const namespace = exe.namespace || ctx.namespace;
    const pods = (await usablePods(kube, namespace, exe.selector, handler.containerName)).map((p) => podRef(p, namespace));
    if (pods.length === 0) throw new TargetError(`no running pod matches executor.pod selector "${exe.selector}" in namespace ${namespace}`);
    return { kind: 'pods', pods: exe.strategy === 'ExecuteOnAll' ? pods : pods.slice(0, 1) };
  }
  const t = ctx.target;
  if (!t) return { kind: 'none', what: `a global ${ctx.hookName} hook` };
  const namespace = t.namespace || ctx.namespace;
  const label = `${t.kind} ${namespace}/${t.name}`;
  if (isWorkloadKind(t.kind)) {
    const operation = ctx.hookName === 'preRestore' || ctx.hookName === 'postRestore' ? 'restore' : 'backup';
    const pods = await workloadPods(kube, { kind: t.kind, name: t.name, namespace, operation, containerName: handler.containerName });
    return { kind: 'pods', pods };
  }
  if (t.kind === 'AppBinding') return appBindingPlacement(kube, namespace, t.name);
  return { kind: 'none', what: label };
}

/**
 * The container an exec runs in: `containerName`, else the pod's first container. An init
 * container (a native sidecar included) qualifies while it runs, as `kubectl exec` allows —
 * Stash's restore examples exec into `stash-init`.
 */
function containerIn(pod: PodRef, containerName: string | undefined): string {
  const names = pod.containers.map((c) => c.name);
  if (containerName) {
    if (names.includes(containerName)) return containerName;
    const init = (pod.initContainers ?? []).find((c) => c.name === containerName);
    if (init?.running) return containerName;
    if (init) throw new TargetError(`init container "${containerName}" of pod ${pod.namespace}/${pod.name} is not running, so exec cannot enter it`);
    const inits = (pod.initContainers ?? []).map((c) => c.name);
    throw new TargetError(
      `container "${containerName}" not found in pod ${pod.namespace}/${pod.name} (containers: ${names.join(', ') || 'none'}${inits.length ? `; init containers: ${inits.join(', ')}` : ''})`,
    );
  }
  if (names.length === 0) throw new TargetError(`pod ${pod.namespace}/${pod.name} has no containers`);
  return names[0];
}

/** The pods and containers an exec action runs in. */
export function execTargets(placement: Placement, containerName: string | undefined): ExecTarget[] {
  switch (placement.kind) {
    case 'pods':
      return placement.pods.map((p) => ({ namespace: p.namespace, pod: p.name, container: containerIn(p, containerName) }));
    case 'service':
      return [{ namespace: placement.pod.namespace, pod: placement.pod.name, container: containerIn(placement.pod, containerName) }];
    case 'url':
      throw new TargetError(
        `${placement.appBinding} has only clientConfig.url (${placement.url}), so an exec hook has no pod to run in; set executor.pod to choose one`,
      );
    case 'none':
      throw new TargetError(`exec: ${placement.what} runs in no pod; set executor.pod to choose the pods`);
  }
}

/** A named port through the pod's container ports, `containerName`'s first. */
function podPort(pod: PodRef, name: string, containerName: string | undefined, field: string): number {
  const all = [...pod.containers, ...(pod.initContainers ?? [])];
  const ordered = [...all].sort((a, b) => Number(b.name === containerName) - Number(a.name === containerName));
  for (const c of ordered) {
    const hit = c.ports?.find((p) => p.name === name);
    if (hit) return hit.containerPort;
  }
  const known = all.flatMap((c) => (c.ports ?? []).map((p) => p.name).filter((n): n is string => !!n));
  throw new TargetError(`${field} "${name}" not found in pod ${pod.namespace}/${pod.name} (named ports: ${known.join(', ') || 'none'})`);
}

/**
 * Where an HTTP/TCP action connects: its `host`, else each pod's IP, else the Service name, else
 * the AppBinding URL's host. `field` (e.g. `httpGet.port`) names the action in messages.
 */
export function networkDestinations(
  spec: { host?: string; port: IntOrString },
  placement: Placement | undefined,
  containerName: string | undefined,
  field: string,
): Destination[] {
  const action = field.split('.')[0];
  const named = typeof spec.port === 'string' && !/^\d+$/.test(spec.port) ? spec.port : undefined;
  const numeric = named ? 0 : Number(spec.port);
  if (spec.host) {
    if (!named) return [{ host: spec.host, port: numeric }];
    const pod = placement?.kind === 'pods' ? placement.pods[0] : placement?.kind === 'service' ? placement.pod : undefined;
    if (!pod) throw new TargetError(`${field} "${named}" is a port name, but this hook has no pod to look it up in; use a number`);
    return [{ host: spec.host, port: podPort(pod, named, containerName, field) }];
  }
  if (!placement) throw new TargetError(`${action}: no host`);
  switch (placement.kind) {
    case 'pods':
      return placement.pods.map((p) => {
        if (!p.ip) throw new TargetError(`${action}: pod ${p.namespace}/${p.name} has no IP yet`);
        return { host: p.ip, port: named ? podPort(p, named, containerName, field) : numeric };
      });
    case 'service': {
      if (!named) return [{ host: placement.host, port: numeric }];
      const svcPort = placement.service.spec?.ports?.find((p) => p.name === named)?.port;
      return [{ host: placement.host, port: svcPort ?? podPort(placement.pod, named, containerName, field) }];
    }
    case 'url': {
      if (named) throw new TargetError(`${field} "${named}" is a port name, but ${placement.appBinding} has only a URL; use a number`);
      let url: URL;
      try {
        url = new URL(placement.url);
      } catch {
        // The user's data, not infrastructure: fail the hook now instead of retrying a TypeError.
        throw new TargetError(`${action}: ${placement.appBinding} has spec.clientConfig.url "${placement.url}", which is not a URL`);
      }
      return [{ host: url.hostname.replace(/^\[|\]$/g, ''), port: numeric }];
    }
    case 'none':
      throw new TargetError(`${action}: ${placement.what} has no pod or service to connect to; set ${action}.host or executor.pod`);
  }
}
