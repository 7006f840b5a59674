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
import { ROLES, SETTINGS, SECRET_ENV, settingsFor, type Role } from '../../shared/config.js';
import { HOOK_QUEUES } from '../../shared/queues.js';
import { kubectlUnavailable, skipUnless } from '../helpers/skip.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

const root = fileURLToPath(new URL('../../', import.meta.url));
const TARGETS = ['k8s-manifests', 'k8s-manifests/overlays/keda', 'k8s-manifests/overlays/hpa'] as const;
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
      if (obj.kind !== 'Namespace' && obj.kind !== 'CustomResourceDefinition' && !obj.kind.startsWith('ClusterRole')) {
        assert.is(obj.metadata.namespace, 'stash-hooks', `${where(obj)} namespace`);
      }
    }
  });
}

run('every container of every target runs the runtime image, pinned by digest', () => {
  for (const dir of TARGETS) {
    for (const d of deployments(build(dir))) {
      for (const c of containersOf(d)) assert.match(c.image, /^[a-z0-9.-]+(?::\d+)?\/stash-hooks@sha256:[0-9a-f]{64}$/, `${dir} ${where(d)} ${c.name}: ${c.image}`);
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
  for (const name of ['backupconfigurations.stash.appscode.com', 'backupbatches.stash.appscode.com', 'backupsessions.stash.appscode.com', 'restoresessions.stash.appscode.com', 'appbindings.appcatalog.appscode.com']) {
    assert.ok(kinds.has(`CustomResourceDefinition/${name}`), name);
  }
  assert.ok(kinds.has('Namespace/stash-hooks'));
  for (const role of ['watcher', 'coordinator', 'dashboard']) assert.ok(kinds.has(`Deployment/stash-hooks-${role}`), role);
  for (const q of HOOK_QUEUES) assert.ok(kinds.has(`Deployment/stash-hooks-worker-${q}`), q);
  assert.ok(kinds.has('Service/stash-hooks-dashboard'));
  assert.is(objs.find((o) => o.metadata.name === 'stash-hooks-watcher' && o.kind === 'Deployment')!.spec.replicas, 2);
  assert.not.ok(objs.some((o) => o.kind === 'Secret'), 'no Secret is committed; Deployments reference them');
});

run('RBAC is least-privilege: no wildcards, secrets get only, exec and leases only where needed', () => {
  const objs = build('k8s-manifests');
  const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  assert.ok(roles.length >= 4);
  const grants = (name: string) => roles.filter((r) => r.metadata.name.startsWith(name)).flatMap((r) => r.rules as any[]);
  for (const role of roles) {
    for (const rule of role.rules as any[]) {
      for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames', 'nonResourceURLs']) {
        assert.not.ok((rule[field] ?? []).some((v: string) => v.includes('*')), `${where(role)} ${field} has a wildcard`);
      }
      if (rule.resources.includes('secrets')) assert.equal(rule.verbs, ['get'], `${where(role)} may only get secrets`);
      for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) assert.not.ok(rule.verbs.includes(verb), `${where(role)} ${verb}`);
    }
  }
  const has = (rules: any[], resource: string, verb: string) => rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
  for (const name of ['stash-hooks-watcher', 'stash-hooks-coordinator']) {
    assert.not.ok(has(grants(name), 'pods/exec', 'create'), `${name} must not exec`);
    assert.not.ok(has(grants(name), 'secrets', 'get'), `${name} must not read secrets`);
  }
  assert.ok(has(grants('stash-hooks-worker'), 'pods/exec', 'create'));
  assert.ok(has(grants('stash-hooks-worker'), 'secrets', 'get'));
  assert.ok(has(grants('stash-hooks-watcher'), 'leases', 'update'));
  assert.not.ok(has(grants('stash-hooks-worker'), 'leases', 'update'));
  assert.not.ok(has(grants('stash-hooks-watcher'), 'backupsessions/status', 'patch'), 'the watcher writes nothing');
  for (const name of ['stash-hooks-coordinator', 'stash-hooks-worker']) {
    for (const resource of ['backupsessions/status', 'restoresessions/status']) {
      assert.ok(has(grants(name), resource, 'patch') && has(grants(name), resource, 'update'), `${name} ${resource}`);
    }
    assert.not.ok(has(grants(name), 'backupsessions', 'update'), `${name} writes status only`);
    assert.ok(has(grants(name), 'events', 'create'), `${name} records Events`);
  }
  // Every binding names a ServiceAccount of ours and a role that exists.
  for (const b of objs.filter((o) => o.kind.endsWith('Binding'))) {
    assert.ok(roles.some((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name), `${where(b)} roleRef`);
    for (const s of b.subjects) {
      assert.is(s.kind, 'ServiceAccount');
      assert.ok(objs.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === s.name && s.namespace === 'stash-hooks'), `${where(b)} subject ${s.name}`);
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
      assert.ok(c.volumeMounts?.some((m: any) => m.mountPath === '/tmp'), `${where(d)} ${c.name} /tmp`);
    }
  }
});

/** Env var names a role may be given: its settings, the dashboard secrets, and the downward API. */
function knownEnv(role: Role): Set<string> {
  const names = new Set(settingsFor(role).flatMap((s) => (s.env ? [s.env] : [])));
  if (['dashboard', 'all', 'demo'].includes(role)) for (const v of Object.values(SECRET_ENV)) names.add(v);
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
      if (ref) assert.ok(['stash-hooks-redis', 'stash-hooks-dashboard'].includes(ref.name), `${where(d)} reads Secret ${ref.name}`);
    }
    assert.ok(c.envFrom?.some((f: any) => f.configMapRef?.name === 'stash-hooks-config'), `${where(d)} uses the shared ConfigMap`);
    assert.ok(c.env.some((e: any) => e.name === 'REDIS_URL' && e.valueFrom?.secretKeyRef?.key === 'url'), `${where(d)} REDIS_URL from the Secret`);
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
    assert.ok(c.env.some((e: any) => e.name === key && e.valueFrom?.secretKeyRef), `${key} from a Secret, so a non-loopback dashboard has credentials`);
  }
  assert.is(dash.spec.template.spec.automountServiceAccountToken, false, 'the dashboard needs no Kubernetes token');
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
