// The pure parts of fair scheduling (workers/hook-fairness.ts): the default per-namespace cap,
// slot counting per queue and namespace, and how a hook's timeout is clamped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultNamespaceCap, hookTimeoutSeconds, NamespaceSlots } from '../../workers/hook-fairness.js';

test('by default one namespace gets half the slots, at least one', () => {
  assert.equal([1, 2, 3, 10, 11, 1000].map(defaultNamespaceCap), [1, 1, 1, 5, 5, 500]);
});

test('slots are counted per queue and namespace, and a release frees exactly one', () => {
  const slots = new NamespaceSlots(2);
  const a1 = slots.tryTake('pre-backup', 'a');
  const a2 = slots.tryTake('pre-backup', 'a');
  assert.ok(a1 && a2);
  assert.is(slots.tryTake('pre-backup', 'a'), undefined, 'a third hook of a on pre-backup waits');
  assert.ok(slots.tryTake('pre-backup', 'b'), 'another namespace is not affected');
  assert.ok(slots.tryTake('post-backup', 'a'), 'another queue is not affected');
  a1!();
  a1!(); // a second release of the same slot frees nothing more
  assert.is(slots.count('pre-backup', 'a'), 1);
  assert.ok(slots.tryTake('pre-backup', 'a'));
  assert.is(slots.tryTake('pre-backup', 'a'), undefined);
  assert.throws(() => new NamespaceSlots(0), /namespace concurrency must be an integer ≥ 1, got 0/);
});

test("a hook's timeout is clamped to the maximum, and a pre hook's to its session's deadline", () => {
  const now = 1_000_000;
  assert.equal(hookTimeoutSeconds(300, 3600, { pre: true, now }), { timeoutSeconds: 300 });
  assert.equal(hookTimeoutSeconds(7200, 3600, { pre: false, now }), { timeoutSeconds: 3600, clampedBy: 'max-hook-timeout' });
  assert.equal(hookTimeoutSeconds(300, 3600, { pre: true, now, deadlineMs: now + 10_500 }), {
    timeoutSeconds: 11,
    deadlineMs: now + 10_500,
    clampedBy: 'session-deadline',
  });
  assert.equal(hookTimeoutSeconds(5, 3600, { pre: true, now, deadlineMs: now + 10_500 }), { timeoutSeconds: 5 }, "the hook's own timeout ends first");
  // Post hooks are what runs at the deadline (DESIGN §10): the deadline does not cut them.
  assert.equal(hookTimeoutSeconds(300, 3600, { pre: false, now, deadlineMs: now + 10_500 }), { timeoutSeconds: 300 });
  // A deadline already past does not shorten a hook to nothing: what runs after it is the coordinator's call.
  assert.equal(hookTimeoutSeconds(300, 3600, { pre: true, now, deadlineMs: now - 1 }), { timeoutSeconds: 300 });
});

test.run();
