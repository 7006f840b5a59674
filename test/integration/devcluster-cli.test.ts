// The devcluster command as a user runs it (devcluster/main.ts, the entry the CLI wraps): one
// ready line on stdout, a kubeconfig that works, the token enforced, a clean exit on SIGTERM,
// and a bad flag refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpsRequest } from 'node:https';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseDevClusterArgs } from '../../devcluster/index.js';

const MAIN = fileURLToPath(new URL('../../devcluster/main.ts', import.meta.url));
let dir: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'devcluster-cli-'));
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function readyLine(p: ReturnType<typeof start>): Promise<string> {
  for (let i = 0; i < 400 && !p.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
  return p.stdout();
}

test('prints one ready line, serves with the token it wrote into the kubeconfig, exits 0 on SIGTERM', async () => {
  const kubeconfig = join(dir, 'kc.yaml');
  const p = start(['--kubeconfig', kubeconfig, '--token', 'tok-123', '--no-executor', '--backup-seconds', '0.5']);
  try {
    const out = await readyLine(p);
    // A token means HTTPS (kubectl sends tokens only over TLS), with devcluster's CA in the kubeconfig.
    const m = /^devcluster ready: (https:\/\/127\.0\.0\.1:\d+) kubeconfig=(\S+)\n$/.exec(out);
    assert.ok(m, `stdout was: ${JSON.stringify(out)} stderr: ${p.stderr()}`);
    assert.is(m![2], kubeconfig);
    const kc = parse(readFileSync(kubeconfig, 'utf8'));
    assert.is(kc['current-context'], 'devcluster');
    assert.is(kc.clusters[0].cluster.server, m![1]);
    assert.is(kc.users[0].user.token, 'tok-123');
    const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    assert.is(kc.clusters[0].cluster['insecure-skip-tls-verify'], undefined);
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        httpsRequest(`${m![1]}/api`, { ca, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    assert.is(await status({}), 401);
    assert.is(await status({ authorization: 'Bearer tok-123' }), 200);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.is(await p.exited, 0);
  assert.ok(existsSync(join(dir, 'kc.yaml')), 'a kubeconfig the user named is left in place');
});

test('a bad flag is refused by name with exit code 1', async () => {
  const p = start(['--port', 'eighty']);
  assert.is(await p.exited, 1);
  assert.match(p.stderr(), /--port must be a number/);
  assert.is(p.stdout(), '');
});

test('flag parsing', () => {
  assert.equal(parseDevClusterArgs(['--port=8080', '--no-executor', '--backup-seconds', '2']), { port: 8080, executor: false, backupSeconds: 2 });
  assert.throws(() => parseDevClusterArgs(['--frobnicate']), /unknown flag --frobnicate/);
  assert.throws(() => parseDevClusterArgs(['--token']), /--token needs a value/);
});

test.run();
