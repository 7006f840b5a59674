// A hostile template cannot stall a worker (DESIGN §11): a hook with 20 heavy template fields
// fails naming the render budget, while /healthz keeps answering within 500 ms every 100 ms and
// a quiet namespace's hooks run to completion on the same worker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { startOpsServer, type OpsServer } from '../../shared/ops-server.js';
import { startPipeline, appYaml, applySinkSession, assertSinkSessionRanOnce, cond, configAndSession, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

/** Nested loops Liquid walks for about 2 s per field before its own render limit: 20 fields held a worker for ~40 s. */
const HEAVY = '{% for a in (1..3000) %}{% for b in (1..3000) %}{{ b }}{% endfor %}{% endfor %}';

let p: Pipeline;
let ops: OpsServer;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
  ops = await startOpsServer({ port: 0, registry: new Registry() });
});
test.after(async () => {
  await ops?.close();
  await p?.close();
});

test('20 heavy template fields fail on the budget; /healthz and a quiet namespace are unaffected', async () => {
  const probes: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const t = Date.now();
      const res = await fetch(`${ops.url}/healthz`);
      await res.text();
      probes.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const values = Array.from({ length: 20 }, () => `'${HEAVY}'`).join(', ');
    await p.apply(appYaml('hostile', 'app'));
    await p.apply(
      configAndSession(
        'hostile',
        `    preBackup: {httpPost: {host: 127.0.0.1, port: ${p.sink.port}, path: /hostile/pre, form: [{key: k, values: [${values}]}]}}\n    postBackup: ${sinkPost(p.sink, '/hostile/post')}`,
      ),
    );
    await applySinkSession(p, 'quiet');
    const hostile = (await p.waitForPhase('BackupSession', 'hostile', 'cfg-1')) as BackupSession;
    assert.equal(cond(hostile.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
      status: 'False',
      reason: 'FailedToExecutePreBackupHook',
      message:
        'Failed to execute preBackup hook. Reason: rendering the templates of this hook took more than the budget of 2000 ms (all fields together); simplify its loops',
    });
    assert.is(p.sink.requests.filter((r) => r.path.startsWith('/hostile/')).length, 0, 'the hostile hook sent nothing');
    await assertSinkSessionRanOnce(p, 'quiet');
  } finally {
    probing = false;
    await prober;
  }
  assert.ok(probes.length >= 20, `${probes.length} probes`);
  const worst = Math.max(...probes);
  assert.ok(worst < 500, `the slowest /healthz took ${worst} ms`);
});

test.run();
