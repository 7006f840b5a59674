/**
 * `pods/exec` over WebSocket with the `v5.channel.k8s.io` and `v4.channel.k8s.io` subprotocols:
 * every binary frame starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 status, 4
 * resize, 255 close in v5). The command runs as a local process, argv as given and no shell, in
 * the pod's own directory with POD_NAME, POD_NAMESPACE and CONTAINER_NAME set; its exit is
 * reported on channel 3 the way the kubelet reports it (`Success`, or `NonZeroExitCode` with an
 * `ExitCode` cause). Closing the socket kills the process group, so a caller's timeout always
 * ends the command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, badRequest } from './api-error.js';
import type { ParsedPath } from './api-server.js';
import type { ObjectApi } from './crud.js';
import { containerEnv } from './container-env.js';
import type { Registry } from './registry.js';
import type { KubeObject } from './store.js';

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CH_STDIN = 0;
const CH_STDOUT = 1;
const CH_STDERR = 2;
const CH_STATUS = 3;
const CH_CLOSE = 255;

/** Options of {@link ExecService}. */
export interface ExecServiceOptions {
  api: ObjectApi;
  registry: Registry;
  podsDir: string;
  log: (line: string) => void;
}

function frame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** The channel-3 Status for an exit code, as the kubelet writes it. */
export function exitStatus(argv: string[], code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

type ContainerStatus = { name: string; state?: { running?: unknown } };

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6 };

/** Validates exec requests, upgrades them and runs the commands. */
export class ExecService {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly options: ExecServiceOptions) {}

  /** Validates the request (pod, container, command) and upgrades it; throws `ApiError` before upgrading. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, p: ParsedPath): void {
    const url = new URL(req.url ?? '/', 'http://devcluster');
    const q = url.searchParams;
    const podDef = this.options.registry.get('', 'v1', 'pods')!;
    const pod = this.options.api.get(podDef, p.namespace, p.name!);
    const spec = (pod.spec ?? {}) as Record<string, unknown>;
    const containers = ((spec.containers ?? []) as Array<{ name: string }>).map((c) => c.name);
    const inits = ((spec.initContainers ?? []) as Array<{ name: string }>).map((c) => c.name);
    let container = q.get('container') ?? '';
    if (!container) {
      if (containers.length !== 1)
        throw badRequest(
          `a container name must be specified for pod ${p.name}, choose one of: [${containers.join(' ')}] or one of the init containers: [${inits.join(' ')}]`,
        );
      container = containers[0];
    }
    if (!containers.includes(container) && !inits.includes(container)) throw badRequest(`container ${container} is not valid for pod ${p.name}`);
    // The kubelet execs into any running container, a running init container (or native sidecar) included.
    const statuses = [
      ...((((pod.status ?? {}) as Record<string, unknown>).containerStatuses ?? []) as ContainerStatus[]),
      ...((((pod.status ?? {}) as Record<string, unknown>).initContainerStatuses ?? []) as ContainerStatus[]),
    ];
    const state = statuses.find((st) => st.name === container)?.state;
    if (state && !state.running) throw badRequest(`container ${container} is not running in pod ${p.name}`);
    const argv = q.getAll('command');
    if (argv.length === 0 || argv[0] === '') throw badRequest('you must specify at least 1 command');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!PROTOCOLS.some((x) => offered.includes(x)))
      throw badRequest(`unable to upgrade connection: no supported subprotocol in [${offered.join(', ')}] (supported: ${PROTOCOLS.join(', ')})`);
    const flag = (name: string): boolean => q.get(name) === 'true' || q.get(name) === '1';
    // Streams the client did not ask for are not sent: client-node throws on an unexpected channel.
    const streams = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr') };
    const podDir = join(this.options.podsDir, p.namespace!, p.name!);
    const lookup = (resource: 'secrets' | 'configmaps', namespace: string, name: string): KubeObject | undefined => {
      const def = this.options.registry.get('', 'v1', resource)!;
      try {
        return this.options.api.get(def, namespace, name);
      } catch {
        return undefined;
      }
    };
    // The container's own env (as the kubelet resolves it); PATH stays this machine's, and the
    // POD_* variables are devcluster's contract, so both win over the spec.
    const env: Record<string, string> = {
      ...containerEnv(pod, container, lookup),
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: podDir,
      POD_NAME: p.name!,
      POD_NAMESPACE: p.namespace!,
      CONTAINER_NAME: container,
    };
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.run(ws, argv, podDir, env, streams);
    });
  }

  private run(ws: WebSocket, argv: string[], podDir: string, env: Record<string, string>, streams: { stdin: boolean; stdout: boolean; stderr: boolean }): void {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    const send = (data: Buffer): void => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    };
    let child: ChildProcess;
    try {
      mkdirSync(podDir, { recursive: true });
      child = spawn(argv[0], argv.slice(1), {
        cwd: podDir,
        env,
        stdio: [streams.stdin ? 'pipe' : 'ignore', streams.stdout ? 'pipe' : 'ignore', 'pipe'],
        detached: true,
      });
    } catch (err) {
      send(
        frame(
          CH_STATUS,
          JSON.stringify({
            metadata: {},
            status: 'Failure',
            reason: 'InternalError',
            message: `error executing command in container: ${(err as Error).message}`,
          }),
        ),
      );
      ws.close(1000);
      return;
    }
    this.running.add(child);
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
    });
    child.stdout?.on('data', (d: Buffer) => send(frame(CH_STDOUT, d)));
    // stderr is always piped, so a command that cannot start can say why when stderr is wanted.
    child.stderr?.on('data', (d: Buffer) => streams.stderr && send(frame(CH_STDERR, d)));
    child.stdin?.on('error', () => {});
    child.on('close', (code, signal) => {
      this.running.delete(child);
      let exit = code ?? (signal ? 128 + (SIGNALS[signal] ?? 1) : 1);
      if (spawnError) {
        // What containerd reports for a command that cannot start: the reason on the output, exit 126.
        const what = spawnError.code === 'ENOENT' ? `exec: "${argv[0]}": executable file not found in $PATH` : spawnError.message;
        if (streams.stderr) send(frame(CH_STDERR, `OCI runtime exec failed: exec failed: unable to start container process: ${what}: unknown\n`));
        exit = 126;
      }
      send(frame(CH_STATUS, JSON.stringify(exitStatus(argv, exit))));
      ws.close(1000);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length < 1) return;
      const ch = data[0];
      if (ch === CH_STDIN) child.stdin?.write(data.subarray(1));
      else if (v5 && ch === CH_CLOSE && data[1] === CH_STDIN) child.stdin?.end();
    });
    ws.on('close', () => this.kill(child));
    ws.on('error', () => this.kill(child));
  }

  private kill(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }

  /** Kills every running command and closes open sockets. */
  close(): void {
    for (const c of this.running) this.kill(c);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

export { ApiError };
