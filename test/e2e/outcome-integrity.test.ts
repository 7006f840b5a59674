// A Redis writer cannot open a backup gate (DESIGN §11: Redis is trusted for availability, not
// for authority). The hook worker keeps a hook's outcome on its BullMQ job so that a retry
// records it without re-running the hook; here someone with write access to Redis plants or
// alters that outcome on a real hook job before a worker takes it. A pre hook that fails (the
// sink answers 500) must still fail: the forged "succeeded" is ignored, logged, and the hook
// runs. An outcome sealed with the workers' key is still honoured without running the hook.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { startPipeline, appYaml, capturingLogger, cond, configAndSession, sinkPost, waitFor, type Pipeline } from '../helpers/pipeline.js';
import { bullPrefix } from '../../shared/redis.js';
import { hookJobId, type HookJobData } from '../../shared/queues.js';
import type { BackupSession } from '../../shared/resources.js';
import { OutcomeSeal } from '../../workers/outcome-seal.js';

const KEY = randomBytes(32).toString('base64url');
const logs: string[] = [];
let p: Pipeline;
let queue: Queue;

test.before(async () => {
  p = await startPipeline({ outcomeKey: KEY, logger: capturingLogger(logs) });
  queue = new Queue('pre-backup', { connection: { host: p.redis.nodes[0].host, port: p.redis.nodes[0].port }, prefix: bullPrefix(p.prefix, p.redis) });
});
test.after(async () => {
  await queue?.close();
  await p?.close();
});

type Tamper = (job: Job, data: HookJobData & Record<string, unknown>) => Record<string, unknown>;
const sealFor = (key: string, _job: Job, data: HookJobData, outcome: object) => new OutcomeSeal(key).seal({ data }, outcome as never);

const cases: Array<{ ns: string; what: string; tamper: Tamper; trusted: boolean }> = [
  { ns: 'forged-plain', what: 'a planted "succeeded" without a seal', trusted: false, tamper: (_j, d) => ({ ...d, outcome: { kind: 'succeeded' } }) },
  {
    ns: 'forged-otherkey',
    what: 'a "succeeded" sealed with another key',
    trusted: false,
    tamper: (j, d) => ({ ...d, outcome: { kind: 'succeeded' }, outcomeSeal: sealFor(randomBytes(32).toString('hex'), j, d, { kind: 'succeeded' }) }),
  },
  {
    ns: 'forged-altered',
    what: 'a genuinely sealed "failed" turned into "succeeded"',
    trusted: false,
    tamper: (j, d) => ({ ...d, outcome: { kind: 'succeeded' }, outcomeSeal: sealFor(KEY, j, d, { kind: 'failed', error: 'kept' }) }),
  },
  {
    ns: 'kept-genuine',
    what: "an outcome sealed with the workers' key",
    trusted: true,
    tamper: (j, d) => ({
      ...d,
      outcome: { kind: 'failed', error: 'kept by an earlier attempt' },
      outcomeSeal: sealFor(KEY, j, d, { kind: 'failed', error: 'kept by an earlier attempt' }),
    }),
  },
];

test('a forged or altered kept outcome is ignored and the hook runs; a sealed one is honoured', async () => {
  // Hold the hook jobs in Redis (workers take nothing from a paused queue) while they are altered.
  await queue.pause();
  try {
    for (const c of cases) {
      p.sink.statusFor.set(`/${c.ns}/pre`, 500);
      await p.apply(appYaml(c.ns, 'app'));
      await p.apply(configAndSession(c.ns, `    preBackup: ${sinkPost(p.sink, `/${c.ns}/pre`)}`));
    }
    for (const c of cases) {
      const session = await p.getSession('BackupSession', c.ns, 'cfg-1');
      const id = hookJobId({
        session: { kind: 'BackupSession', namespace: c.ns, name: 'cfg-1', uid: session.metadata.uid! },
        hook: 'preBackup',
        scope: 'local',
        targetIndex: 0,
      });
      const job = await waitFor(`the preBackup job of ${c.ns}`, () => queue.getJob(id));
      await job.updateData(c.tamper(job, job.data as HookJobData & Record<string, unknown>) as never);
    }
  } finally {
    await queue.resume();
  }

  for (const c of cases) {
    const s = (await p.waitForPhase('BackupSession', c.ns, 'cfg-1')) as BackupSession;
    const t = s.status!.targets![0];
    const ran = p.sink.requests.filter((r) => r.path === `/${c.ns}/pre`).length;
    assert.is(s.status?.phase, 'Failed', `${c.what}: the session fails, the backup never ran`);
    assert.is(cond(t.conditions, 'ReadyForBackup')?.status, 'False', `${c.what}: the gate stays closed`);
    assert.is(t.stats, undefined, `${c.what}: the executor never backed up`);
    if (c.trusted) {
      assert.is(ran, 0, `${c.what}: recorded without running the hook again`);
      assert.is(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.message, 'Failed to execute preBackup hook. Reason: kept by an earlier attempt');
    } else {
      assert.is(ran, 1, `${c.what}: the hook ran`);
      assert.is(
        cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.message,
        `Failed to execute preBackup hook. Reason: HTTP POST http://127.0.0.1:${p.sink.port}/${c.ns}/pre returned 500`,
      );
    }
  }
  const warnings = logs.filter((l) => l.includes('does not carry a valid seal'));
  assert.is(warnings.length, 3, 'each forgery is logged once');
  for (const c of cases.filter((x) => !x.trusted))
    assert.ok(
      warnings.some((l) => l.includes(c.ns)),
      `${c.ns} logged`,
    );
});

test.run();
