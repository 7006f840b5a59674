/**
 * The runner of each role. A role that is not built yet has no entry; the CLI then says so and
 * exits 2. Runners import their role lazily so that `--help` stays fast.
 */
import type { Config, Role } from '../shared/config.js';

/** Runs a role until it is told to stop; resolves to the process exit code. */
export type RoleRunner = (config: Config | undefined, flags: Record<string, unknown>) => Promise<number>;

export const ROLE_RUNNERS: Partial<Record<Role, RoleRunner>> = {};
