#!/usr/bin/env node
// `npm run build`: compiles the product to dist/ (tsconfig.build.json) and copies the files that
// are not TypeScript but are loaded next to the code at run time (the Sessions page's CSS and
// browser scripts), then touches tsc's incremental state so its mtime is this build's.
// test/helpers/cli.ts runs this same script when dist/ is stale.
import { execFileSync } from 'node:child_process';
import { cpSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Source folders of non-TypeScript files that the compiled code reads beside itself. */
export const ASSET_DIRS = ['dashboard/sessions-assets'];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
for (const dir of ASSET_DIRS) cpSync(join(root, dir), join(root, 'dist', dir), { recursive: true });
const now = new Date();
utimesSync(join(root, 'dist/.tsbuildinfo'), now, now);
