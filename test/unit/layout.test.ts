import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// CONVENTIONS "Layout shows the architecture": producers/ and workers/ import shared/, never each
// other; shared/ imports neither (nor devcluster/, dashboard/ or cli/).
const root = fileURLToPath(new URL('../..', import.meta.url));

function tsFiles(dir: string): string[] {
  const abs = join(root, dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(abs, n);
    return statSync(p).isDirectory() ? tsFiles(relative(root, p)) : n.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

const RULES: Record<string, string[]> = {
  shared: ['producers', 'workers', 'devcluster', 'dashboard', 'cli'],
  producers: ['workers', 'devcluster', 'dashboard', 'cli'],
  workers: ['producers', 'devcluster', 'dashboard', 'cli'],
};

for (const [dir, forbidden] of Object.entries(RULES)) {
  test(`${dir}/ imports none of ${forbidden.join(', ')}`, () => {
    const offences: string[] = [];
    for (const file of tsFiles(dir)) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, join(file, '..', spec)).split('/')[0];
        if (forbidden.includes(target)) offences.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    assert.equal(offences, []);
  });
}

test.run();
