#!/usr/bin/env node
// Runs the test tiers and says exactly what ran. Every uvu test file runs in its own Node process
// (a hung file cannot stall the others and a crashed one is counted, not lost), two at a time.
// Tiers: unit, integration, e2e, kubectl, browser (directories of test/) and image
// (test/image/run.sh, which builds and runs the two images: minutes, so it runs when asked for
// by name or with TEST_IMAGE=1, and is a counted skip otherwise).
//
// The report gives per tier passed/failed/skipped, the reason of every skip (tests print
// `SKIP <test>: <reason>`, see test/helpers/skip.ts; the image script prints `skipped: <why>`),
// the wall time, and ends with the single line "N passed, N failed, N skipped".
//
// Usage: node test/run.mjs [tier-or-path-fragment ...]   e.g. `npm test -- unit` or `npm test -- devcluster`
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 240_000);
const IMAGE_TIMEOUT_MS = Number(process.env.TEST_IMAGE_TIMEOUT_MS ?? 60 * 60_000);
const PARALLEL = Number(process.env.TEST_PARALLEL ?? Math.max(1, Math.min(2, cpus().length)));
const TIERS = ['unit', 'integration', 'e2e', 'kubectl', 'browser', 'image'];
const IMAGE_SCRIPT = join(root, 'test/image/run.sh');
const started = Date.now();

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'helpers' && name !== 'corpus' && name !== 'image') out.push(...findTests(p));
    } else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out.sort();
}

const tierOf = (file) => (file === IMAGE_SCRIPT ? 'image' : relative(join(root, 'test'), file).split('/')[0]);
const filters = process.argv.slice(2);
const selected = (file) => filters.length === 0 || filters.some((x) => relative(root, file).includes(x) || tierOf(file) === x);
const files = findTests(join(root, 'test')).filter(selected);
const imageSelected = selected(IMAGE_SCRIPT);
// Asked for by name (`node test/run.mjs image`) or by CI (TEST_IMAGE=1).
const imageRequested = process.env.TEST_IMAGE === '1' || filters.some((x) => x === 'image' || x.includes('test/image'));

/** uvu's per-file totals and the `SKIP <test>: <reason>` lines a file printed. */
function runFile(file) {
  return new Promise((resolvePromise) => {
    const t0 = Date.now();
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
      if (total === undefined || passed === undefined)
        failed = 1; // crashed before uvu's summary
      // uvu's Total counts the tests that were meant to run: skipped ones are not in it.
      else failed = Math.max(0, total - passed) + (code !== 0 && total === passed ? 1 : 0);
      const reasons = [...out.matchAll(/^SKIP (.+?): (.+)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
      while (reasons.length < skipped) reasons.push('(the file gave no reason)');
      resolvePromise({ file, code, out, passed: passed ?? 0, failed, skipped, reasons, ms: Date.now() - t0 });
    });
  });
}

/** The image tier: test/image/run.sh's "ok …" / "FAIL …" / "skipped: …" lines. */
function runImage() {
  return new Promise((resolvePromise) => {
    const t0 = Date.now();
    if (!imageRequested) {
      const why = 'builds and runs both images (minutes): run `npm run test:image`, `node test/run.mjs image`, or set TEST_IMAGE=1 (CI does)';
      resolvePromise({ file: IMAGE_SCRIPT, code: 0, out: '', passed: 0, failed: 0, skipped: 1, reasons: [`image tier: ${why}`], ms: 0 });
      return;
    }
    const child = spawn('bash', [IMAGE_SCRIPT], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[test/run] test/image/run.sh exceeded ${IMAGE_TIMEOUT_MS} ms; killed\n`;
      child.kill('SIGTERM');
    }, IMAGE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const passed = (out.match(/^ok /gm) ?? []).length;
      let failed = (out.match(/^FAIL /gm) ?? []).length;
      const skip = /^skipped: (.+)$/m.exec(out);
      if (code !== 0 && failed === 0) failed = 1;
      resolvePromise({
        file: IMAGE_SCRIPT,
        code,
        out,
        passed,
        failed,
        skipped: skip ? 1 : 0,
        reasons: skip ? [`image tier: ${skip[1]}`] : [],
        ms: Date.now() - t0,
      });
    });
  });
}

if (files.length === 0 && !imageSelected) {
  process.stdout.write('no test files matched\n0 passed, 1 failed, 0 skipped\n');
  process.exit(1);
}

// The CLI as a process is the compiled one (bin/stash-hooks.js runs dist/): build it once here,
// when a source is newer than dist/, before any file spawns it (test/helpers/cli.ts).
if (files.length > 0) {
  const build = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/cli.ts')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stdout.write('the build failed: nothing was tested\n0 passed, 1 failed, 0 skipped\n');
    process.exit(1);
  }
}

const results = [];
const report = (r) => {
  results.push(r);
  const status = r.failed ? 'FAIL' : r.passed === 0 && r.skipped > 0 ? 'skip' : 'ok  ';
  process.stdout.write(`${status} ${relative(root, r.file)}  (${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${r.ms} ms)\n`);
  if (r.failed || process.env.TEST_VERBOSE) process.stdout.write(r.out.replace(/^/gm, '    ') + '\n');
};

let next = 0;
async function lane() {
  while (next < files.length) report(await runFile(files[next++]));
}
await Promise.all(Array.from({ length: PARALLEL }, lane));
// The image tier last and alone: it takes both cores for minutes.
if (imageSelected) report(await runImage());

const sum = (rs, k) => rs.reduce((a, r) => a + r[k], 0);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
process.stdout.write(
  `\n${'tier'.padEnd(12)} ${'files'.padStart(5)} ${'passed'.padStart(7)} ${'failed'.padStart(7)} ${'skipped'.padStart(8)}   time (sum of files)\n`,
);
for (const tier of TIERS) {
  const rs = results.filter((r) => tierOf(r.file) === tier);
  if (rs.length === 0) continue;
  process.stdout.write(
    `${tier.padEnd(12)} ${String(rs.length).padStart(5)} ${String(sum(rs, 'passed')).padStart(7)} ${String(sum(rs, 'failed')).padStart(7)} ${String(sum(rs, 'skipped')).padStart(8)}   ${secs(sum(rs, 'ms'))}\n`,
  );
}
const skips = results.flatMap((r) => r.reasons.map((why) => `  ${tierOf(r.file).padEnd(11)} ${relative(root, r.file)}: ${why}`));
if (skips.length) process.stdout.write(`\nskipped, and why:\n${skips.join('\n')}\n`);
const failedFiles = results.filter((r) => r.failed).map((r) => `  ${relative(root, r.file)}`);
if (failedFiles.length) process.stdout.write(`\nfailed:\n${failedFiles.join('\n')}\n`);
process.stdout.write(`\nwall time ${secs(Date.now() - started)} for ${results.length} files\n`);
process.stdout.write(`${sum(results, 'passed')} passed, ${sum(results, 'failed')} failed, ${sum(results, 'skipped')} skipped\n`);
process.exit(sum(results, 'failed') > 0 ? 1 : 0);
