/**
 * The runner of each role: start the components, wait for SIGINT/SIGTERM, then drain (informers
 * stop, the Lease is handed over, in-flight hooks finish within the grace period or go back to
 * their queue). `all` is every component in one process. Roles load their code lazily so that
 * `--help` stays fast.
 */
import type { Config, Role } from '../shared/config.js';

/** Runs a role until it is told to stop; resolves to the process exit code. */
export type RoleRunner = (config: Config | undefined, flags: Record<string, unknown>) => Promise<number>;

const serve =
  (components: Array<'watcher' | 'coordinator' | 'worker' | 'dashboard'>, role: string): RoleRunner =>
  async (config) =>
    (await import('./components.js')).serveComponents(components, role, config!);

export const ROLE_RUNNERS: Partial<Record<Role, RoleRunner>> = {
  watcher: serve(['watcher'], 'watcher'),
  coordinator: serve(['coordinator'], 'coordinator'),
  worker: serve(['worker'], 'worker'),
  dashboard: serve(['dashboard'], 'dashboard'),
  all: serve(['coordinator', 'worker', 'watcher', 'dashboard'], 'all'),
  devcluster: async (_config, flags) => {
    const mod = await loadDevelopmentRole('devcluster', () => import('./devcluster-role.js'));
    return mod ? mod.runDevcluster(flags) : 2;
  },
  demo: async (config, flags) => {
    const mod = await loadDevelopmentRole('demo', () => import('./demo.js'));
    return mod ? mod.runDemo(config!, flags) : 2;
  },
};

/**
 * Loads a development role. The production image (the Dockerfile's `runtime` target) leaves
 * devcluster/ out (an API server whose exec runs anything has no place next to the production
 * roles), so these imports stay dynamic and their absence is reported, not thrown.
 */
async function loadDevelopmentRole<T>(role: Role, load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !/[/\\]devcluster[/\\]/.test((err as Error).message)) throw err;
    process.stderr.write(
      `stash-hooks ${role}: this installation has no devcluster (the production image leaves it out); ` +
        'use the demo image (Dockerfile target "demo") or a checkout of the repository\n',
    );
    return undefined;
  }
}
