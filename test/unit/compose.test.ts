// docker-compose.yml, the Dockerfile and .dockerignore, read as a person reviewing them would:
// every service of our image runs a real role with flags and environment that role knows, every
// published port is one something listens on, and the image gets every source the CLI loads.
// (No Docker engine runs here, so nothing is built or started.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { OUTCOME_KEY_ENV, ROLES, SECRET_ENV, SETTINGS, settingsFor, type Role } from '../../shared/config.js';
import { HOOK_QUEUES } from '../../shared/queues.js';
import { parseDevClusterArgs } from '../../devcluster/index.js';
import { isLoopbackHost } from '../../dashboard/auth.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(join(root, p), 'utf8');

type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  cap_drop?: string[];
};
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
/** The services that run one of our two images (stash-hooks:dev from target runtime, :dev-demo from demo). */
const ours = Object.entries(services).filter(([, s]) => s.image?.startsWith('stash-hooks:') || s.build !== undefined);

/** What a role service listens on, from its command and environment (the CLI's defaults otherwise). */
function listeners(s: Service): number[] {
  const [role, ...args] = s.command ?? [];
  const env = s.environment ?? {};
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  if (role === 'devcluster') return [Number(flag('--port') ?? 0)];
  const out: number[] = [];
  if (['watcher', 'coordinator', 'worker', 'dashboard', 'all'].includes(role)) out.push(Number(flag('--http-port') ?? env.STASH_HOOKS_HTTP_PORT ?? 9090));
  if (['dashboard', 'all', 'demo'].includes(role)) out.push(Number(flag('--dashboard-port') ?? env.STASH_HOOKS_DASHBOARD_PORT ?? 3000));
  return out;
}

/** The services sharing `name`'s network namespace, itself included. */
function namespaceOf(name: string): string[] {
  return Object.entries(services)
    .filter(([n, s]) => n === name || s.network_mode === `service:${name}`)
    .map(([n]) => n);
}

test('the services the design lists are there', () => {
  for (const name of ['redis', 'devcluster', 'watcher', 'coordinator', 'dashboard', 'examples']) assert.ok(services[name], name);
  const workers = ours.filter(([, s]) => s.command?.[0] === 'worker');
  assert.is(workers.length, 2, 'two workers');
  const consumed = workers.flatMap(([, s]) => s.command![s.command!.indexOf('--queues') + 1].split(','));
  assert.equal(consumed.sort(), [...HOOK_QUEUES].sort(), 'together the workers consume every hook queue');
  assert.ok(ours.length >= 6);
});

test('the roles run the runtime image; devcluster, which the runtime image leaves out, the demo image', () => {
  for (const [name, s] of ours) {
    const target = (s.build as { target?: string } | undefined)?.target;
    const expected = s.command?.[0] === 'devcluster' ? 'demo' : 'runtime';
    assert.is(target, expected, `${name} builds target ${target}`);
    assert.is(s.image, expected === 'demo' ? 'stash-hooks:dev-demo' : 'stash-hooks:dev', `${name}'s image`);
  }
});

test('every service of our image runs a real role with flags that role has', () => {
  for (const [name, s] of ours) {
    const [role, ...args] = s.command ?? [];
    assert.ok((ROLES as readonly string[]).includes(role), `${name}: "${role}" is not a role`);
    if (role === 'devcluster') {
      parseDevClusterArgs(args); // throws on a flag devcluster does not have
      continue;
    }
    const flags = new Set(settingsFor(role as Role).map((x) => x.flag));
    for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(flags.has(a.split('=')[0]), `${name}: ${a} is not a ${role} setting`);
  }
});

test("every environment variable is a setting of the service's role", () => {
  for (const [name, s] of ours) {
    const role = s.command![0] as Role;
    const known = new Set(settingsFor(role).flatMap((x) => (x.env ? [x.env] : [])));
    if (['dashboard', 'all', 'demo'].includes(role)) for (const v of Object.values(SECRET_ENV)) known.add(v);
    if (['worker', 'all', 'demo'].includes(role)) known.add(OUTCOME_KEY_ENV);
    for (const key of Object.keys(s.environment ?? {})) assert.ok(known.has(key), `${name}: ${key} is not a ${role} setting`);
  }
});

test('Redis has no default user; every role logs in as the ACL user, workers share the outcome key', () => {
  const redis = services.redis.command!.join(' ');
  assert.match(redis, '--user default off');
  assert.match(redis, /--user stash-hooks on >\$\{STASH_HOOKS_REDIS_PASSWORD:\?[^}]+\} resetkeys ~stash-hooks:\*/);
  assert.match(redis, '-@dangerous');
  for (const [name, s] of ours) {
    const url = s.environment?.REDIS_URL;
    if (url !== undefined) assert.match(url, /^redis:\/\/stash-hooks:\$\{STASH_HOOKS_REDIS_PASSWORD:\?/, `${name} REDIS_URL`);
    if (s.command![0] === 'worker')
      assert.match(s.environment?.[OUTCOME_KEY_ENV] ?? '', /^\$\{STASH_HOOKS_OUTCOME_KEY:\?/, `${name}: the outcome key is required`);
  }
});

test("every published port is one a role listens on, bound to the host's loopback", () => {
  let published = 0;
  for (const [name, s] of Object.entries(services)) {
    for (const spec of s.ports ?? []) {
      published++;
      const parts = String(spec).split(':');
      assert.is(parts.length, 3, `${name}: publish as host-ip:host-port:container-port, got ${spec}`);
      assert.ok(isLoopbackHost(parts[0]), `${name}: ${spec} is published beyond the host's loopback`);
      const containerPort = Number(parts[2]);
      const listening = namespaceOf(name).flatMap((n) => (ours.some(([o]) => o === n) ? listeners(services[n]) : []));
      assert.ok(
        listening.includes(containerPort),
        `${name}: ${spec} but nothing in its network namespace listens on ${containerPort} (${listening.join(', ')})`,
      );
    }
  }
  assert.ok(published >= 5);
});

test('no two processes of one network namespace listen on the same port', () => {
  for (const name of Object.keys(services)) {
    if (services[name].network_mode) continue;
    const ports = namespaceOf(name).flatMap((n) => (ours.some(([o]) => o === n) ? listeners(services[n]) : []));
    assert.equal(ports, [...new Set(ports)], `${name}'s namespace: ${ports.join(', ')}`);
  }
});

test('services that reach off their loopback are protected; one-shots and mounts are wired', () => {
  for (const [name, s] of ours) {
    assert.is(s.read_only, true, `${name} read_only`);
    assert.equal(s.cap_drop, ['ALL'], `${name} cap_drop`);
    const env = s.environment ?? {};
    if (['dashboard', 'all'].includes(s.command![0]) && !isLoopbackHost(env.STASH_HOOKS_DASHBOARD_HOST ?? '127.0.0.1')) {
      assert.ok(env[SECRET_ENV.dashboardPassword] || env[SECRET_ENV.dashboardToken], `${name}: a non-loopback dashboard without credentials`);
      assert.match(env[SECRET_ENV.dashboardPassword] ?? '', /^\$\{[A-Z_]+:\?/, `${name}: the password comes from the environment, required`);
    }
    for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(services[dep], `${name} depends on unknown ${dep}`);
  }
  assert.equal(services.examples.depends_on?.crds, { condition: 'service_completed_successfully' });
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const source = v.split(':')[0];
      if (!source.startsWith('.')) continue;
      // examples/ is written by the demo work (issue 6 runs in parallel); until it lands the
      // one-shot has nothing to apply, which is said here rather than failed.
      if (source === './examples' && !existsSync(join(root, source))) {
        process.stdout.write('note: examples/ does not exist yet; the examples one-shot would apply nothing\n');
        continue;
      }
      assert.ok(existsSync(join(root, source)), `${name}: ${source} does not exist`);
    }
  }
});

const dockerfile = read('Dockerfile');

/** The instructions of one stage of the Dockerfile, `FROM … AS name` up to the next FROM. */
function stage(name: string): string {
  const m = new RegExp(`^FROM \\S+ AS ${name}\\n([\\s\\S]*?)(?=^FROM |(?![\\s\\S]))`, 'm').exec(dockerfile);
  assert.ok(m, `the Dockerfile has no stage ${name}`);
  return m[0];
}

test('Dockerfile: a pinned base, a build stage, production dependencies from the lockfile', () => {
  assert.match(dockerfile, /^ARG BASE_IMAGE=node:24-bookworm-slim@sha256:[0-9a-f]{64}$/m, 'the base is Node 24, pinned by digest');
  assert.match(stage('build'), /npm ci [^\n]*--ignore-scripts/);
  assert.match(stage('build'), /^RUN npm run build$/m);
  assert.match(stage('prod-deps'), /npm ci --omit=dev/);
});

test('Dockerfile runtime target: production roles only, non-root, tini, a HEALTHCHECK on /healthz', () => {
  const runtime = stage('runtime');
  const user = /^USER\s+(\S+)/m.exec(runtime)?.[1] ?? '';
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root USER, so runAsNonRoot can verify it');
  assert.match(runtime, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "stash-hooks"\]$/m);
  assert.match(runtime, /apt-get install [^\n]*\btini\b/);
  assert.match(runtime, /^HEALTHCHECK [\s\S]*?\/healthz/m);
  assert.match(runtime, /ln -s \/app\/bin\/stash-hooks\.js \/usr\/local\/bin\/stash-hooks/);
  const instructions = runtime.replace(/^\s*#.*\n/gm, '');
  assert.not.match(instructions, /devcluster|examples|typescript|tsx|COPY \. /, 'no devcluster, examples, compiler or whole-context copy');
  const copied = [...runtime.matchAll(/^COPY --from=build \/src\/dist\/(\S+) dist\//gm)].map((m) => m[1]);
  assert.equal(copied.sort(), ['cli', 'dashboard', 'producers', 'shared', 'workers']);
  const demo = stage('demo');
  assert.match(demo, /^FROM runtime AS demo$/m);
  assert.match(demo, /^COPY --from=build \/src\/dist\/devcluster dist\/devcluster$/m);
  assert.match(demo, /^COPY examples examples$/m);
});

/** Relative and package imports, followed from `entry`; `stopAt` files are not followed (nor counted). */
function importGraph(entry: string, stopAt: string[] = []): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(root, entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file) || stopAt.some((s) => file === join(root, s))) continue;
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (/^import type /.test(m[0]) || /^export type /.test(m[0])) continue;
      if (spec.startsWith('.')) {
        let target = resolve(dirname(file), spec);
        if (!existsSync(target)) target = target.replace(/\.js$/, '.ts');
        if (existsSync(target)) queue.push(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return { files, packages };
}

const DEVELOPMENT_ROLES = ['cli/demo.ts', 'cli/devcluster-role.ts'];

test('bin/stash-hooks.js runs the compiled cli/bin.ts; run-time packages are production dependencies, never tsx', () => {
  assert.match(read('bin/stash-hooks.js'), /new URL\('\.\.\/dist\/cli\/bin\.js', import\.meta\.url\)/);
  assert.not.match(read('bin/stash-hooks.js'), /tsx/);
  const { files, packages } = importGraph('cli/bin.ts');
  assert.ok(files.size > 10, `followed only ${files.size} files from cli/bin.ts`);
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const p of packages) assert.ok(pkg.dependencies[p], `${p} is imported at run time but is not in dependencies (npm ci --omit=dev drops it)`);
  for (const dev of ['tsx', 'typescript']) {
    assert.not.ok(pkg.dependencies[dev], `${dev} is a production dependency`);
    assert.ok(pkg.devDependencies[dev], `${dev} is a dev dependency`);
  }
});

test('the production roles never load devcluster: it is reached only through the development roles', () => {
  const { files } = importGraph('cli/bin.ts', DEVELOPMENT_ROLES);
  const leaked = [...files].map((f) => relative(root, f)).filter((f) => f.startsWith('devcluster/'));
  assert.equal(leaked, [], 'devcluster/ files the production roles import');
  const tops = new Set([...files].map((f) => relative(root, f).split('/')[0]));
  assert.equal([...tops].sort(), ['cli', 'dashboard', 'producers', 'shared', 'workers'], 'what the runtime target copies from dist/');
  assert.match(read('cli/roles.ts'), /import\('\.\/devcluster-role\.js'\)/);
  assert.match(read('cli/roles.ts'), /import\('\.\/demo\.js'\)/);
});

test('.dockerignore lets in every source the build compiles and every file the demo reads', () => {
  const allowed = read('.dockerignore')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  assert.ok(read('.dockerignore').split('\n').includes('*'), 'an allow-list: everything else stays out');
  const covered = (path: string) => allowed.some((a) => path === a || path.startsWith(`${a}/`));
  const { files } = importGraph('cli/bin.ts');
  for (const file of files) {
    assert.ok(covered(relative(root, file)), `${relative(root, file)} is compiled for the image but .dockerignore leaves it out`);
  }
  const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
  for (const dir of build.include) {
    assert.ok(covered(dir), `tsconfig.build.json compiles ${dir}/ but .dockerignore leaves it out`);
    assert.match(stage('build'), new RegExp(`^COPY ${dir} ${dir}$`, 'm'), `the build stage copies ${dir}/`);
  }
  // Files read at run time through a path built from the package root, e.g. cli/demo.ts's
  // `${ROOT}k8s-manifests/base/crds/…` and `${ROOT}examples`: in the context and in the demo image.
  const topDirs = new Set(
    readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
  );
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\}([a-z0-9-]+(?:\/[A-Za-z0-9._-]+)*)/g)) {
      const path = m[1].replace(/\/$/, '');
      if (!topDirs.has(path.split('/')[0])) continue;
      assert.ok(covered(path), `${relative(root, file)} reads ${path} at run time but .dockerignore leaves it out`);
      const top = path
        .split('/')
        .slice(0, path.startsWith('k8s-manifests') ? 3 : 1)
        .join('/');
      assert.match(stage('demo'), new RegExp(`^COPY ${top} ${top}$`, 'm'), `the demo image lacks ${top}, which ${relative(root, file)} reads`);
    }
  }
});

test('docs/operations.md documents every setting, flag and variable', () => {
  const doc = read('docs/operations.md');
  for (const s of SETTINGS) {
    assert.ok(doc.includes(`\`${s.flag}\``), `${s.flag} missing from the settings table`);
    if (s.env) assert.ok(doc.includes(`\`${s.env}\``), `${s.env} missing from the settings table`);
  }
  for (const v of Object.values(SECRET_ENV)) assert.ok(doc.includes(v), `${v} missing`);
});

test.run();
