/**
 * tcpSocket (DESIGN §5): success when a connection opens within `timeoutSeconds`. A closed port
 * and a timeout are different failures, because they call for different fixes.
 */
import { connect, isIP } from 'node:net';
import { HookFailedError, HookTimeoutError } from '../../shared/errors.js';
import type { NetworkGuard } from './network-guard.js';
import type { ActionOptions, HostResult } from './types.js';

/** Opens and closes one connection to `host:port`, via the address the guard approved. */
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
  const address = addresses[0].address;
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: address, port, signal: opts.signal });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HookTimeoutError(`${label} timed out after ${opts.timeoutSeconds}s`, { action: 'tcpSocket' }));
    }, opts.timeoutSeconds * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const msg =
        err.code === 'ECONNREFUSED'
          ? `${label} refused (ECONNREFUSED)`
          : err.name === 'AbortError'
            ? `${label} was cancelled`
            : `${label} failed: ${err.message}${err.code ? ` (${err.code})` : ''}`;
      reject(new HookFailedError(msg, { action: 'tcpSocket', cause: err }));
    });
  });
  return { action: 'tcpSocket', where, durationMs: Date.now() - started, output: '' };
}
