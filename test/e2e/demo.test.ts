import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BIN } from '../helpers/cli.js';

test('stash-hooks demo runs every example to its expected phase, exits 0 and leaves no key behind', async () => {
  // Its own prefix on the shared Redis, so what is left under it after the run is the demo's.
  const prefix = `sh-test-demo-${randomBytes(4).toString('hex')}`;
  const r = spawnSync(process.execPath, [BIN, 'demo'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, STASH_HOOKS_PREFIX: prefix } });
  assert.is(r.status, 0, r.stdout + r.stderr);
  // The demo's devcluster has a random token, so it serves HTTPS with its own CA.
  assert.match(r.stdout, /^devcluster ready: https:\/\/127\.0\.0\.1:\d+ kubeconfig=/m);
  assert.match(r.stdout, new RegExp(`queues under prefix "${prefix}-demo-[0-9a-f]{6}"`));
  assert.not.match(r.stdout, 'started a private redis-server', 'the demo used the shared Redis the test inspects');
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  try {
    const left = await redis.keys(`${prefix}*`);
    assert.equal(left, [], 'every key under the demo prefix is removed on exit (queues, watcher data marker, …)');
  } finally {
    redis.disconnect();
  }
  assert.match(r.stdout, /dashboard: http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(r.stdout, /✓ app-backup-demo\s+Deployment\/app\s+PreBackupHookExecutionSucceeded: Successfully executed preBackup hook\./);
  assert.match(
    r.stdout,
    /slack-sink got POST \/services\/XX\/XXX\/XXXX \(Authorization header received, not shown\): \{"blocks": \[\{"type": "section", "text": \{"type": "mrkdwn", "text": ":white_check_mark: Backup Succeeded for demo\/app in \d+s"\}\}\]\}/,
  );
  assert.match(r.stdout, /slack-sink got POST \/maintenance\/off: batch databases-demo finished: Failed failed to backup host-0\. Reason: path not found/);
  assert.match(r.stdout, /✓ app-backup-demo\s+Succeeded\s+Succeeded/);
  assert.match(r.stdout, /✓ databases-demo\s+Failed\s+Failed/);
  assert.match(r.stdout, /✓ app-restore\s+Succeeded\s+Succeeded/);
  assert.match(r.stdout, /every example finished as expected/);
  // /metrics after the run: hook counters by phase, scope, action and result.
  assert.match(r.stdout, /^  stash_hooks_hooks_total\{phase="preBackup",scope="local",action="exec",result="succeeded"\} 3$/m);
  assert.match(r.stdout, /^  stash_hooks_hooks_total\{phase="postBackup",scope="global",action="httpPost",result="succeeded"\} 1$/m);
  assert.match(r.stdout, /^  stash_hooks_hooks_total\{phase="preRestore",scope="local",action="tcpSocket",result="succeeded"\} 1$/m);
  assert.not.match(r.stdout + r.stderr, /xoxb-demo/, 'the Slack token never shows');
});

test('stash-hooks devcluster prints its ready line, serves the API and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [BIN, 'devcluster', '--port', '0', '--no-executor'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready`)));
  });
  const m = /^devcluster ready: (http:\/\/127\.0\.0\.1:\d+) kubeconfig=(\S+)$/.exec(line);
  assert.ok(m, line);
  assert.ok(existsSync(m![2]));
  assert.match(readFileSync(m![2], 'utf8'), /current-context: devcluster/);
  const version = await (await fetch(`${m![1]}/version`)).json();
  assert.ok(version.gitVersion, JSON.stringify(version));
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  assert.is(code, 0);
});

test('a kubeconfig that cannot be loaded stops a role with a clear message', () => {
  const r = spawnSync(process.execPath, [BIN, 'worker', '--kubeconfig', '/nonexistent/kubeconfig'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--kubeconfig \(KUBECONFIG\): cannot load "\/nonexistent\/kubeconfig"/);
});

test.run();
