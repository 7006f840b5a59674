/**
 * Options of `startDevCluster`, with defaults merged and validated once.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Options of {@link startDevCluster}. Every field is optional. */
export interface DevClusterOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Where to write the kubeconfig; default a new file in `os.tmpdir()`, removed on close. */
  kubeconfigPath?: string;
  /**
   * When set, every request must carry `Authorization: Bearer <token>` (else 401), and the server
   * speaks HTTPS (see `tls`).
   */
  token?: string;
  /**
   * Serve HTTPS with a certificate from a CA made at start-up, written into the kubeconfig as
   * `certificate-authority-data`. Default: on when `token` is set (kubectl sends a bearer token
   * only over TLS), off otherwise. A token with `tls: false` is refused.
   */
  tls?: boolean;
  /** Run the backup executor simulator (DESIGN §4); default true. */
  executor?: boolean;
  /** How long the simulated backup or restore of one target takes; default 1. */
  backupSeconds?: number;
  /** Receives log lines; default: discard. */
  logger?: (line: string) => void;
  /** Change events kept for watch resumption; older resourceVersions get 410. Default 1000. */
  historySize?: number;
  /** Interval of BOOKMARK events on watches that allow them; default 10000 ms. */
  bookmarkIntervalMs?: number;
  /**
   * The first pod IP, `127.0.x.y`; default `127.0.0.2`. Test files that run in parallel and
   * bind fixed ports on pod IPs can give each cluster its own range.
   */
  firstPodIp?: string;
}

/** Options with every default applied. */
export interface ResolvedDevClusterOptions {
  port: number;
  kubeconfigPath: string;
  /** True when the kubeconfig path is ours to delete on close. */
  ownsKubeconfig: boolean;
  token?: string;
  tls: boolean;
  executor: boolean;
  backupSeconds: number;
  logger: (line: string) => void;
  historySize: number;
  bookmarkIntervalMs: number;
  firstPodIp: string;
}

/** Merges defaults and validates; throws an Error naming the bad option. */
export function resolveOptions(options: DevClusterOptions = {}): ResolvedDevClusterOptions {
  const problems: string[] = [];
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`port must be an integer 0-65535, got ${String(options.port)}`);
  const backupSeconds = options.backupSeconds ?? 1;
  if (typeof backupSeconds !== 'number' || !Number.isFinite(backupSeconds) || backupSeconds < 0)
    problems.push(`backupSeconds must be a number >= 0, got ${String(options.backupSeconds)}`);
  const historySize = options.historySize ?? 1000;
  if (!Number.isInteger(historySize) || historySize < 1) problems.push(`historySize must be a positive integer, got ${String(options.historySize)}`);
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 10_000;
  if (!Number.isFinite(bookmarkIntervalMs) || bookmarkIntervalMs < 10)
    problems.push(`bookmarkIntervalMs must be >= 10, got ${String(options.bookmarkIntervalMs)}`);
  const firstPodIp = options.firstPodIp ?? '127.0.0.2';
  const ipm = /^127\.0\.(\d{1,3})\.(\d{1,3})$/.exec(firstPodIp);
  if (!ipm || Number(ipm[1]) > 255 || Number(ipm[2]) < 1 || Number(ipm[2]) > 254 || (ipm[1] === '0' && ipm[2] === '1')) {
    problems.push(`firstPodIp must be a 127.0.x.y address other than 127.0.0.1, got ${String(options.firstPodIp)}`);
  }
  if (options.token !== undefined && (options.token === '' || /\s/.test(options.token))) problems.push('token must be a non-empty string without whitespace');
  const tls = options.tls ?? options.token !== undefined;
  if (typeof tls !== 'boolean') problems.push(`tls must be true or false, got ${String(options.tls)}`);
  if (options.token !== undefined && options.tls === false) {
    problems.push('a token needs tls: kubectl never sends a bearer token to a plain-http server, so it would be locked out');
  }
  if (problems.length) throw new Error(`devcluster: invalid options: ${problems.join('; ')}`);
  return {
    port,
    kubeconfigPath: options.kubeconfigPath ?? join(tmpdir(), `devcluster-${process.pid}-${randomBytes(4).toString('hex')}.kubeconfig`),
    ownsKubeconfig: options.kubeconfigPath === undefined,
    token: options.token,
    tls,
    executor: options.executor ?? true,
    backupSeconds,
    logger: options.logger ?? (() => {}),
    historySize,
    bookmarkIntervalMs,
    firstPodIp,
  };
}
