import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ROLES, settingsFor } from '../../shared/config.js';
import { BIN } from '../helpers/cli.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, REDIS_URL: '' }, timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('stash-hooks --help lists every role', () => {
  const { code, out } = cli('--help');
  assert.is(code, 0);
  for (const role of ROLES) assert.match(out, new RegExp(`\\n  ${role}\\s+\\S`), role);
});

test('no arguments prints the help and exits non-zero', () => {
  const { code, out } = cli();
  assert.is(code, 2);
  assert.match(out, /Roles:/);
});

for (const role of ROLES) {
  test(`stash-hooks ${role} --help lists its settings with flag and environment variable`, () => {
    const { code, out } = cli(role, '--help');
    assert.is(code, 0);
    for (const s of settingsFor(role)) {
      assert.ok(out.includes(s.flag), `${role}: ${s.flag}`);
      if (s.env) assert.ok(out.includes(s.env), `${role}: ${s.env}`);
    }
  });
}

test('a bad setting exits 2 naming the flag, the variable and what is accepted', () => {
  const { code, err } = cli('worker', '--concurrency', 'lots', '--queues', 'pre-backup,nope');
  assert.is(code, 2);
  assert.match(
    err,
    /--queues \(STASH_HOOKS_QUEUES\): "pre-backup,nope" is not valid; expected a comma-separated subset of pre-backup, post-backup, pre-restore, post-restore/,
  );
  assert.match(err, /--concurrency \(STASH_HOOKS_CONCURRENCY\): "lots" is not valid; expected an integer 1-1000/);
});

test('an unknown role is a usage error', () => {
  const { code, err } = cli('backup');
  assert.is(code, 1);
  assert.match(err, /unknown command 'backup'/);
});

test.run();
