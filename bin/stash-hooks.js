#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (`npm run build`; `npm install` runs it through
// the `prepare` script). No TypeScript loader is involved: see docs/dependencies.md.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/bin.js', import.meta.url);
if (existsSync(entry)) {
  await import(entry.href);
} else {
  process.stderr.write('stash-hooks: dist/ is missing; run "npm run build" (or "npm install") in the repository first\n');
  process.exitCode = 1;
}
