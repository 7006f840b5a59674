#!/usr/bin/env node
// Runs every uvu test file in its own Node process (a hung file cannot stall the others and a
// crashed one is counted, not lost), two at a time, and closes with one line
// "N passed, N failed, N skipped" summed over uvu's per-file totals.
//
// Usage: node test/run.mjs [tier-or-path-fragment ...]   e.g. `npm test -- unit` or `npm test -- devcluster`
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 240_000);
const PARALLEL = Number(process.env.TEST_PARALLEL ?? Math.max(1, Math.min(2, cpus().length)));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'helpers' && name !== 'corpus') out.push(...findTests(p));
    } else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = findTests(join(root, 'test')).filter(
  (f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)),
);

function runFile(file) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[test/run] ${relative(root, file)} exceeded ${FILE_TIMEOUT_MS} ms; killed\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => {
        const m = out.match(new RegExp(`${label}:\\s+(\\d+)`));
        return m ? Number(m[1]) : undefined;
      };
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped') ?? 0;
      let failed;
      if (total === undefined || passed === undefined) failed = 1; // crashed before uvu's summary
      // uvu's Total counts the tests that were meant to run: skipped ones are not in it.
      else failed = Math.max(0, total - passed) + (code !== 0 && total === passed ? 1 : 0);
      resolvePromise({ file, code, out, passed: passed ?? 0, failed, skipped, ms: Date.now() - started });
    });
  });
}

const results = [];
let next = 0;
async function lane() {
  while (next < files.length) {
    const file = files[next++];
    const r = await runFile(file);
    results.push(r);
    const status = r.failed ? 'FAIL' : 'ok  ';
    process.stdout.write(
      `${status} ${relative(root, file)}  (${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.ms} ms)\n`,
    );
    if (r.failed || process.env.TEST_VERBOSE) process.stdout.write(r.out.replace(/^/gm, '    ') + '\n');
  }
}
await Promise.all(Array.from({ length: PARALLEL }, lane));

const sum = (k) => results.reduce((a, r) => a + r[k], 0);
if (files.length === 0) {
  process.stdout.write('no test files matched\n0 passed, 1 failed\n');
  process.exit(1);
}
process.stdout.write(`\n${results.length} files\n${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
process.exit(sum('failed') > 0 ? 1 : 0);
