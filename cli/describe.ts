/**
 * `stash-hooks describe <kind>/<name> [-n ns] [-o text|json]` (DESIGN §9): a session's timeline in
 * the terminal — every hook with where it ran, how it ended, when and for how long, as a text
 * Gantt; `-o json` prints the timeline for scripts. Also run as the kubectl plugin
 * `kubectl stash-hooks describe …` (bin/kubectl-stash_hooks.js).
 *
 * Read-only. The session comes from the cluster; its jobs from Redis when Redis answers (else the
 * conditions alone, which is said on stderr). Heavy modules load only when the command runs.
 */
import { Command, Option } from 'commander';
import type { SessionTimeline, TimelineBar, TimelineOutcome } from '../shared/timeline.js';

/** Width of the Gantt column in characters. */
const GANTT_WIDTH = 40;

const MARK: Record<TimelineOutcome, { word: string; fill: string }> = {
  succeeded: { word: 'succeeded', fill: '█' },
  failed: { word: 'FAILED', fill: 'X' },
  skipped: { word: 'skipped', fill: '░' },
  'not-run': { word: 'not run', fill: '░' },
  running: { word: 'running', fill: '▒' },
  waiting: { word: 'waiting', fill: '·' },
};

/** `15ms`, `1.25s`, `2m5s`. */
export function formatSpan(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${m}m${s % 60}s` : `${m}m${s % 60}s`;
}

function ganttCell(bar: TimelineBar, t: SessionTimeline, nowMs: number): string {
  const cells = Array<string>(GANTT_WIDTH).fill(' ');
  if (bar.startMs !== undefined) {
    const span = Math.max(1, t.toMs - t.fromMs);
    const col = (x: number) => Math.min(GANTT_WIDTH - 1, Math.max(0, Math.floor(((x - t.fromMs) / span) * GANTT_WIDTH)));
    const end = bar.endMs ?? (bar.outcome === 'running' ? nowMs : bar.startMs);
    for (let i = col(bar.startMs); i <= col(end); i++) cells[i] = MARK[bar.outcome].fill;
  }
  return `|${cells.join('')}|`;
}

/** The timeline as a text Gantt: a header, then one line per bar in row order. */
export function renderTimelineText(t: SessionTimeline, nowMs: number, note?: string): string {
  const lines: string[] = [];
  const iso = (x: number) => new Date(x).toISOString();
  lines.push(`${t.kind} ${t.namespace}/${t.name}  phase ${t.phase}${t.sessionDuration ? `  took ${t.sessionDuration}` : ''}`);
  const meta = [t.createdMs !== undefined ? `created ${iso(t.createdMs)}` : '', t.deadlineMs !== undefined ? `deadline ${iso(t.deadlineMs)}` : ''].filter(
    Boolean,
  );
  if (meta.length) lines.push(meta.join('  '));
  if (t.deadlineMessage) lines.push(`DeadlineExceeded: ${t.deadlineMessage}`);
  if (note) lines.push(note);
  lines.push('');
  const rowWidth = Math.max(4, ...t.rows.map((r) => r.label.length));
  lines.push(
    `${'ROW'.padEnd(rowWidth)}  ${'STEP'.padEnd(11)} ${'RESULT'.padEnd(9)} ${'START'.padStart(9)} ${'TOOK'.padStart(8)}  ${'TIMELINE'.padEnd(GANTT_WIDTH + 2)}  WHERE / MESSAGE`,
  );
  for (const row of t.rows) {
    for (const bar of row.bars) {
      const step = bar.attempt ? `${bar.label} ${bar.attempt.n}/${bar.attempt.of}` : bar.label;
      const start = bar.startMs === undefined ? '-' : `+${formatSpan(bar.startMs - t.fromMs)}`;
      const took = bar.startMs === undefined || (bar.endMs === undefined && bar.outcome !== 'running') ? '-' : formatSpan((bar.endMs ?? nowMs) - bar.startMs);
      const detail = [
        bar.where ? `[${bar.where}]` : '',
        bar.message ?? '',
        bar.estimated ? '(time estimated)' : '',
        bar.source === 'condition' ? '(from conditions)' : '',
      ]
        .filter(Boolean)
        .join(' ');
      lines.push(
        `${row.label.padEnd(rowWidth)}  ${step.padEnd(11)} ${MARK[bar.outcome].word.padEnd(9)} ${start.padStart(9)} ${took.padStart(8)}  ${ganttCell(bar, t, nowMs)}  ${detail}`.trimEnd(),
      );
    }
  }
  if (t.rows.length === 0) lines.push('(nothing has run yet)');
  return `${lines.join('\n')}\n`;
}

/** Splits `backupsession/name` (also `backupsessions/name`, `BackupSession/name`). */
function parseTarget(raw: string): { kind: string; name: string } {
  const m = /^([^/]+)\/([^/]+)$/.exec(raw);
  if (!m) throw new DescribeUsageError(`"${raw}" is not <kind>/<name>; e.g. backupsession/app-backup-1700000000 or restoresession/app-restore`);
  return { kind: m[1], name: m[2] };
}

class DescribeUsageError extends Error {
  override name = 'DescribeUsageError';
}

/** Where `describe` writes: stdout and stderr, or a test's buffers. */
export interface DescribeIO {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** Runs `describe`; returns the exit code (0 found, 1 not found or failed, 2 bad usage). */
export async function runDescribe(ref: string, flags: Record<string, unknown>, io: DescribeIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  const { loadConfig } = await import('../shared/config.js');
  const { loadKubeConfig } = await import('./runtime.js');
  const { parseSessionKind, SessionReader, loadTimeline } = await import('../dashboard/sessions-data.js');
  const { bullPrefix, connectRedis, describeRedisTarget } = await import('../shared/redis.js');
  const { errorMessage } = await import('../shared/errors.js');
  let target: { kind: string; name: string };
  try {
    target = parseTarget(ref);
  } catch (err) {
    io.err.write(`stash-hooks describe: ${errorMessage(err)}\n`);
    return 2;
  }
  const kind = parseSessionKind(target.kind);
  const output = String(flags.output ?? 'text');
  if (!kind) {
    io.err.write(`stash-hooks describe: unknown kind "${target.kind}"; expected backupsession or restoresession\n`);
    return 2;
  }
  if (output !== 'text' && output !== 'json') {
    io.err.write(`stash-hooks describe: -o/--output "${output}" is not valid; expected text or json\n`);
    return 2;
  }
  // The coordinator's settings are the ones describe needs: kubeconfig, Redis, prefix.
  const config = loadConfig(
    'coordinator',
    { kubeconfig: flags.kubeconfig, redisUrl: flags.redisUrl, redisCaFile: flags.redisCaFile, prefix: flags.prefix },
    process.env,
  );
  const kc = loadKubeConfig(config.kubeconfig);
  const namespace = String(flags.namespace ?? (kc.getContextObject(kc.getCurrentContext())?.namespace || 'default'));
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let note: string | undefined;
  try {
    redis = await connectRedis(config.redis, { purpose: 'producer', connectionName: 'stash-hooks-describe', tlsCaFile: config.redisCaFile }, 3000);
  } catch (err) {
    note = `(Redis at ${describeRedisTarget(config.redis)} did not answer: ${errorMessage(err)}; showing what the conditions say)`;
  }
  try {
    const nowMs = Date.now();
    const found = await loadTimeline(
      { sessions: new SessionReader(kc), redis, prefix: bullPrefix(config.prefix, config.redis) },
      kind,
      namespace,
      target.name,
      nowMs,
    );
    if (!found) {
      io.err.write(`stash-hooks describe: ${kind} ${namespace}/${target.name} not found\n`);
      return 1;
    }
    if (redis && !found.jobsRead) note = '(could not read the jobs from Redis; showing what the conditions say)';
    if (output === 'json') io.out.write(`${JSON.stringify(found.timeline, null, 2)}\n`);
    else {
      if (note) io.err.write(`${note}\n`);
      io.out.write(renderTimelineText(found.timeline, nowMs));
    }
    return 0;
  } catch (err) {
    io.err.write(`stash-hooks describe: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    redis?.disconnect();
  }
}

/** The `describe` command for cli/main.ts. */
export function describeCommand(): Command {
  return new Command('describe')
    .description("show a session's hooks as a timeline: where each ran, how it ended, how long it took")
    .argument('<kind/name>', 'backupsession/<name> or restoresession/<name>')
    .addOption(new Option('-n, --namespace <ns>', "the session's namespace (default: the kubeconfig context's, else default)"))
    .addOption(new Option('-o, --output <format>', 'text or json').default('text'))
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig (KUBECONFIG)'))
    .addOption(new Option('--redis-url <url>', 'Redis holding the jobs (REDIS_URL)'))
    .addOption(new Option('--redis-ca-file <path>', 'CA for rediss:// (REDIS_CA_FILE)'))
    .addOption(new Option('--prefix <prefix>', 'BullMQ key prefix (STASH_HOOKS_PREFIX)'))
    .exitOverride()
    .action(async (ref: string, flags: Record<string, unknown>) => {
      process.exitCode = await runDescribe(ref, flags);
    });
}
