/**
 * Authenticates the hook outcome a worker keeps on its BullMQ job (DESIGN §11: Redis is trusted
 * for availability, not for authority).
 *
 * A kept outcome is read back by the next attempt, which writes it as the hook's condition
 * without running the hook; a succeeded pre hook opens the target's backup gate. Whoever can
 * write to Redis could otherwise plant `{kind: 'succeeded'}` on a job and open a gate that a
 * failing pre hook (a database that would not quiesce) keeps closed. So the outcome is sealed
 * with an HMAC-SHA256 over the hook's identity (session uid, namespace and name, hook, scope,
 * target index) and the outcome: a seal cannot be forged without the key, nor moved to another
 * hook, target or session. It is deliberately not bound to the BullMQ job: the coordinator re-runs
 * a global pre hook whose job failed for good as a new job that carries the outcome kept by the
 * old one (the same hook of the same session, so moving it there changes nothing). An outcome whose seal does not
 * verify is ignored and the hook runs again, as if nothing had been kept.
 *
 * The key comes from `STASH_HOOKS_OUTCOME_KEY` (a Secret), which every worker must share so
 * that an attempt on another replica can verify it. Without it each process makes its own random
 * key: an outcome is then trusted only by the process that kept it, and other replicas re-run
 * the hook (safe, the pre-existing at-least-once behaviour).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HookOutcome } from '../shared/conditions.js';
import type { HookJobData } from '../shared/queues.js';

/** What identifies the hook an outcome belongs to. */
export interface SealedFor {
  data: Pick<HookJobData, 'session' | 'hook' | 'scope' | 'targetIndex'>;
}

/** Seals and checks kept outcomes with one key. */
export class OutcomeSeal {
  private readonly key: Buffer;
  /** True when the key is this process's own (no shared key configured). */
  readonly ephemeral: boolean;

  constructor(key?: string) {
    this.ephemeral = !key;
    this.key = key ? Buffer.from(key, 'utf8') : randomBytes(32);
  }

  /** The seal (hex) of `outcome` for the hook `what`. */
  seal(what: SealedFor, outcome: HookOutcome): string {
    // A fixed field order (an array, not an object) so that the same input always gives the same bytes.
    const message = JSON.stringify([
      'stash-hooks outcome v2',
      what.data.session.uid ?? '',
      what.data.session.namespace,
      what.data.session.name,
      what.data.hook,
      what.data.scope,
      what.data.targetIndex ?? null,
      Object.entries(outcome).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ]);
    return createHmac('sha256', this.key).update(message).digest('hex');
  }

  /** Whether `seal` is the seal of `outcome` for `what`; false for a missing or malformed seal. */
  verify(what: SealedFor, outcome: HookOutcome, seal: unknown): boolean {
    if (typeof seal !== 'string' || !/^[0-9a-f]{64}$/.test(seal)) return false;
    let expected: string;
    try {
      expected = this.seal(what, outcome);
    } catch {
      return false;
    }
    return timingSafeEqual(Buffer.from(seal, 'hex'), Buffer.from(expected, 'hex'));
  }
}
