/**
 * `stash-hooks demo --keep` as a child process, for tests that look at the demo's sessions the way
 * a user does (describe, the Sessions page): resolves once every example session finished, with
 * the kubeconfig, the queue prefix and the dashboard URL the demo printed. `stop()` sends SIGINT,
 * on which the demo removes its queues and its devcluster.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const STASH_HOOKS_BIN = fileURLToPath(new URL('../../bin/stash-hooks.js', import.meta.url));

export interface DemoProcess {
  kubeconfig: string;
  prefix: string;
  dashboardUrl: string;
  /** Everything the demo printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startDemo(timeoutMs = 150_000): Promise<DemoProcess> {
  const child = spawn(process.execPath, [STASH_HOOKS_BIN, 'demo', '--keep'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not finish within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (out.includes('--keep: staying up')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code} before it was up:\n${out}`));
    });
  });
  const kubeconfig = /kubeconfig=(\S+)/.exec(out)?.[1];
  const prefix = /queues under prefix "([^"]+)"/.exec(out)?.[1];
  const dashboardUrl = /^dashboard: (http:\/\/\S+\/)/m.exec(out)?.[1];
  if (!kubeconfig || !prefix || !dashboardUrl) throw new Error(`could not read the kubeconfig, prefix and dashboard from:\n${out}`);
  return {
    kubeconfig,
    prefix,
    dashboardUrl,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
