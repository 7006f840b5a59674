// `stash-hooks describe` on the demo's three sessions (the demo's examples on devcluster, run by
// `stash-hooks demo --keep`), golden-tested with times, durations, addresses and pod names
// normalised; the kubectl plugin entry point through kubectl itself. UPDATE_GOLDEN=1 rewrites
// test/golden/describe-*.txt.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDescribe } from '../../cli/describe.js';
import type { SessionTimeline } from '../../shared/timeline.js';
import { startDemo, STASH_HOOKS_BIN, type DemoProcess } from '../helpers/demo-process.js';

const GOLDEN = (name: string) => fileURLToPath(new URL(`../golden/describe-${name}.txt`, import.meta.url));
const PLUGIN = fileURLToPath(new URL('../../bin/kubectl-stash_hooks.js', import.meta.url));
const KUBECTL = '/usr/bin/kubectl';
let demo: DemoProcess;

/** Times, durations, Gantt columns, IPs and generated pod names vary from run to run. */
export function normalise(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
        .replace(/\|[^|]*\|/g, '|<gantt>|')
        .replace(/\b127\.\d+\.\d+\.\d+\b/g, '<ip>')
        .replace(/\bapp-[0-9a-f]{10}-[a-z0-9]{5}\b/g, 'app-<pod>')
        .replace(/\+?\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d+s\b/g, '<d>')
        .replace(/ +/g, ' ')
        .trimEnd(),
    )
    .join('\n');
}

async function describe(ref: string, extra: Record<string, unknown> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDescribe(
    ref,
    { namespace: 'demo', prefix: demo.prefix, ...extra },
    { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } },
  );
  return { code, out, err };
}

test.before(async () => {
  demo = await startDemo();
  process.env.KUBECONFIG = demo.kubeconfig;
});

test.after(async () => {
  await demo?.stop();
});

for (const ref of ['backupsession/app-backup-demo', 'backupsession/databases-demo', 'restoresession/app-restore']) {
  test(`describe ${ref} matches its golden file`, async () => {
    const r = await describe(ref);
    assert.is(r.code, 0, r.err);
    const got = normalise(r.out);
    const file = GOLDEN(ref.split('/')[1]);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, got);
    assert.ok(existsSync(file), `${file} is missing; run with UPDATE_GOLDEN=1 to write it`);
    assert.fixture(got, readFileSync(file, 'utf8'));
  });
}

test('the failing batch: the failed backup with its reason, the skipped post hook, the global post after every local post', async () => {
  const r = await describe('backupsession/databases-demo', { output: 'json' });
  assert.is(r.code, 0, r.err);
  const t = JSON.parse(r.out) as SessionTimeline;
  const bar = (row: string, label: string) => t.rows.find((x) => x.label === row)!.bars.find((b) => b.label === label)!;
  assert.equal(
    [bar('StatefulSet/db-b', 'backup').outcome, bar('StatefulSet/db-b', 'backup').message],
    ['failed', 'host-0: Failed: failed to backup host-0. Reason: path not found'],
  );
  assert.equal(
    [bar('StatefulSet/db-a', 'postBackup').outcome, bar('StatefulSet/db-a', 'postBackup').message],
    ['skipped', 'Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".'],
  );
  const globalPost = bar('global postBackup', 'postBackup');
  for (const row of ['StatefulSet/db-a', 'StatefulSet/db-b'])
    assert.ok(globalPost.startMs! >= bar(row, 'postBackup').endMs!, `global post starts after the local post of ${row}`);
  assert.is(bar('finalize', 'finalize').outcome, 'failed');
  assert.ok(bar('StatefulSet/db-b', 'postBackup').job?.id.startsWith('hook.postBackup.t1.'), 'the bar links its BullMQ job');
});

test('bad input: a clear message and exit code, nothing thrown', async () => {
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['backupsession', {}, 2, /"backupsession" is not <kind>\/<name>/],
    ['pods/x', {}, 2, /unknown kind "pods"; expected backupsession or restoresession/],
    ['backupsession/nope', {}, 1, /BackupSession demo\/nope not found/],
    ['backupsession/app-backup-demo', { output: 'yaml' }, 2, /-o\/--output "yaml" is not valid; expected text or json/],
  ];
  for (const [ref, flags, code, message] of cases) {
    const r = await describe(ref, flags);
    assert.is(r.code, code, ref);
    assert.match(r.err, message);
  }
});

test('the CLI and the kubectl plugin print the same timeline', async () => {
  const env = { ...process.env, KUBECONFIG: demo.kubeconfig, STASH_HOOKS_PREFIX: demo.prefix };
  const cli = spawnSync(process.execPath, [STASH_HOOKS_BIN, 'describe', 'backupsession/app-backup-demo', '-n', 'demo'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(cli.status, 0, cli.stderr);
  assert.fixture(normalise(cli.stdout), readFileSync(GOLDEN('app-backup-demo'), 'utf8'));
  if (!existsSync(KUBECTL)) {
    process.stdout.write(`no kubectl at ${KUBECTL}: the plugin half of this test did not run\n`);
    return;
  }
  // npm links package.json "bin" entries without their extension; kubectl looks plugins up by that name.
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
  try {
    symlinkSync(PLUGIN, join(dir, 'kubectl-stash_hooks'));
    const r = spawnSync(KUBECTL, ['stash-hooks', 'describe', 'backupsession/app-backup-demo', '-n', 'demo'], {
      env: { ...env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.is(r.status, 0, r.stderr);
    assert.fixture(normalise(r.stdout), readFileSync(GOLDEN('app-backup-demo'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
