/**
 * The CustomResourceDefinitions of the Stash kinds and AppBinding, as data (DESIGN §3).
 *
 * The Handler schema appears in eight places across four kinds, so the CRDs are generated from
 * this one file instead of being kept in sync by hand:
 *
 *   node --import tsx k8s-manifests/tools/crds.ts        # rewrites k8s-manifests/base/crds/*.yaml
 *
 * and test/unit/manifests-crds.test.ts fails when a generated file is out of date.
 *
 * Schemas are structural (every field typed) and reject what a schema can: enums, port ranges
 * and IANA port names, integer ranges, and, through CEL rules (`x-kubernetes-validations`), a
 * hook without any action and a header with both `value` and `valueFrom`. The parts of Stash's
 * specs that stash-hooks does not read (repository, retentionPolicy, runtimeSettings, task …)
 * are kept with `x-kubernetes-preserve-unknown-fields`, so real Stash objects apply unchanged.
 * The deeper checks (templates, selectors, global hooks needing a host) stay in
 * shared/hook-spec.ts, which reports them on the session.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

type Schema = Record<string, unknown>;

/**
 * Size caps (DESIGN §11 "Bounded"): generous for real hooks, small enough that one object cannot
 * make every worker render megabytes. The API server enforces them before a worker sees anything.
 */
const MAX_TEMPLATE = 16 * 1024;
const MAX_BODY = 64 * 1024;
const MAX_COMMAND_ARGS = 256;
const MAX_CONDITIONS = 64;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (minimum?: number, maximum?: number, extra: Schema = {}): Schema => ({
  type: 'integer',
  ...(minimum !== undefined ? { minimum } : {}),
  ...(maximum !== undefined ? { maximum } : {}),
  ...extra,
});
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, ...extra });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

/** Go's `time.ParseDuration` syntax, as Stash's `timeOut` takes it (`30m`, `1h30m`, `90s`). */
const GO_DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** `1`-`65535` in decimal, without leading zeros. */
const PORT_NUMBER = '^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';

/**
 * A container port: 1-65535 — as an integer or, as Stash accepts (kmodules/prober
 * `extractPort` falls back to `strconv.Atoi`), a numeric string such as "8080" — or an IANA
 * service name (1-15 of a-z0-9 and single inner hyphens, with at least one letter). Structural
 * schemas only allow plain `type`s in the int-or-string `anyOf`, so the ranges live in `allOf`,
 * where `minimum` applies to integers only and `pattern` to strings only. No look-ahead: the API
 * server's regexps are RE2.
 */
const port: Schema = {
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  allOf: [{ minimum: 1, maximum: 65535 }, { maxLength: 15, pattern: '^[a-z0-9](-?[a-z0-9])*$' }, { pattern: `[a-z]|${PORT_NUMBER}` }],
  description: 'Port number 1-65535 (also as a numeric string), or the name of a container port (an IANA service name).',
};

const secretKeyRef = obj(
  { name: str({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN }), key: str({ minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' }) },
  { required: ['name', 'key'] },
);

const httpHeader = obj(
  {
    name: str({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
    value: str({ maxLength: MAX_TEMPLATE }),
    valueFrom: obj({ secretKeyRef }, { required: ['secretKeyRef'], description: 'stash-hooks addition: read the value from a Secret at run time.' }),
  },
  {
    required: ['name'],
    'x-kubernetes-validations': [{ rule: '!(has(self.value) && has(self.valueFrom))', message: 'set value or valueFrom, not both' }],
  },
);

const httpCommon = {
  host: str({ maxLength: 253, description: 'Host name or IP; defaults to the target pod (or service for an AppBinding).' }),
  port,
  path: str({ maxLength: MAX_TEMPLATE, description: 'Request path; may be a template.' }),
  // Stash lower-cases the scheme (kmodules/prober `executeHttpGet`), so any case works.
  scheme: str({ pattern: '^([Hh][Tt][Tt][Pp][Ss]?)?$', description: 'HTTP (also when empty) or HTTPS, in any case.' }),
  httpHeaders: arr(httpHeader, { maxItems: 64 }),
};

const handlerProperties: Record<string, Schema> = {
  exec: obj({ command: arr(str({ maxLength: MAX_TEMPLATE }), { minItems: 1, maxItems: MAX_COMMAND_ARGS }) }, { required: ['command'] }),
  httpGet: obj(httpCommon, { required: ['port'] }),
  httpPost: obj(
    {
      ...httpCommon,
      body: str({ maxLength: MAX_BODY, description: 'Request body; may be a template.' }),
      form: arr(obj({ key: str({ minLength: 1, maxLength: 256 }), values: arr(str({ maxLength: MAX_TEMPLATE }), { maxItems: 256 }) }, { required: ['key'] }), {
        maxItems: 256,
      }),
    },
    { required: ['port'] },
  ),
  tcpSocket: obj({ host: str({ maxLength: 253 }), port }, { required: ['port'] }),
  containerName: str({ maxLength: 63, pattern: DNS_LABEL }),
  timeoutSeconds: int(1, 86400, { description: 'stash-hooks addition: bound on every action of the hook; default 300.' }),
  maxRetry: int(0, 100, { description: 'stash-hooks addition: retries of a failed hook; default 0.' }),
  retryDelaySeconds: int(0, 3600, { description: 'stash-hooks addition: wait between retries.' }),
  insecureSkipTLSVerify: { type: 'boolean', description: 'stash-hooks addition: skip TLS verification of https hooks; default false.' },
  executor: obj(
    {
      pod: obj(
        {
          namespace: str({ maxLength: 63, pattern: DNS_LABEL }),
          selector: str({ minLength: 1, maxLength: 4096, description: 'Label selector of the pods, e.g. app=mysql.' }),
          strategy: str({ enum: ['ExecuteOnOne', 'ExecuteOnAll'] }),
        },
        { required: ['selector'] },
      ),
    },
    { description: 'stash-hooks addition: the pods that run exec hooks (and host HTTP/TCP hooks without host).' },
  ),
};

const ACTION_RULE = {
  rule: 'has(self.exec) || has(self.httpGet) || has(self.httpPost) || has(self.tcpSocket)',
  message: 'a hook needs at least one of exec, httpGet, httpPost or tcpSocket',
};

function handler(executionPolicies?: string[]): Schema {
  return obj(
    executionPolicies
      ? { ...handlerProperties, executionPolicy: str({ enum: executionPolicies, default: 'Always', description: 'When the post hook runs; default Always.' }) }
      : handlerProperties,
    { 'x-kubernetes-validations': [ACTION_RULE] },
  );
}

const backupHooks = obj({
  preBackup: handler(),
  postBackup: handler(['Always', 'OnSuccess', 'OnFailure', 'OnFinalRetryFailure']),
});
const restoreHooks = obj({
  preRestore: handler(),
  postRestore: handler(['Always', 'OnSuccess', 'OnFailure']),
});

const targetRef = obj(
  { apiVersion: str(), kind: str({ minLength: 1 }), name: str({ minLength: 1 }), namespace: str({ pattern: DNS_LABEL }) },
  { required: ['kind', 'name'] },
);
// Stash's targets carry paths, exclude, volumeMounts, rules, alias …: kept as they are.
const target = obj({ ref: targetRef }, { required: ['ref'], 'x-kubernetes-preserve-unknown-fields': true });

const condition = obj(
  {
    type: str({ minLength: 1, maxLength: 316 }),
    status: str({ enum: ['True', 'False', 'Unknown'] }),
    reason: str({ maxLength: 1024 }),
    message: str({ maxLength: 32768 }),
    lastTransitionTime: str({ format: 'date-time' }),
    observedGeneration: int(0, undefined, { format: 'int64' }),
  },
  { required: ['type', 'status'] },
);
const conditions = arr(condition, { maxItems: MAX_CONDITIONS, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
const hostStats = arr(
  obj(
    { hostname: str(), phase: str({ enum: ['Succeeded', 'Failed', 'Unknown'] }), duration: str(), error: str() },
    { 'x-kubernetes-preserve-unknown-fields': true },
  ),
);
const sessionPhase = str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Unknown'] });

// Fields of an invoker that stash-hooks reads; the rest of Stash's spec is kept as is.
const invokerCommon = {
  timeOut: str({ pattern: GO_DURATION, description: 'Bounds a session, e.g. 30m; default 24h (stash-hooks setting).' }),
  schedule: str(),
  paused: { type: 'boolean' },
};

interface CrdInput {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  spec: Schema;
  status?: Schema;
  columns?: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
}

function crd(input: CrdInput): Schema {
  const properties: Record<string, Schema> = { spec: input.spec };
  if (input.status) properties.status = input.status;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${input.group}`,
      labels: { 'app.kubernetes.io/part-of': 'stash-hooks' },
    },
    spec: {
      group: input.group,
      scope: 'Namespaced',
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        ...(input.shortNames ? { shortNames: input.shortNames } : {}),
        categories: input.categories ?? ['stash', 'appscode', 'all'],
      },
      versions: [
        {
          name: input.version,
          served: true,
          storage: true,
          ...(input.status ? { subresources: { status: {} } } : {}),
          ...(input.columns ? { additionalPrinterColumns: input.columns } : {}),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { apiVersion: str(), kind: str(), metadata: { type: 'object' }, ...properties },
            },
          },
        },
      ],
    },
  };
}

const STASH = 'stash.appscode.com';
const AGE = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The CRDs, keyed by the file they are written to. */
export function crds(): Record<string, Schema> {
  return {
    'backupconfigurations.yaml': crd({
      group: STASH,
      version: 'v1beta1',
      kind: 'BackupConfiguration',
      plural: 'backupconfigurations',
      singular: 'backupconfiguration',
      shortNames: ['bc'],
      spec: obj({ ...invokerCommon, target, hooks: backupHooks }, { 'x-kubernetes-preserve-unknown-fields': true }),
      status: obj({ phase: str(), observedGeneration: int(0, undefined, { format: 'int64' }), conditions }, { 'x-kubernetes-preserve-unknown-fields': true }),
      columns: [
        { name: 'Task', type: 'string', jsonPath: '.spec.task.name' },
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
        { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        AGE,
      ],
    }),
    'backupbatches.yaml': crd({
      group: STASH,
      version: 'v1beta1',
      kind: 'BackupBatch',
      plural: 'backupbatches',
      singular: 'backupbatch',
      spec: obj(
        {
          ...invokerCommon,
          executionOrder: str({ enum: ['Parallel', 'Sequential'] }),
          hooks: backupHooks,
          members: arr(obj({ target, hooks: backupHooks }, { 'x-kubernetes-preserve-unknown-fields': true }), { maxItems: 512 }),
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
      status: obj({ phase: str(), observedGeneration: int(0, undefined, { format: 'int64' }), conditions }, { 'x-kubernetes-preserve-unknown-fields': true }),
      columns: [
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
        { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        AGE,
      ],
    }),
    'backupsessions.yaml': crd({
      group: STASH,
      version: 'v1beta1',
      kind: 'BackupSession',
      plural: 'backupsessions',
      singular: 'backupsession',
      spec: obj(
        {
          invoker: obj(
            { apiGroup: str(), kind: str({ enum: ['BackupConfiguration', 'BackupBatch'] }), name: str({ minLength: 1 }) },
            { required: ['kind', 'name'] },
          ),
          retryLeft: int(0),
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
      status: obj(
        {
          phase: sessionPhase,
          sessionDuration: str(),
          sessionDeadline: str({ format: 'date-time' }),
          nextRetry: str({ format: 'date-time' }),
          targets: arr(
            obj(
              {
                ref: targetRef,
                phase: str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }),
                totalHosts: int(0),
                stats: hostStats,
                conditions,
              },
              { 'x-kubernetes-preserve-unknown-fields': true },
            ),
          ),
          conditions,
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
      columns: [
        { name: 'Invoker-Type', type: 'string', jsonPath: '.spec.invoker.kind' },
        { name: 'Invoker-Name', type: 'string', jsonPath: '.spec.invoker.name' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Duration', type: 'string', jsonPath: '.status.sessionDuration' },
        AGE,
      ],
    }),
    'restoresessions.yaml': crd({
      group: STASH,
      version: 'v1beta1',
      kind: 'RestoreSession',
      plural: 'restoresessions',
      singular: 'restoresession',
      spec: obj({ target, hooks: restoreHooks, timeOut: invokerCommon.timeOut }, { 'x-kubernetes-preserve-unknown-fields': true }),
      status: obj(
        {
          phase: sessionPhase,
          totalHosts: int(0),
          sessionDuration: str(),
          sessionDeadline: str({ format: 'date-time' }),
          stats: hostStats,
          conditions,
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
      columns: [
        { name: 'Repository', type: 'string', jsonPath: '.spec.repository.name' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Duration', type: 'string', jsonPath: '.status.sessionDuration' },
        AGE,
      ],
    }),
    'appbindings.yaml': crd({
      group: 'appcatalog.appscode.com',
      version: 'v1alpha1',
      kind: 'AppBinding',
      plural: 'appbindings',
      singular: 'appbinding',
      shortNames: ['app'],
      categories: ['catalog', 'appscode', 'all'],
      spec: obj(
        {
          type: str(),
          clientConfig: obj(
            {
              url: str(),
              service: obj(
                { scheme: str(), name: str({ minLength: 1, pattern: DNS_LABEL }), port: int(1, 65535), path: str(), query: str() },
                { required: ['name'] },
              ),
              insecureSkipTLSVerify: { type: 'boolean' },
              caBundle: str({ format: 'byte' }),
            },
            { 'x-kubernetes-preserve-unknown-fields': true },
          ),
          secret: obj({ name: str() }, { 'x-kubernetes-preserve-unknown-fields': true }),
        },
        { 'x-kubernetes-preserve-unknown-fields': true },
      ),
      columns: [{ name: 'Type', type: 'string', jsonPath: '.spec.type' }, AGE],
    }),
  };
}

const HEADER = '# Generated by k8s-manifests/tools/crds.ts; edit that file and run\n#   node --import tsx k8s-manifests/tools/crds.ts\n';

/** The YAML text of each CRD file. */
export function renderCrdFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(crds()).map(([file, doc]) => [file, HEADER + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(new URL('../base/crds/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(renderCrdFiles())) writeFileSync(dir + file, text);
  process.stdout.write(`wrote ${Object.keys(renderCrdFiles()).length} CRDs to ${dir}\n`);
}
