/**
 * `stash-hooks devcluster [--port N] [--kubeconfig PATH] [--token T] [--no-executor]
 * [--backup-seconds S]`: starts devcluster, prints one line
 * `devcluster ready: <url> kubeconfig=<path>`, runs until SIGINT/SIGTERM, then closes.
 */
import { startDevCluster } from './cluster.js';
import type { DevClusterOptions } from './options.js';

/** Parses the devcluster flags; throws an Error naming a bad or unknown flag. */
export function parseDevClusterArgs(argv: string[]): DevClusterOptions {
  const opts: DevClusterOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.indexOf('=');
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      const v = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new Error(`devcluster: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new Error(`devcluster: --port must be a number 0-65535, got "${v}"`);
        opts.port = Number(v);
        break;
      }
      case '--kubeconfig':
        opts.kubeconfigPath = value();
        break;
      case '--token':
        opts.token = value();
        break;
      case '--no-executor':
        opts.executor = false;
        break;
      case '--backup-seconds': {
        const v = value();
        if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`devcluster: --backup-seconds must be a number >= 0, got "${v}"`);
        opts.backupSeconds = Number(v);
        break;
      }
      default:
        throw new Error(`devcluster: unknown flag ${raw}`);
    }
  }
  return opts;
}

/**
 * Runs devcluster as a command: resolves when it has been closed by SIGINT/SIGTERM. Log lines go
 * to stderr so stdout carries only the ready line.
 */
export async function runDevClusterCli(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const options = parseDevClusterArgs(argv);
  const cluster = await startDevCluster({ ...options, logger: (l) => process.stderr.write(`${l}\n`) });
  out(`devcluster ready: ${cluster.url} kubeconfig=${cluster.kubeconfigPath}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      cluster.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
