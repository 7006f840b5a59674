/**
 * `stash-hooks devcluster`: the embedded Kubernetes API server as a command. Prints exactly one
 * line, `devcluster ready: <url> kubeconfig=<path>`, and runs until SIGINT/SIGTERM.
 */
import { startDevCluster } from '../devcluster/index.js';

export async function runDevcluster(flags: Record<string, unknown>): Promise<number> {
  const port = Number(flags.port ?? 0);
  const backupSeconds = Number(flags.backupSeconds ?? 1);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`stash-hooks devcluster: --port "${String(flags.port)}" is not valid; expected an integer 0-65535\n`);
    return 2;
  }
  if (!Number.isFinite(backupSeconds) || backupSeconds < 0) {
    process.stderr.write(`stash-hooks devcluster: --backup-seconds "${String(flags.backupSeconds)}" is not valid; expected a number >= 0\n`);
    return 2;
  }
  const cluster = await startDevCluster({
    port,
    backupSeconds,
    kubeconfigPath: typeof flags.kubeconfig === 'string' ? flags.kubeconfig : undefined,
    token: typeof flags.token === 'string' ? flags.token : undefined,
    executor: flags.executor !== false,
    logger: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`devcluster ready: ${cluster.url} kubeconfig=${cluster.kubeconfigPath}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await cluster.close();
  return 0;
}
