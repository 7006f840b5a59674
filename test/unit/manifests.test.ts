// k8s-manifests/: the kustomize base and the keda/hpa overlays build, every object validates
// against its Kubernetes schema, and the deployment rules hold (least-privilege RBAC, hardened
// containers, real roles and settings, one worker pool per hook queue, autoscalers that point at
// BullMQ's real wait lists).
//
// Schemas: `kubectl create --dry-run=client --validate=strict` needs an API server and there is
// no kubeconform on npm, so objects are checked with `kubernetes-models` (the Kubernetes OpenAPI
// schemas compiled to JSON-schema validators, one class per kind) and
// `@kubernetes-models/keda` for KEDA's kinds. Builds need kubectl (kustomize is built in); they
// are skipped without it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { OUTCOME_KEY_ENV, ROLES, SETTINGS, SECRET_ENV, settingsFor, type Role } from '../../shared/config.js';
import { HOOK_QUEUES } from '../../shared/queues.js';
import { kubectlUnavailable, skipUnless } from '../helpers/skip.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

const root = fileURLToPath(new URL('../../', import.meta.url));
const TARGETS = ['k8s-manifests', 'k8s-manifests/overlays/keda', 'k8s-manifests/overlays/hpa', 'k8s-manifests/overlays/cluster-wide-exec'] as const;
/** The tenant namespaces of components/tenant-namespaces as committed. */
const TENANTS = ['demo'];
const kubectlWhy = kubectlUnavailable();

const built = new Map<string, Obj[]>();
function build(dir: string): Obj[] {
  const cached = built.get(dir);
  if (cached) return cached;
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr}`);
  const docs = parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length) throw new Error(`${dir}: ${d.errors[0].message}`);
    return d.toJS() as Obj;
  });
  built.set(dir, docs);
  return docs;
}

/** The kubernetes-models class of an object's apiVersion and kind; undefined if none exists. */
async function modelOf(obj: Obj): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = group === 'keda.sh' ? `@kubernetes-models/keda/keda.sh/${version}` : group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/v1`;
  const mod = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  return mod[obj.kind];
}

const where = (o: Obj) => `${o.kind}/${o.metadata.name}`;
const deployments = (objs: Obj[]) => objs.filter((o) => o.kind === 'Deployment');
const containersOf = (d: Obj): any[] => [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers];

// Without kubectl 1.24+ the build tests are counted as skipped, with the reason.
const run = skipUnless(kubectlWhy);

for (const dir of TARGETS) {
  run(`${dir} builds, and every object validates against its Kubernetes schema`, async () => {
    const objs = build(dir);
    assert.ok(objs.length > 20, `only ${objs.length} objects`);
    for (const obj of objs) {
      const Model = await modelOf(obj);
      assert.ok(Model, `no schema for ${obj.apiVersion} ${obj.kind}`);
      try {
        new Model(obj).validate();
      } catch (err) {
        assert.unreachable(`${where(obj)} does not validate: ${(err as Error).message}`);
      }
      if (obj.kind === 'RoleBinding' && obj.roleRef.name === 'stash-hooks-worker-tenant') {
        assert.ok(TENANTS.includes(obj.metadata.namespace!), `${where(obj)} is in a tenant namespace, not ${obj.metadata.namespace}`);
      } else if (obj.kind !== 'Namespace' && obj.kind !== 'CustomResourceDefinition' && !obj.kind.startsWith('ClusterRole')) {
        assert.is(obj.metadata.namespace, 'stash-hooks', `${where(obj)} namespace`);
      }
    }
  });
}

run('every container of every target runs the runtime image, pinned by digest', () => {
  for (const dir of TARGETS) {
    for (const d of deployments(build(dir))) {
      for (const c of containersOf(d))
        assert.match(c.image, /^[a-z0-9.-]+(?::\d+)?\/stash-hooks@sha256:[0-9a-f]{64}$/, `${dir} ${where(d)} ${c.name}: ${c.image}`);
    }
  }
});

run('the schema check is real: a broken Deployment is rejected', async () => {
  const d = structuredClone(deployments(build('k8s-manifests'))[0]);
  d.spec.template.spec.containers[0].ports[0].containerPort = 'ninety';
  const Model = (await modelOf(d))!;
  assert.throws(() => new Model(d).validate(), /containerPort/);
});

run('the base has what the design lists', () => {
  const objs = build('k8s-manifests');
  const kinds = new Set(objs.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const name of [
    'backupconfigurations.stash.appscode.com',
    'backupbatches.stash.appscode.com',
    'backupsessions.stash.appscode.com',
    'restoresessions.stash.appscode.com',
    'appbindings.appcatalog.appscode.com',
  ]) {
    assert.ok(kinds.has(`CustomResourceDefinition/${name}`), name);
  }
  assert.ok(kinds.has('Namespace/stash-hooks'));
  for (const role of ['watcher', 'coordinator', 'dashboard']) assert.ok(kinds.has(`Deployment/stash-hooks-${role}`), role);
  for (const q of HOOK_QUEUES) assert.ok(kinds.has(`Deployment/stash-hooks-worker-${q}`), q);
  assert.ok(kinds.has('Service/stash-hooks-dashboard'));
  assert.is(objs.find((o) => o.metadata.name === 'stash-hooks-watcher' && o.kind === 'Deployment')!.spec.replicas, 2);
  assert.not.ok(
    objs.some((o) => o.kind === 'Secret'),
    'no Secret is committed; Deployments reference them',
  );
});

/** The rules a ServiceAccount of ours gets, cluster-wide and per namespace, in a build. */
function grantsOf(objs: Obj[], sa: string): { clusterWide: any[]; inNamespace: Map<string, any[]> } {
  const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  const rulesOf = (ref: { kind: string; name: string }, ns?: string) =>
    roles.find((r) => r.kind === ref.kind && r.metadata.name === ref.name && (r.kind === 'ClusterRole' || r.metadata.namespace === ns))?.rules ?? [];
  const bindings = objs.filter((o) => o.kind.endsWith('Binding') && o.subjects.some((s: any) => s.kind === 'ServiceAccount' && s.name === sa));
  const clusterWide = bindings.filter((b) => b.kind === 'ClusterRoleBinding').flatMap((b) => rulesOf(b.roleRef));
  const inNamespace = new Map<string, any[]>();
  for (const b of bindings.filter((x) => x.kind === 'RoleBinding')) {
    inNamespace.set(b.metadata.namespace!, [...(inNamespace.get(b.metadata.namespace!) ?? []), ...rulesOf(b.roleRef, b.metadata.namespace)]);
  }
  return { clusterWide, inNamespace };
}
const has = (rules: any[], resource: string, verb: string, group = '') =>
  rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb) && (group === '*' || r.apiGroups.includes(group)));
/** Every (group, resource, verb) the rules grant, as strings. */
const triples = (rules: any[]) =>
  new Set(
    rules.flatMap((r) => r.apiGroups.flatMap((g: string) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${g || 'core'}/${res}:${v}`)))),
  );

for (const dir of TARGETS) {
  run(`${dir}: RBAC has no wildcards, secrets get only, no escalation verbs; every binding is real`, () => {
    const objs = build(dir);
    const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    for (const role of roles) {
      for (const rule of role.rules as any[]) {
        for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames', 'nonResourceURLs']) {
          assert.not.ok(
            (rule[field] ?? []).some((v: string) => v.includes('*')),
            `${where(role)} ${field} has a wildcard`,
          );
        }
        if (rule.resources.includes('secrets')) assert.equal(rule.verbs, ['get'], `${where(role)} may only get secrets`);
        for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) assert.not.ok(rule.verbs.includes(verb), `${where(role)} ${verb}`);
        assert.not.ok(rule.apiGroups.includes('events.k8s.io'), `${where(role)}: no role writes events.k8s.io (SessionStore uses core/v1 Events)`);
      }
    }
    for (const b of objs.filter((o) => o.kind.endsWith('Binding'))) {
      assert.ok(
        roles.some((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name),
        `${where(b)} roleRef`,
      );
      for (const s of b.subjects) {
        assert.is(s.kind, 'ServiceAccount');
        assert.ok(
          objs.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === s.name && s.namespace === 'stash-hooks'),
          `${where(b)} subject ${s.name}`,
        );
      }
    }
  });
}

// Each role's grants are exactly what its code calls (grep of producers/ and workers/, see
// docs/security.md "Least privilege"): a verb added to the code without its grant, or a grant
// left behind after the code stopped using it, fails here.
run('each role is granted exactly what its code calls', () => {
  const objs = build('k8s-manifests');
  const exactly = (sa: string, want: string[]) => assert.equal([...triples(grantsOf(objs, sa).clusterWide)].sort(), [...want].sort(), sa);
  exactly('stash-hooks-watcher', [
    'stash.appscode.com/backupsessions:list',
    'stash.appscode.com/backupsessions:watch',
    'stash.appscode.com/restoresessions:list',
    'stash.appscode.com/restoresessions:watch',
  ]);
  const lease = grantsOf(objs, 'stash-hooks-watcher').inNamespace.get('stash-hooks')!;
  assert.equal([...triples(lease)].sort(), ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update']);
  const sessionReads = ['backupsessions', 'restoresessions', 'backupconfigurations', 'backupbatches'].map((r) => `stash.appscode.com/${r}:get`);
  const statusWrites = ['stash.appscode.com/backupsessions/status:update', 'stash.appscode.com/restoresessions/status:update'];
  exactly('stash-hooks-coordinator', [...sessionReads, ...statusWrites, 'core/events:create']);
  exactly('stash-hooks-worker', [
    ...sessionReads,
    ...statusWrites,
    'core/events:create',
    'appcatalog.appscode.com/appbindings:get',
    ...['deployments', 'statefulsets', 'daemonsets', 'replicasets'].map((r) => `apps/${r}:get`),
    'apps.openshift.io/deploymentconfigs:get',
    'core/replicationcontrollers:get',
    'core/services:get',
    'core/endpoints:get',
    'core/namespaces:get',
  ]);
  // The network guard lists stash-hooks' own pods to keep hooks away from them.
  assert.equal(
    [...triples(grantsOf(objs, 'stash-hooks-worker').inNamespace.get('stash-hooks')!)].sort(),
    [
      'coordination.k8s.io/leases:create',
      'coordination.k8s.io/leases:delete',
      'coordination.k8s.io/leases:get',
      'coordination.k8s.io/leases:list',
      'coordination.k8s.io/leases:update',
      'core/pods:list',
    ],
    'worker in its own namespace: its pods, and the heartbeat Leases',
  );
  // The Sessions page reads sessions; nothing else.
  exactly(
    'stash-hooks-dashboard',
    ['backupsessions', 'restoresessions'].flatMap((r) => [`stash.appscode.com/${r}:get`, `stash.appscode.com/${r}:list`]),
  );
  assert.is(grantsOf(objs, 'stash-hooks-dashboard').inNamespace.size, 0, 'the dashboard has no namespaced rights');
});

run('exec, pods and Secrets: per tenant namespace by default, cluster-wide only in the opt-in overlay', () => {
  // Stash's backup leader lock (a Lease, or a ConfigMap on older releases) is read in the
  // workload's namespace to find the replica that runs a Deployment's hooks.
  const tenant = [
    'core/pods:get',
    'core/pods:list',
    'core/pods/exec:create',
    'core/pods/exec:get',
    'core/secrets:get',
    'core/configmaps:get',
    'coordination.k8s.io/leases:get',
  ].sort();
  for (const dir of ['k8s-manifests', 'k8s-manifests/overlays/keda', 'k8s-manifests/overlays/hpa']) {
    const g = grantsOf(build(dir), 'stash-hooks-worker');
    for (const t of tenant) assert.not.ok(triples(g.clusterWide).has(t), `${dir}: ${t} must not be cluster-wide`);
    assert.equal([...g.inNamespace.keys()].filter((ns) => ns !== 'stash-hooks').sort(), TENANTS, `${dir}: tenant namespaces`);
    for (const ns of TENANTS) assert.equal([...triples(g.inNamespace.get(ns)!)].sort(), tenant, `${dir}: grants in ${ns}`);
    for (const sa of ['stash-hooks-watcher', 'stash-hooks-coordinator']) {
      const other = grantsOf(build(dir), sa);
      assert.not.ok(
        [...other.inNamespace.values(), other.clusterWide].some((rules) => has(rules, 'pods/exec', 'create') || has(rules, 'secrets', 'get')),
        `${sa} must not exec or read Secrets`,
      );
    }
  }
  const wide = grantsOf(build('k8s-manifests/overlays/cluster-wide-exec'), 'stash-hooks-worker');
  for (const t of tenant) assert.ok(triples(wide.clusterWide).has(t), `cluster-wide-exec grants ${t} cluster-wide`);
  assert.equal([...wide.inNamespace.keys()], ['stash-hooks'], 'the cluster-wide overlay needs no tenant RoleBindings (only the own-pods one)');
});

run('the tenant-namespaces tool writes one RoleBinding per namespace and refuses bad names', async () => {
  const { tenantRoleBindings } = await import('../../k8s-manifests/tools/tenant-namespaces.js');
  const docs = parseAllDocuments(tenantRoleBindings(['team-a', 'team-b', 'team-a'])).map((d) => d.toJS() as Obj);
  assert.equal(
    docs.map((d) => [d.kind, d.metadata.namespace, d.roleRef.name]),
    [
      ['RoleBinding', 'team-a', 'stash-hooks-worker-tenant'],
      ['RoleBinding', 'team-b', 'stash-hooks-worker-tenant'],
    ],
  );
  assert.throws(() => tenantRoleBindings(['Team_A']), /"Team_A" is not a namespace name/);
  assert.throws(() => tenantRoleBindings([]), /at least one/);
});

run('NetworkPolicies: ingress denied by default; only ops, dashboard http and Redis from our pods', () => {
  const objs = build('k8s-manifests');
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
  const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress);
  assert.ok(deny, 'a default-deny ingress policy selects every pod');
  assert.equal(deny.spec.policyTypes, ['Ingress']);
  const podLabels = deployments(objs).map((d) => ({ d, labels: d.spec.template.metadata.labels as Record<string, string> }));
  const selected = (p: Obj) => podLabels.filter(({ labels }) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
  const ops = policies.find((p) => p.metadata.name === 'stash-hooks-allow-ops')!;
  assert.is(selected(ops).length, deployments(objs).length, 'every pod serves /healthz and /metrics');
  assert.equal(
    ops.spec.ingress.map((i: any) => i.ports.map((x: any) => x.port)),
    [['ops']],
  );
  const dash = policies.find((p) => p.metadata.name === 'stash-hooks-allow-dashboard')!;
  assert.equal(
    selected(dash).map(({ d }) => d.metadata.name),
    ['stash-hooks-dashboard'],
  );
  assert.equal(
    dash.spec.ingress.map((i: any) => i.ports.map((x: any) => x.port)),
    [['http']],
  );
  const redis = policies.find((p) => p.metadata.name === 'stash-hooks-allow-redis')!;
  assert.equal(redis.spec.ingress[0].from, [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'stash-hooks' } } }], 'Redis only from stash-hooks pods');
  for (const p of policies) {
    for (const rule of p.spec.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        if (typeof port.port === 'string')
          assert.ok(
            podLabels.some(({ d }) => containersOf(d).some((c) => c.ports?.some((cp: any) => cp.name === port.port))),
            `${where(p)} port ${port.port} names a container port`,
          );
      }
    }
  }
});

run('every pod and container is hardened, probed and sized', () => {
  for (const d of deployments(build('k8s-manifests'))) {
    const pod = d.spec.template.spec;
    assert.is(pod.securityContext?.runAsNonRoot, true, `${where(d)} pod runAsNonRoot`);
    assert.is(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where(d)} pod seccomp`);
    assert.ok(pod.serviceAccountName?.startsWith('stash-hooks-'), `${where(d)} has its own ServiceAccount`);
    for (const c of containersOf(d)) {
      const sc = c.securityContext ?? {};
      assert.is(sc.runAsNonRoot, true, `${where(d)} ${c.name} runAsNonRoot`);
      assert.is(sc.readOnlyRootFilesystem, true, `${where(d)} ${c.name} readOnlyRootFilesystem`);
      assert.is(sc.allowPrivilegeEscalation, false, `${where(d)} ${c.name} allowPrivilegeEscalation`);
      assert.equal(sc.capabilities?.drop, ['ALL'], `${where(d)} ${c.name} drops ALL capabilities`);
      assert.not.ok(sc.capabilities?.add?.length, `${where(d)} ${c.name} adds no capability`);
      assert.is(sc.seccompProfile?.type, 'RuntimeDefault', `${where(d)} ${c.name} seccomp`);
      assert.not.ok(sc.privileged, `${where(d)} ${c.name} privileged`);
      for (const kind of ['requests', 'limits']) {
        assert.ok(c.resources?.[kind]?.cpu && c.resources?.[kind]?.memory, `${where(d)} ${c.name} resources.${kind}`);
      }
      const ops = c.ports.find((p: any) => p.name === 'ops');
      assert.is(ops?.containerPort, 9090, `${where(d)} ops port`);
      assert.equal([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port], ['/healthz', 'ops'], `${where(d)} liveness`);
      assert.equal([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port], ['/readyz', 'ops'], `${where(d)} readiness`);
      // A read-only root needs a writable /tmp for tsx's compile cache.
      assert.ok(
        c.volumeMounts?.some((m: any) => m.mountPath === '/tmp'),
        `${where(d)} ${c.name} /tmp`,
      );
    }
  }
});

/** Env var names a role may be given: its settings, the dashboard secrets, and the downward API. */
function knownEnv(role: Role): Set<string> {
  const names = new Set(settingsFor(role).flatMap((s) => (s.env ? [s.env] : [])));
  if (['dashboard', 'all', 'demo'].includes(role)) for (const v of Object.values(SECRET_ENV)) names.add(v);
  if (['worker', 'all', 'demo'].includes(role)) names.add(OUTCOME_KEY_ENV);
  names.add('POD_NAME');
  names.add('POD_NAMESPACE');
  return names;
}

run('every Deployment runs a real role with flags and environment that role knows', () => {
  const objs = build('k8s-manifests');
  const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'stash-hooks-config')!;
  const allEnv = new Set(SETTINGS.flatMap((s) => (s.env ? [s.env] : [])));
  for (const key of Object.keys(config.data)) assert.ok(allEnv.has(key), `ConfigMap key ${key} is not a setting`);
  assert.is(config.data.STASH_HOOKS_HTTP_HOST, '0.0.0.0', 'probes must reach the ops server');
  assert.is(config.data.STASH_HOOKS_HTTP_PORT, '9090');

  for (const d of deployments(objs)) {
    const [c] = d.spec.template.spec.containers;
    const [role, ...flags] = c.args as string[];
    assert.ok((ROLES as readonly string[]).includes(role), `${where(d)}: "${role}" is not a role`);
    assert.not.ok(['all', 'devcluster', 'demo'].includes(role), `${where(d)} runs a development role`);
    const roleFlags = new Set(settingsFor(role as Role).map((s) => s.flag));
    for (const flag of flags.filter((f) => f.startsWith('--'))) assert.ok(roleFlags.has(flag.split('=')[0]), `${where(d)}: ${flag} is not a ${role} setting`);
    const known = knownEnv(role as Role);
    for (const e of c.env ?? []) assert.ok(known.has(e.name), `${where(d)}: env ${e.name} is not a ${role} setting`);
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) assert.ok(['stash-hooks-redis', 'stash-hooks-dashboard', 'stash-hooks-outcome'].includes(ref.name), `${where(d)} reads Secret ${ref.name}`);
    }
    // Every worker verifies the outcomes the others kept, so all of them get the same key.
    if (role === 'worker') {
      assert.ok(
        c.env.some((e: any) => e.name === OUTCOME_KEY_ENV && e.valueFrom?.secretKeyRef?.name === 'stash-hooks-outcome'),
        `${where(d)} ${OUTCOME_KEY_ENV} from the Secret`,
      );
    }
    assert.ok(
      c.envFrom?.some((f: any) => f.configMapRef?.name === 'stash-hooks-config'),
      `${where(d)} uses the shared ConfigMap`,
    );
    assert.ok(
      c.env.some((e: any) => e.name === 'REDIS_URL' && e.valueFrom?.secretKeyRef?.key === 'url'),
      `${where(d)} REDIS_URL from the Secret`,
    );
  }
});

run('one worker pool per hook queue; PDBs and the Service select real pods', () => {
  const objs = build('k8s-manifests');
  const workers = deployments(objs).filter((d) => d.spec.template.spec.containers[0].args[0] === 'worker');
  const queues = workers.map((d) => {
    const args = d.spec.template.spec.containers[0].args as string[];
    return args[args.indexOf('--queues') + 1];
  });
  assert.equal(queues.sort(), [...HOOK_QUEUES].sort());
  const podLabels = deployments(objs).map((d) => d.spec.template.metadata.labels as Record<string, string>);
  const selects = (sel: Record<string, string>) => podLabels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v));
  const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget');
  assert.ok(pdbs.length >= 2 + HOOK_QUEUES.length);
  for (const p of pdbs) assert.ok(selects(p.spec.selector.matchLabels), `${where(p)} selects no pod`);
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'stash-hooks-dashboard')!;
  assert.ok(selects(svc.spec.selector));
  const dash = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'stash-hooks-dashboard')!;
  const [c] = dash.spec.template.spec.containers;
  const http = c.ports.find((p: any) => p.name === svc.spec.ports[0].targetPort);
  assert.ok(http, 'Service targetPort names a container port');
  assert.is(String(http.containerPort), c.env.find((e: any) => e.name === 'STASH_HOOKS_DASHBOARD_PORT').value);
  assert.is(c.env.find((e: any) => e.name === 'STASH_HOOKS_DASHBOARD_HOST').value, '0.0.0.0');
  for (const key of ['STASH_HOOKS_DASHBOARD_USER', 'STASH_HOOKS_DASHBOARD_PASSWORD']) {
    assert.ok(
      c.env.some((e: any) => e.name === key && e.valueFrom?.secretKeyRef),
      `${key} from a Secret, so a non-loopback dashboard has credentials`,
    );
  }
  assert.is(dash.spec.template.spec.automountServiceAccountToken, true, "the Sessions page reads sessions with the pod's token");
});

run('keda: a ScaledObject per worker pool on its BullMQ wait list; replicas left to KEDA', () => {
  const objs = build('k8s-manifests/overlays/keda');
  const prefix = objs.find((o) => o.kind === 'ConfigMap')!.data.STASH_HOOKS_PREFIX;
  const scaled = objs.filter((o) => o.kind === 'ScaledObject');
  assert.is(scaled.length, HOOK_QUEUES.length);
  for (const q of HOOK_QUEUES) {
    const so = scaled.find((s) => s.spec.scaleTargetRef.name === `stash-hooks-worker-${q}`);
    assert.ok(so, `no ScaledObject for ${q}`);
    const target = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === so.spec.scaleTargetRef.name)!;
    assert.is(target.spec.replicas, undefined, `${where(target)} keeps no fixed replicas under KEDA`);
    const [trigger] = so.spec.triggers;
    assert.is(trigger.type, 'redis');
    // BullMQ 6 keeps waiting job ids in the LIST `<prefix>:<queue>:wait` (QueueKeys 'wait',
    // pushed by addJobInTargetList); KEDA's redis scaler reads its LLEN.
    assert.is(trigger.metadata.listName, `${prefix}:${q}:wait`);
    const auth = objs.find((o) => o.kind === 'TriggerAuthentication' && o.metadata.name === trigger.authenticationRef.name);
    assert.ok(auth, 'authenticationRef names a TriggerAuthentication');
    assert.ok(auth.spec.secretTargetRef.every((r: any) => r.name === 'stash-hooks-redis'));
  }
});

run('hpa: an autoscaling/v2 HPA per worker pool on its queue depth', () => {
  const objs = build('k8s-manifests/overlays/hpa');
  const hpas = objs.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  assert.is(hpas.length, HOOK_QUEUES.length);
  for (const q of HOOK_QUEUES) {
    const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === `stash-hooks-worker-${q}`);
    assert.ok(hpa, `no HPA for ${q}`);
    assert.ok(objs.some((o) => o.kind === 'Deployment' && o.metadata.name === hpa.spec.scaleTargetRef.name));
    const external = hpa.spec.metrics.find((m: any) => m.type === 'External');
    assert.is(external.external.metric.name, 'stash_hooks_queue_depth', 'the metric shared/metrics.ts exports');
    assert.equal(external.external.metric.selector.matchLabels, { queue: q, state: 'waiting' });
  }
});

test.run();
