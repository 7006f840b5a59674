/**
 * OpenAPI v3 discovery as kubectl reads it: `/openapi/v3` lists one document per group/version
 * and each document has, per resource, paths whose PATCH operation carries the
 * `x-kubernetes-group-version-kind` extension and the `fieldValidation` query parameter. That is
 * how `kubectl apply` (1.27+) decides the server validates fields itself, so it needs no
 * client-side schema (DESIGN §8: plain `kubectl apply -f` must work). The PATCH request bodies
 * list JSON and merge patch only: kubectl then builds strategic merge patches of built-in kinds
 * from its compiled-in types and merge patches of custom resources, both of which we serve.
 * CRD schemas are published as component schemas for tools that read them.
 */
import { createHash } from 'node:crypto';
import type { Registry, ResourceDef } from './registry.js';

type Doc = Record<string, unknown>;

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function gvk(def: ResourceDef): Doc[] {
  return [{ group: def.group, version: def.version, kind: def.kind }];
}

function schemaName(def: ResourceDef): string {
  const group = def.group ? def.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${group}.${def.version}.${def.kind}`;
}

const QUERY = (name: string, type = 'string'): Doc => ({ name, in: 'query', schema: { type }, uniqueItems: true });

function operations(def: ResourceDef, item: boolean): Doc {
  const ref = { $ref: `#/components/schemas/${schemaName(def)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const ext = { 'x-kubernetes-group-version-kind': gvk(def)[0] };
  const writeParams = [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation')];
  if (!item) {
    return {
      get: {
        operationId: `list${def.kind}`,
        parameters: [QUERY('labelSelector'), QUERY('fieldSelector'), QUERY('watch', 'boolean'), QUERY('resourceVersion')],
        responses: ok,
        ...ext,
        'x-kubernetes-action': 'list',
      },
      post: {
        operationId: `create${def.kind}`,
        parameters: writeParams,
        requestBody: { content: { 'application/json': { schema: ref } } },
        responses: ok,
        ...ext,
        'x-kubernetes-action': 'post',
      },
    };
  }
  return {
    get: { operationId: `read${def.kind}`, responses: ok, ...ext, 'x-kubernetes-action': 'get' },
    put: {
      operationId: `replace${def.kind}`,
      parameters: writeParams,
      requestBody: { content: { 'application/json': { schema: ref } } },
      responses: ok,
      ...ext,
      'x-kubernetes-action': 'put',
    },
    patch: {
      operationId: `patch${def.kind}`,
      parameters: [...writeParams, QUERY('force', 'boolean')],
      requestBody: {
        content: { 'application/json-patch+json': { schema: { type: 'object' } }, 'application/merge-patch+json': { schema: { type: 'object' } } },
      },
      responses: ok,
      ...ext,
      'x-kubernetes-action': 'patch',
    },
    delete: { operationId: `delete${def.kind}`, parameters: [QUERY('dryRun')], responses: ok, ...ext, 'x-kubernetes-action': 'delete' },
  };
}

function groupVersionDoc(defs: ResourceDef[], group: string, version: string): Doc {
  const paths: Doc = {};
  const schemas: Doc = {};
  const prefix = `/${gvPath(group, version)}`;
  for (const def of defs) {
    const base = def.namespaced ? `${prefix}/namespaces/{namespace}/${def.resource}` : `${prefix}/${def.resource}`;
    paths[base] = operations(def, false);
    paths[`${base}/{name}`] = operations(def, true);
    if (def.statusSubresource) paths[`${base}/{name}/status`] = operations(def, true);
    const schema = (
      def.schema && typeof def.schema === 'object' ? { ...(def.schema as Doc) } : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
    ) as Doc;
    schema['x-kubernetes-group-version-kind'] = gvk(def);
    schemas[schemaName(def)] = schema;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (devcluster)', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

/** Builds (and caches per registry generation) the OpenAPI v3 documents. */
export class OpenApi {
  private cache?: { generation: number; root: string; docs: Map<string, string> };

  constructor(private readonly registry: Registry) {}

  private build(): NonNullable<OpenApi['cache']> {
    if (this.cache && this.cache.generation === this.registry.generation) return this.cache;
    const docs = new Map<string, string>();
    const rootPaths: Doc = {};
    for (const { group, versions } of this.registry.groups()) {
      for (const version of versions) {
        const json = JSON.stringify(groupVersionDoc(this.registry.inGroupVersion(group, version), group, version));
        const hash = createHash('sha512').update(json).digest('hex').toUpperCase().slice(0, 128);
        const p = gvPath(group, version);
        docs.set(`/openapi/v3/${p}`, json);
        rootPaths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
      }
    }
    this.cache = { generation: this.registry.generation, root: JSON.stringify({ paths: rootPaths }), docs };
    return this.cache;
  }

  /** The document at `path` (no query string), or undefined (404). */
  serve(path: string): string | undefined {
    const c = this.build();
    if (path === '/openapi/v3') return c.root;
    return c.docs.get(path);
  }
}
