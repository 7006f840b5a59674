/**
 * The runner of each role: start the components, wait for SIGINT/SIGTERM, then drain (informers
 * stop, the Lease is handed over, in-flight hooks finish within the grace period or go back to
 * their queue). `all` is every component in one process. Roles load their code lazily so that
 * `--help` stays fast.
 */
import type { Config, Role } from '../shared/config.js';

/** Runs a role until it is told to stop; resolves to the process exit code. */
export type RoleRunner = (config: Config | undefined, flags: Record<string, unknown>) => Promise<number>;

const serve = (components: Array<'watcher' | 'coordinator' | 'worker' | 'dashboard'>, role: string): RoleRunner => async (config) =>
  (await import('./components.js')).serveComponents(components, role, config!);

export const ROLE_RUNNERS: Partial<Record<Role, RoleRunner>> = {
  watcher: serve(['watcher'], 'watcher'),
  coordinator: serve(['coordinator'], 'coordinator'),
  worker: serve(['worker'], 'worker'),
  dashboard: serve(['dashboard'], 'dashboard'),
  all: serve(['coordinator', 'worker', 'watcher', 'dashboard'], 'all'),
  devcluster: async (_config, flags) => (await import('./devcluster-role.js')).runDevcluster(flags),
  demo: async (config, flags) => (await import('./demo.js')).runDemo(config!, flags),
};
