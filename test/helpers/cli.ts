// Every test and harness that starts the CLI as a process runs what ships: bin/stash-hooks.js,
// which runs the compiled JavaScript in dist/. test/run.mjs builds before it runs the suite; a test
// file run on its own (`node --import tsx test/e2e/cli.test.ts`) rebuilds here when a source is
// newer than the last build, so a spawned CLI never runs stale code.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The CLI's entry point; spawn it as `spawn(process.execPath, [BIN, role, ...args])`. */
export const BIN = join(ROOT, 'bin/stash-hooks.js');

/** tsc's incremental state; `npm run build` touches it, so its mtime is the last build's. */
export const BUILD_STAMP = join(ROOT, 'dist/.tsbuildinfo');

/** The directories tsconfig.build.json compiles. */
const SOURCE_DIRS = ['cli', 'shared', 'producers', 'workers', 'devcluster', 'dashboard'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    // Every file counts: .ts sources and the assets tools/build.mjs copies (dashboard/sessions-assets).
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than a source file (or tsconfig). */
export function buildIsStale(): boolean {
  if (!existsSync(BUILD_STAMP)) return true;
  const built = statSync(BUILD_STAMP).mtimeMs;
  const sources = Math.max(
    ...SOURCE_DIRS.map((d) => newestSource(join(ROOT, d))),
    statSync(join(ROOT, 'tsconfig.json')).mtimeMs,
    statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs,
  );
  return sources > built;
}

/** Does what `npm run build` does when dist/ is stale; throws with tsc's output when it fails. */
export function ensureBuilt(): void {
  if (!buildIsStale()) return;
  const started = Date.now();
  try {
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed, so the CLI cannot be tested:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
  process.stderr.write(`[test/helpers/cli] rebuilt dist/ (${Date.now() - started} ms)\n`);
}

ensureBuilt();
