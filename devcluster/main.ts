/**
 * Runs devcluster from a checkout: `node --import tsx devcluster/main.ts [flags]` (the same
 * flags as `stash-hooks devcluster`).
 */
import { runDevClusterCli } from './cli.js';

runDevClusterCli(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
});
