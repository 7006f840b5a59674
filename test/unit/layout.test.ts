// CONVENTIONS "Layout shows the architecture" (DESIGN §1), checked by dependency-cruiser with the
// rules in .dependency-cruiser.cjs (`npm run check:layers` runs the same): producers/ and
// workers/ import shared/, never each other; shared/ imports no role; nothing that ships imports
// test/, bench/ or a dev dependency; the production roles reach devcluster/ only through the
// development roles' dynamic imports; and no import cycle anywhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DIRS = ['cli', 'shared', 'producers', 'workers', 'devcluster', 'dashboard', 'bench', 'test'];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  cycle?: Array<{ name: string }>;
}

test('dependency-cruiser finds no violation of the layering rules and no cycle', () => {
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...DIRS],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  assert.ok(r.stdout, `dependency-cruiser printed nothing: ${r.stderr}`);
  const result = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number }; modules: Array<{ source: string }> };
  assert.ok(result.summary.totalCruised > 100, `only ${result.summary.totalCruised} modules cruised`);
  for (const dir of DIRS.slice(0, 6))
    assert.ok(
      result.modules.some((m) => m.source.startsWith(`${dir}/`)),
      `nothing of ${dir}/ was cruised`,
    );
  const offences = result.summary.violations.map(
    (v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
  );
  assert.equal(offences, []);
});

test.run();
