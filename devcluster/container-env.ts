/**
 * The environment a container's `env` would give an exec'd command, resolved the way the kubelet
 * resolves it: literal `value`s, `valueFrom.secretKeyRef`/`configMapKeyRef` from the stored
 * objects, and `fieldRef` for the pod's name, namespace, IP, node and labels/annotations.
 * `envFrom` brings in whole ConfigMaps and Secrets. A reference that cannot be resolved is left
 * out (a real kubelet would not start the container; here the command still runs).
 */
import type { KubeObject } from './store.js';

type Lookup = (resource: 'secrets' | 'configmaps', namespace: string, name: string) => KubeObject | undefined;

interface EnvVar {
  name?: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string };
    configMapKeyRef?: { name?: string; key?: string };
    fieldRef?: { fieldPath?: string };
  };
}

interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string };
  secretRef?: { name?: string };
}

function dataOf(obj: KubeObject | undefined, secret: boolean): Record<string, string> {
  const data = (obj?.data ?? {}) as Record<string, string>;
  if (!secret) return data;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  return out;
}

function fieldValue(pod: KubeObject, path: string): string | undefined {
  const status = (pod.status ?? {}) as Record<string, unknown>;
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata[m[1] as 'labels' | 'annotations']?.[m[2]];
  const simple: Record<string, unknown> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'status.podIP': status.podIP,
    'status.hostIP': status.hostIP,
    'spec.nodeName': spec.nodeName,
    'spec.serviceAccountName': spec.serviceAccountName,
  };
  const v = simple[path];
  return v === undefined || v === null ? undefined : String(v);
}

/** The variables `env` and `envFrom` of `container` in `pod` define. */
export function containerEnv(pod: KubeObject, container: string, lookup: Lookup): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const spec = (((pod.spec ?? {}) as Record<string, unknown>).containers ?? []) as Array<{ name?: string; env?: EnvVar[]; envFrom?: EnvFromSource[] }>;
  const c = spec.find((x) => x.name === container);
  const out: Record<string, string> = {};
  for (const src of Array.isArray(c?.envFrom) ? c!.envFrom : []) {
    const secret = !!src?.secretRef;
    const name = src?.secretRef?.name ?? src?.configMapRef?.name;
    if (!name) continue;
    for (const [k, v] of Object.entries(dataOf(lookup(secret ? 'secrets' : 'configmaps', ns, name), secret))) out[`${src.prefix ?? ''}${k}`] = v;
  }
  for (const e of Array.isArray(c?.env) ? c!.env : []) {
    if (!e?.name) continue;
    let v: string | undefined;
    if (e.value !== undefined) v = String(e.value);
    else if (e.valueFrom?.secretKeyRef?.name && e.valueFrom.secretKeyRef.key)
      v = dataOf(lookup('secrets', ns, e.valueFrom.secretKeyRef.name), true)[e.valueFrom.secretKeyRef.key];
    else if (e.valueFrom?.configMapKeyRef?.name && e.valueFrom.configMapKeyRef.key)
      v = dataOf(lookup('configmaps', ns, e.valueFrom.configMapKeyRef.name), false)[e.valueFrom.configMapKeyRef.key];
    else if (e.valueFrom?.fieldRef?.fieldPath) v = fieldValue(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom === undefined) v = '';
    if (v !== undefined) out[e.name] = v;
  }
  return out;
}
