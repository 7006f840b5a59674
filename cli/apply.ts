/**
 * `kubectl apply`-like creation of YAML documents through the API (create, or replace the spec of
 * what exists), used by the demo to apply CRDs and examples/ and by the tests.
 */
import { readFileSync } from 'node:fs';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiStatusCode, kubeError } from '../shared/kube-api.js';

/** The objects of a multi-document YAML text, empty documents dropped. */
export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => !!o && typeof o === 'object' && !!o.kind);
}

export function readManifests(...paths: string[]): KubernetesObject[] {
  return paths.flatMap((p) => parseManifests(readFileSync(p, 'utf8')));
}

/** Creates each object in order, replacing ones that exist; returns what the API stored. */
export async function applyObjects(kubeConfig: KubeConfig, objects: KubernetesObject[]): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const out: KubernetesObject[] = [];
  for (const obj of objects) {
    const what = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? obj.metadata?.generateName ?? ''}`;
    try {
      out.push(await api.create(obj));
    } catch (err) {
      if (apiStatusCode(err) !== 409) throw kubeError(err, `applying ${what}`);
      const current = await api.read(obj as KubernetesObject & { metadata: { name: string; namespace: string } });
      try {
        out.push(await api.replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion } }));
      } catch (replaceErr) {
        throw kubeError(replaceErr, `applying ${what}`);
      }
    }
  }
  return out;
}
