/**
 * `stash-hooks <role>`: the one CLI of the product (DESIGN §7). It builds the help from the
 * settings table in shared/config.ts, validates the configuration once, and hands over to the
 * role's runner. Signal handlers live here and in the runners only.
 */
import { noteExitReason, reportExitAlways } from './exit-reason.js';
import { Command, CommanderError, Option } from 'commander';
import { ROLES, ROLE_SUMMARY, SECRET_ENV, settingsFor, loadConfig, type Role, type Config } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { ROLE_RUNNERS, type RoleRunner } from './roles.js';
import { describeCommand } from './describe.js';

/** Options a role has besides the shared settings (they configure that role alone). */
const ROLE_OPTIONS: Partial<Record<Role, Option[]>> = {
  devcluster: [
    new Option('--port <n>', 'port on 127.0.0.1 (0: any free port)').default('0'),
    new Option('--kubeconfig <path>', 'where to write the kubeconfig (context devcluster)'),
    new Option('--token <token>', 'require Authorization: Bearer <token> on every request'),
    new Option('--no-executor', 'do not run the backup executor simulator'),
    new Option('--backup-seconds <s>', 'how long a simulated backup takes').default('1'),
  ],
  demo: [new Option('--keep', 'stay up after the examples finished (Ctrl-C stops)')],
};

function roleHelp(role: Role): string {
  const lines = ['', 'Settings (flag, environment variable, default):'];
  for (const s of settingsFor(role)) {
    lines.push(`  ${s.flag.padEnd(26)} ${(s.env ?? '').padEnd(36)} ${s.defaultText}`);
  }
  if (['dashboard', 'all', 'demo'].includes(role)) {
    lines.push(
      '',
      'Dashboard credentials (environment only):',
      `  ${SECRET_ENV.dashboardUser} + ${SECRET_ENV.dashboardPassword} (basic auth), or ${SECRET_ENV.dashboardToken} (bearer)`,
    );
  }
  return lines.join('\n');
}

export function buildProgram(run: (role: Role, config: Config | undefined, flags: Record<string, unknown>) => Promise<number>): Command {
  const program = new Command('stash-hooks')
    .description('Runs Stash backup and restore hooks as event-driven BullMQ queue workers.')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\nRoles:\n${ROLES.map((r) => `  ${r.padEnd(12)} ${ROLE_SUMMARY[r]}`).join('\n')}\n\nRun "stash-hooks <role> --help" for a role's settings.`,
    );

  for (const role of ROLES) {
    const cmd = program.command(role).description(ROLE_SUMMARY[role]).exitOverride();
    const own = ROLE_OPTIONS[role] ?? [];
    const ownFlags = new Set(own.map((o) => o.long));
    for (const s of settingsFor(role)) {
      if (ownFlags.has(s.flag)) continue;
      const opt = s.boolean ? new Option(s.flag, `${s.description}`) : new Option(`${s.flag} <value>`, `${s.description}; ${s.accepted}`);
      cmd.addOption(opt);
    }
    for (const o of own) cmd.addOption(o);
    cmd.addHelpText('after', roleHelp(role));
    cmd.action(async (flags: Record<string, unknown>) => {
      const config = role === 'devcluster' ? undefined : loadConfig(role, flags, process.env);
      reportExitAlways(role);
      const code = await run(role, config, flags);
      noteExitReason(`the role stopped (exit code ${code})`);
      process.exitCode = code;
    });
  }
  program.addCommand(describeCommand());
  return program;
}

async function runRole(role: Role, config: Config | undefined, flags: Record<string, unknown>): Promise<number> {
  const runner: RoleRunner | undefined = ROLE_RUNNERS[role];
  if (!runner) {
    process.stderr.write(`stash-hooks ${role}: this role is not built yet in this version; see "stash-hooks --help" for the roles that are\n`);
    return 2;
  }
  return runner(config, flags);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram(runRole);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      process.exitCode = 2;
      return;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were printed by commander.
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`stash-hooks: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`stash-hooks: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
