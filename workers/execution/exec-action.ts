/**
 * exec (DESIGN §5): client-node's `Exec` over the API server's WebSocket. Exit code 0 is
 * success. Unlike Stash (whose exec once hung for 18 days), `timeoutSeconds` closes the stream
 * and fails the hook.
 */
import { Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import { HookFailedError, HookTimeoutError, KubernetesApiError, TargetError } from '../../shared/errors.js';
import { CappedBuffer, redact, tail } from './output.js';
import type { ActionOptions, HostResult, KubeAccess } from './types.js';

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

function sink(...buffers: CappedBuffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const b of buffers) b.push(chunk);
      done();
    },
  });
}

/** The exit code in a `NonZeroExitCode` status (`details.causes[{reason: ExitCode, message}]`). */
function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = cause?.message !== undefined ? Number(cause.message) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

/** Runs `command` in `target` and returns its exit code 0 result, or throws. */
export async function runExec(kube: KubeAccess, target: ExecTarget, command: string[], opts: ActionOptions): Promise<HostResult> {
  const started = Date.now();
  const where = `pod ${target.namespace}/${target.pod} container ${target.container}`;
  const label = `exec in ${where}`;
  const output = new CappedBuffer();
  // stderr is also kept alone so a failure message can quote its end.
  const stderr = new CappedBuffer();
  const secrets = opts.secrets;
  const clean = (s: string) => redact(s, secrets);

  return new Promise<HostResult>((resolve, reject) => {
    let settled = false;
    let socket: { close(): void; terminate?: () => void } | undefined;
    const finish = (err: Error | undefined, result?: HostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      try {
        socket?.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(result!);
    };
    const timer = setTimeout(() => {
      socket?.terminate?.();
      finish(new HookTimeoutError(`${label} timed out after ${opts.timeoutSeconds}s`, { action: 'exec' }));
    }, opts.timeoutSeconds * 1000);
    const onAbort = () => finish(new HookFailedError(`${label} was cancelled`, { action: 'exec' }));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const onStatus = (status: V1Status) => {
      const code = exitCodeOf(status);
      if (code === 0) {
        // Success keeps nothing: what a command prints (a dump of env, a password) is not a result.
        finish(undefined, { action: 'exec', where, exitCode: 0, durationMs: Date.now() - started, output: '' });
      } else if (code !== undefined) {
        const errTail = tail(clean(stderr.toString() || output.toString()));
        finish(new HookFailedError(`${label} exited with code ${code}${errTail ? `: ${errTail}` : ''}`, { action: 'exec' }));
      } else {
        finish(new HookFailedError(`${label} failed: ${clean(status.message ?? status.reason ?? 'unknown error')}`, { action: 'exec' }));
      }
    };

    kube.exec.exec(target.namespace, target.pod, target.container, command, sink(output), sink(output, stderr), null, false, onStatus).then(
      (ws) => {
        socket = ws;
        if (settled) return ws.close();
        ws.on('close', () => {
          // The API server sends the status before closing; a close without one is a broken stream.
          setImmediate(() => finish(new HookFailedError(`${label} ended without an exit status (stream closed)`, { action: 'exec' })));
        });
      },
      (err: unknown) => {
        // client-node rejects with ws's ErrorEvent, which is not an Error but has a message.
        const msg = clean(String((err as { message?: unknown })?.message ?? err));
        const status = /Unexpected server response: (\d+)/.exec(msg)?.[1];
        // The pod was there when we chose it; a 404 now means it went away in between.
        if (status === '404') finish(new TargetError(`pod ${target.namespace}/${target.pod} not found (it went away before exec started)`, { cause: err }));
        else if (status === '403') {
          finish(
            new TargetError(
              `${label}: stash-hooks' worker may not exec in namespace ${target.namespace} (403 Forbidden); a platform admin grants a tenant namespace ` +
                'in k8s-manifests/components/tenant-namespaces (docs/security.md)',
              { cause: err },
            ),
          );
        } else
          finish(new KubernetesApiError(`${label}: could not open the exec stream: ${msg}`, { statusCode: status ? Number(status) : undefined, cause: err }));
      },
    );
  });
}
