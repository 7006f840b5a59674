/**
 * Deriving lifecycle events from an observed session: a pure function, so a relist, a resync or a
 * second watcher replica derives exactly the same events, and their deterministic job ids make
 * the queue drop the repeats (DESIGN §6).
 */
import { LifecycleEventType, type LifecycleEvent, type SessionRef } from '../shared/queues.js';
import type { BackupSession, Session } from '../shared/resources.js';
import { isTargetComplete, isTerminal, kindOf } from '../shared/session-state.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export function sessionRefOf(session: Session): SessionRef | undefined {
  const { namespace, name, uid } = session.metadata ?? {};
  if (!namespace || !name || !uid) return undefined;
  return { kind: kindOf(session), namespace, name, uid };
}

/**
 * The events an observation of `session` implies:
 * - DELETED → *session deleted*;
 * - a session not yet Succeeded/Failed/Skipped → *session observed*, plus *target completed* for
 *   every target whose backup finished (RestoreSession: every host reported);
 * - a finished session → nothing (it is never touched again).
 */
export function deriveLifecycleEvents(type: WatchEventType, session: Session, observedAt: number): LifecycleEvent[] {
  const ref = sessionRefOf(session);
  if (!ref) return [];
  if (type === 'DELETED') return [{ type: LifecycleEventType.SessionDeleted, session: ref, observedAt }];
  if (isTerminal(session)) return [];
  const events: LifecycleEvent[] = [{ type: LifecycleEventType.SessionObserved, session: ref, observedAt }];
  const count = ref.kind === 'RestoreSession' ? 1 : ((session as BackupSession).status?.targets?.length ?? 0);
  for (let i = 0; i < count; i++) {
    if (isTargetComplete(session, i)) events.push({ type: LifecycleEventType.TargetCompleted, session: ref, targetIndex: i, observedAt });
  }
  return events;
}
