// The seal on a kept hook outcome (workers/outcome-seal.ts): it verifies for the outcome and job
// it was made for, and for nothing else — not another key, outcome, hook, target or session.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutcomeSeal, type SealedFor } from '../../workers/outcome-seal.js';
import type { HookOutcome } from '../../shared/conditions.js';

const KEY = 'an-outcome-key-of-at-least-32-characters';
const what: SealedFor = {
  data: { session: { kind: 'BackupSession', namespace: 'demo', name: 's-1', uid: '1b4e28ba' }, hook: 'preBackup', scope: 'local', targetIndex: 0 },
};
const failed: HookOutcome = { kind: 'failed', error: 'quiesce refused' };

test('a seal verifies for what it sealed, with the same key in another process', () => {
  const seal = new OutcomeSeal(KEY).seal(what, failed);
  assert.match(seal, /^[0-9a-f]{64}$/);
  assert.ok(new OutcomeSeal(KEY).verify(what, failed, seal));
  assert.ok(new OutcomeSeal(KEY).verify(what, { error: 'quiesce refused', kind: 'failed' }, seal), 'key order does not matter');
  const skipped: HookOutcome = { kind: 'skipped', policy: 'OnFailure', phase: 'Succeeded' };
  assert.ok(new OutcomeSeal(KEY).verify(what, skipped, new OutcomeSeal(KEY).seal(what, skipped)));
});

test('a changed outcome, hook, target, session or key does not verify', () => {
  const seal = new OutcomeSeal(KEY).seal(what, failed);
  const v = (w: SealedFor, o: HookOutcome, s: unknown = seal, key = KEY) => new OutcomeSeal(key).verify(w, o, s);
  assert.not.ok(v(what, { kind: 'succeeded' }), 'failed turned into succeeded');
  assert.not.ok(v(what, { kind: 'failed', error: 'other' }));
  assert.not.ok(v({ ...what, data: { ...what.data, targetIndex: 1 } }, failed));
  assert.not.ok(v({ ...what, data: { ...what.data, hook: 'postBackup' } }, failed));
  assert.not.ok(v({ ...what, data: { ...what.data, scope: 'global', targetIndex: undefined } }, failed));
  assert.not.ok(v({ ...what, data: { ...what.data, session: { ...what.data.session, uid: 'other' } } }, failed));
  assert.not.ok(v({ ...what, data: { ...what.data, session: { ...what.data.session, namespace: 'other' } } }, failed));
  assert.not.ok(v(what, failed, seal, `${KEY}-other`), 'another key');
  for (const bad of [undefined, '', 'x', seal.toUpperCase(), `${seal}00`, 42, { seal }])
    assert.not.ok(new OutcomeSeal(KEY).verify(what, failed, bad), String(bad));
});

test('without a key every process has its own, so only it trusts its seals', () => {
  const a = new OutcomeSeal();
  const b = new OutcomeSeal();
  assert.ok(a.ephemeral);
  assert.not.ok(new OutcomeSeal(KEY).ephemeral);
  const seal = a.seal(what, failed);
  assert.ok(a.verify(what, failed, seal));
  assert.not.ok(b.verify(what, failed, seal));
});

test.run();
