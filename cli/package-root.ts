/**
 * Where the package's non-code files are (examples/, k8s-manifests/): the directory of
 * package.json above this module. The same code runs from the sources (`cli/`) and compiled
 * (`dist/cli/`), so a fixed number of `..` would be wrong in one of them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, with a trailing slash (so `${packageRoot()}examples` reads naturally). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir.endsWith('/') ? dir : `${dir}/`;
}
