/**
 * tcpSocket (DESIGN §5): success when a connection opens within `timeoutSeconds`. A closed port
 * and a timeout are different failures, because they call for different fixes. A name with
 * several addresses is tried address by address, as Go's dialer does.
 */
import { connect, isIP } from 'node:net';
import { HookFailedError, HookTimeoutError } from '../../shared/errors.js';
import type { NetworkGuard } from './network-guard.js';
import type { ActionOptions, HostResult } from './types.js';

/** Why one address could not be reached. */
interface AttemptFailure {
  address: string;
  timedOut: boolean;
  refused: boolean;
  message: string;
  cause?: unknown;
}

/**
 * Go's `partialDeadline` (net/dial.go): each remaining address gets an equal share of the time
 * left, but at least 2 s while that much remains.
 */
function attemptMs(remainingMs: number, addressesLeft: number): number {
  const share = remainingMs / addressesLeft;
  return share >= 2000 ? share : Math.min(remainingMs, 2000);
}

/** One connection attempt to `address:port`, closed as soon as it opens. */
function attempt(address: string, port: number, ms: number, signal: AbortSignal | undefined): Promise<AttemptFailure | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, signal });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ address, timedOut: true, refused: false, message: 'timed out' });
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const refused = err.code === 'ECONNREFUSED';
      const message = refused ? 'refused (ECONNREFUSED)' : err.name === 'AbortError' ? 'was cancelled' : `${err.message}${err.code ? ` (${err.code})` : ''}`;
      resolve({ address, timedOut: false, refused, message, cause: err });
    });
  });
}

/**
 * Opens and closes one connection to `host:port`. Like Go's `net.DialTimeout` (kmodules/prober
 * `probe/tcp/tcp.go`), every address the name resolves to (each one approved by the guard) is
 * tried in resolver order until one connects, within `timeoutSeconds` overall.
 */
export async function runTcp(host: string, port: number, guard: NetworkGuard, opts: ActionOptions): Promise<HostResult> {
  const started = Date.now();
  const where = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const label = `TCP connect to ${where}`;
  let addresses;
  try {
    addresses = await guard.resolve(host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new HookFailedError(`${label} failed: host ${host} not found (${code})`, { action: 'tcpSocket', cause: err });
    }
    throw err;
  }
  const deadline = started + opts.timeoutSeconds * 1000;
  const failures: AttemptFailure[] = [];
  for (const [i, { address }] of addresses.entries()) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const failed = await attempt(address, port, attemptMs(remaining, addresses.length - i), opts.signal);
    if (!failed) return { action: 'tcpSocket', where, durationMs: Date.now() - started, output: '' };
    if (failed.message === 'was cancelled') throw new HookFailedError(`${label} was cancelled`, { action: 'tcpSocket', cause: failed.cause });
    failures.push(failed);
  }
  if (failures.length < addresses.length || failures.every((f) => f.timedOut)) {
    throw new HookTimeoutError(`${label} timed out after ${opts.timeoutSeconds}s`, { action: 'tcpSocket' });
  }
  if (failures.length === 1) {
    const [f] = failures;
    throw new HookFailedError(f.refused ? `${label} ${f.message}` : `${label} failed: ${f.message}`, { action: 'tcpSocket', cause: f.cause });
  }
  const each = failures.map((f) => `${f.address} ${f.refused || f.timedOut ? f.message : `failed: ${f.message}`}`).join('; ');
  throw new HookFailedError(`${label} failed on every address: ${each}`, { action: 'tcpSocket', cause: failures[0].cause });
}
