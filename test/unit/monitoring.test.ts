// k8s-manifests/components/monitoring: the kustomize component builds with the base, its
// PodMonitor finds the pods' metrics port, the alerting rules pass `promtool check rules` and
// their unit tests (`promtool test rules`, rules.test.yaml), and every metric the rules and the
// Grafana dashboard use is one shared/metrics.ts defines. Also the gauges added for them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { Registry } from 'prom-client';
import { createMetrics, queueAgesFrom } from '../../shared/metrics.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(root, 'k8s-manifests/components/monitoring');
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const havePromtool = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).status === 0;
const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};
const rulesSpec = () =>
  (parse(readFileSync(join(DIR, 'prometheus-rules.yaml'), 'utf8')) as { spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> } }).spec;
const dashboard = () =>
  JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; type: string; targets: Array<{ expr: string }> }> };

// A skipped test is registered and counted as skipped (test/run.mjs sums uvu's "Skipped").
const withPromtool = havePromtool ? test : test.skip;
if (!havePromtool) process.stdout.write(`no promtool at ${PROMTOOL}: the rule checks are skipped (apt-get install -y prometheus)\n`);
const withKubectl = haveKubectl ? test : test.skip;
if (!haveKubectl) process.stdout.write('kubectl not on PATH: the component build test is skipped\n');

withKubectl("the component builds with the base: PodMonitor on the pods' ops port, the rules, the dashboard ConfigMap", () => {
  const dir = mkdtempSync(join(tmpdir(), 'monitoring-'));
  try {
    const rel = relative(dir, root);
    writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${rel}/k8s-manifests]\ncomponents: [${rel}/k8s-manifests/components/monitoring]\n`);
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.is(r.status, 0, r.stderr);
    const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    const pm = objs.find((o) => o.kind === 'PodMonitor')!;
    assert.ok(pm, 'a PodMonitor');
    const selector = (pm.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
    const port = (pm.spec!.podMetricsEndpoints as Array<{ port: string }>)[0].port;
    const deployments = objs.filter((o) => o.kind === 'Deployment') as Array<
      Obj & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ ports?: Array<{ name?: string }> }> } } } }
    >;
    assert.ok(deployments.length >= 6);
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      assert.ok(
        Object.entries(selector).every(([k, v]) => labels[k] === v),
        `${d.metadata.name}'s pods match the PodMonitor`,
      );
      assert.ok(
        d.spec.template.spec.containers.some((c) => c.ports?.some((p) => p.name === port)),
        `${d.metadata.name} has a port named ${port}`,
      );
    }
    assert.is(objs.find((o) => o.kind === 'PrometheusRule')?.metadata.namespace, 'stash-hooks');
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
    assert.is(JSON.parse(cm.data!['stash-hooks.json']).uid, 'stash-hooks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

withPromtool('promtool check rules and promtool test rules pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify(rulesSpec()));
    copyFileSync(join(DIR, 'rules.test.yaml'), join(dir, 'rules.test.yaml'));
    const check = spawnSync(PROMTOOL, ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.is(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, 'SUCCESS: 5 rules found');
    const unit = spawnSync(PROMTOOL, ['test', 'rules', 'rules.test.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.is(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout + unit.stderr, 'SUCCESS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

withPromtool('promtool test rules fails when an alert does not behave as its test says', () => {
  // The rule tests can fail: with the backlog threshold raised, the expected alert is missing.
  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  try {
    const spec = rulesSpec();
    for (const g of spec.groups) for (const r of g.rules) if (r.alert === 'StashHooksQueueBacklog') r.expr = r.expr.replace('> 600', '> 6000');
    writeFileSync(join(dir, 'rules.yaml'), stringify(spec));
    copyFileSync(join(DIR, 'rules.test.yaml'), join(dir, 'rules.test.yaml'));
    const unit = spawnSync(PROMTOOL, ['test', 'rules', 'rules.test.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.is.not(unit.status, 0);
    assert.match(unit.stdout + unit.stderr, 'StashHooksQueueBacklog');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every metric the rules and the dashboard use is defined in shared/metrics.ts', async () => {
  const registry = new Registry();
  createMetrics(registry, { defaultMetrics: false });
  const defined = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    defined.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) defined.add(m.name + s);
  }
  const exprs = [...rulesSpec().groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard().panels.flatMap((p) => p.targets.map((t) => t.expr))];
  const used = new Set(exprs.flatMap((e) => e.match(/\bstash_hooks_[a-z_]+/g) ?? []));
  assert.ok(used.size >= 10, [...used].join(', '));
  for (const name of used) assert.ok(defined.has(name), `${name} is used but shared/metrics.ts does not define it`);
});

test('the dashboard has the panels operators look for', () => {
  const titles = dashboard().panels.map((p) => p.title);
  for (const want of [
    'Hooks per second by phase and result',
    'Hook duration histogram',
    'Dispatch latency histogram',
    'Queue depth by queue and state',
    'Oldest waiting job per queue',
    'Failed sessions',
    'Watcher leader',
  ]) {
    assert.ok(titles.includes(want), want);
  }
});

test('the oldest-waiting, stalled and session gauges report what their sources say', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { defaultMetrics: false });
  const now = 1_000_000;
  metrics.setQueueAgeSource(
    queueAgesFrom(
      [
        { name: 'pre-backup', getJobs: async () => [{ timestamp: now - 90_000 }] },
        { name: 'post-backup', getJobs: async () => [] },
      ],
      () => now,
    ),
  );
  metrics.jobsStalled.inc({ queue: 'pre-backup' });
  const past = new Date(Date.now() - 60_000).toISOString();
  const future = new Date(Date.now() + 60_000).toISOString();
  metrics.setSessionSource(() => [
    { kind: 'BackupSession', phase: 'Running', deadline: past },
    { kind: 'BackupSession', phase: 'Failed', deadline: past },
    { kind: 'BackupSession', phase: 'Running', deadline: future },
    { kind: 'RestoreSession' },
  ]);
  const text = await registry.metrics();
  assert.match(text, 'stash_hooks_queue_oldest_waiting_seconds{queue="pre-backup"} 90');
  assert.match(text, 'stash_hooks_queue_oldest_waiting_seconds{queue="post-backup"} 0');
  assert.match(text, 'stash_hooks_jobs_stalled_total{queue="pre-backup"} 1');
  assert.match(text, 'stash_hooks_sessions{kind="BackupSession",phase="Running"} 2');
  assert.match(text, 'stash_hooks_sessions{kind="BackupSession",phase="Failed"} 1');
  assert.match(text, 'stash_hooks_sessions{kind="RestoreSession",phase="Pending"} 1');
  assert.match(text, 'stash_hooks_sessions_past_deadline{kind="BackupSession"} 1');
  assert.match(text, 'stash_hooks_sessions_past_deadline{kind="RestoreSession"} 0');
});

test.run();
