// The bad-input corpus (issue 8, test/corpus/*.yaml): every case is applied to one running
// pipeline (devcluster, watcher, coordinator, hook workers on real Redis) and must give a clear
// message — in a condition, a Kubernetes Event, the API server's answer or the roles' logs — and
// no process may crash: no uncaught exception or unhandled rejection, and afterwards a good
// session still succeeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CoreV1Api } from '@kubernetes/client-node';
import { startPipeline, appYaml, capturingLogger, waitFor, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession, Session } from '../../shared/resources.js';

const dir = fileURLToPath(new URL('../corpus/', import.meta.url));
const load = <T>(f: string): T[] => parse(readFileSync(dir + f, 'utf8')) as T[];
interface HookCase {
  name: string;
  hook: unknown;
  expect: string;
}
interface TplCase {
  name: string;
  body?: string;
  path?: string;
  header?: string;
  command?: string[];
  expect: string;
}
interface SessionCase {
  name: string;
  session?: { spec?: unknown };
  invoker?: { kind: string; spec: unknown };
  status?: unknown;
  where: 'any' | 'alive';
  expect?: string;
}
const hookCases = load<HookCase>('bad-hooks.yaml');
const tplCases = load<TplCase>('bad-templates.yaml');
const sessionCases = load<SessionCase>('bad-sessions.yaml');
const NS = 'corpus';

let p: Pipeline;
const logs: string[] = [];
const crashes: string[] = [];
const onCrash = (err: unknown) => crashes.push(String((err as Error)?.stack ?? err));

test.before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  p = await startPipeline({ logger: capturingLogger(logs), concurrency: 20, defaultHookTimeoutSeconds: 10 });
  await p.apply(appYaml(NS, 'app'));
  await p.apply(
    `apiVersion: v1\nkind: Secret\nmetadata: {name: corpus-secret, namespace: ${NS}, labels: {stash-hooks.dev/hook-secret: "true"}}\nstringData: {token: abc}\n`,
  );
});
test.after(async () => {
  await p?.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

const cfg = (name: string, spec: unknown) => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'BackupConfiguration',
  metadata: { name, namespace: NS },
  spec,
});
const session = (name: string, invoker: { kind: string; name: string } | undefined, spec?: unknown) => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'BackupSession',
  metadata: { name, namespace: NS },
  spec: spec ?? { invoker: { apiGroup: 'stash.appscode.com', ...invoker } },
});
const target = { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } };

/** Everything a user can read about a session: its status (all conditions), its Events, and the logs. */
async function visible(name: string): Promise<string> {
  const s = await p.getSession('BackupSession', NS, name).catch(() => undefined);
  const events = await p.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NS });
  const ev = events.items.filter((e) => e.involvedObject?.name === name).map((e) => `${e.reason}: ${e.message}`);
  return [JSON.stringify(s?.status ?? {}), ...ev, ...logs.filter((l) => l.includes(name))].join('\n');
}

async function finalPhase(name: string): Promise<Session> {
  return waitFor(
    `${name} to finish`,
    async () => {
      const s = await p.getSession('BackupSession', NS, name);
      return ['Succeeded', 'Failed'].includes(s.status?.phase ?? '') ? s : undefined;
    },
    40_000,
  );
}

test(`corpus: ${hookCases.length} bad hooks and ${tplCases.length} bad templates fail their session with a clear message`, async () => {
  const sinkPort = p.sink.port;
  p.sink.statusFor.set('/status500', 500);
  const rejected = new Map<string, string>();
  const cases: Array<{ name: string; expect: string; hook: unknown }> = [
    ...hookCases.map((c) => ({
      name: c.name,
      expect: c.expect,
      hook: JSON.parse(
        JSON.stringify(c.hook)
          .replaceAll('"$SINK"', String(sinkPort))
          .replaceAll('$SINK', String(sinkPort))
          .replaceAll('$BIG', 'x'.repeat(4 * 1024 * 1024)),
      ),
    })),
    ...tplCases.map((c) => ({
      name: c.name,
      expect: c.expect,
      hook: c.command
        ? { exec: { command: c.command } }
        : {
            httpPost: {
              host: '127.0.0.1',
              port: sinkPort,
              path: c.path ?? `/tpl/${c.name}`,
              body: c.body ?? 'x',
              ...(c.header ? { httpHeaders: [{ name: 'X-T', value: c.header }] } : {}),
            },
          },
    })),
  ];
  assert.ok(cases.length + sessionCases.length >= 60, `corpus has ${cases.length + sessionCases.length} cases`);
  for (const c of cases) {
    try {
      await p.apply([
        cfg(c.name, { target, hooks: { preBackup: c.hook } }) as never,
        session(`${c.name}-1`, { kind: 'BackupConfiguration', name: c.name }) as never,
      ]);
    } catch (err) {
      rejected.set(c.name, String((err as { body?: string }).body ?? (err as Error).message));
    }
  }
  const problems: string[] = [];
  for (const c of cases) {
    if (rejected.has(c.name)) {
      if (!rejected.get(c.name)!.includes(c.expect))
        problems.push(`${c.name}: rejected by the API server without "${c.expect}": ${rejected.get(c.name)!.slice(0, 300)}`);
      continue;
    }
    const s = (await finalPhase(`${c.name}-1`)) as BackupSession;
    const cond = s.status?.targets?.[0]?.conditions?.find((x) => x.type === 'PreBackupHookExecutionSucceeded');
    if (
      s.status?.phase !== 'Failed' ||
      cond?.status !== 'False' ||
      !cond.message?.startsWith('Failed to execute preBackup hook. Reason: ') ||
      !cond.message.includes(c.expect)
    ) {
      problems.push(`${c.name}: phase ${s.status?.phase}, condition ${JSON.stringify(cond)}; expected "${c.expect}"`);
    }
  }
  assert.equal(problems, [], problems.join('\n'));
  assert.equal(
    p.sink.requests.filter((r) => r.path.startsWith('/tpl/')).map((r) => r.path),
    [],
    'no request for a broken template',
  );
});

test(`corpus: ${sessionCases.length} bad sessions (invokers, targets, durations, garbage status) give a message and break nothing`, async () => {
  for (const c of sessionCases) {
    if (c.invoker) {
      const inv = { apiVersion: 'stash.appscode.com/v1beta1', kind: c.invoker.kind, metadata: { name: c.name, namespace: NS }, spec: c.invoker.spec };
      await p.apply([inv as never, session(`${c.name}-1`, { kind: c.invoker.kind, name: c.name }) as never]);
    } else await p.apply([session(`${c.name}-1`, undefined, c.session?.spec) as never]);
    if (c.status !== undefined) {
      const s = await p.getSession('BackupSession', NS, `${c.name}-1`);
      await p.custom.replaceNamespacedCustomObjectStatus({
        group: 'stash.appscode.com',
        version: 'v1beta1',
        namespace: NS,
        plural: 'backupsessions',
        name: `${c.name}-1`,
        body: { ...s, status: c.status },
      });
    }
  }
  const problems: string[] = [];
  for (const c of sessionCases.filter((x) => x.where === 'any')) {
    const found = await waitFor(`a message for ${c.name}`, async () => ((await visible(`${c.name}-1`)).includes(c.expect!) ? true : undefined), 15_000).catch(
      () => false,
    );
    if (!found) problems.push(`${c.name}: "${c.expect}" not found in:\n${(await visible(`${c.name}-1`)).slice(0, 800)}`);
  }
  assert.equal(problems, [], problems.join('\n\n'));
  // After all of that the pipeline still works: a good session succeeds.
  await p.apply([
    cfg('good', { target, hooks: { preBackup: { exec: { command: ['echo', 'ok'] } } } }) as never,
    session('good-1', { kind: 'BackupConfiguration', name: 'good' }) as never,
  ]);
  assert.is((await finalPhase('good-1')).status?.phase, 'Succeeded');
  assert.equal(crashes, [], 'no uncaught exception or unhandled rejection');
});

test.run();
