// The network guard in the running worker on devcluster (DESIGN §11): loopback is devcluster's pod
// network, so it stays reachable, but the API server's port and stash-hooks' Redis — read by the
// worker itself from its kubeconfig, the `kubernetes` Service and its Redis URL — are refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startPipeline, appYaml, cond, configAndSession, sinkPost, type Pipeline } from '../helpers/pipeline.js';
import type { BackupSession } from '../../shared/resources.js';

let p: Pipeline;
test.before(async () => {
  p = await startPipeline({ verbose: !!process.env.VERBOSE });
});
test.after(async () => {
  await p?.close();
});

test("a hook to the API server or to Redis fails with the guard's reason; a hook to a pod address runs", async () => {
  const api = new URL(p.cluster.url);
  const redis = p.redis.nodes[0];
  await p.apply(appYaml('guarded', 'app'));
  await p.apply(
    configAndSession('guarded', `    preBackup: ${sinkPost(p.sink, '/guarded/pre')}\n    postBackup: {tcpSocket: {host: ${redis.host}, port: ${redis.port}}}`),
  );
  const s = (await p.waitForPhase('BackupSession', 'guarded', 'cfg-1')) as BackupSession;
  const t = s.status!.targets![0];
  assert.is(cond(t.conditions, 'PreBackupHookExecutionSucceeded')?.status, 'True', 'the sink on loopback is reachable in devcluster mode');
  assert.equal(cond(t.conditions, 'PostBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePostBackupHook',
    message: `Failed to execute postBackup hook. Reason: network guard refused address ${redis.host}: it is stash-hooks' Redis, which hooks may not reach`,
  });

  await p.apply(appYaml('apiserver', 'app'));
  await p.apply(configAndSession('apiserver', `    preBackup: {httpGet: {host: ${api.hostname}, port: ${api.port}, path: /api/v1/secrets}}`));
  const s2 = (await p.waitForPhase('BackupSession', 'apiserver', 'cfg-1')) as BackupSession;
  assert.equal(cond(s2.status!.targets![0].conditions, 'PreBackupHookExecutionSucceeded'), {
    status: 'False',
    reason: 'FailedToExecutePreBackupHook',
    message: `Failed to execute preBackup hook. Reason: network guard refused address ${api.hostname}: it is the Kubernetes API server, which hooks may not reach`,
  });
});

test.run();
