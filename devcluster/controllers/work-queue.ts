/**
 * A de-duplicating work queue drained on the next tick: store listeners only enqueue keys and
 * the reconcile runs outside the write that triggered it (the sample-controller pattern), so a
 * burst of events for one object costs one reconcile.
 */
export class WorkQueue {
  private readonly pending = new Map<string, () => void>();
  private scheduled = false;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Queues `work` under `key`, replacing any not yet run. */
  add(key: string, work: () => void): void {
    if (this.closed) return;
    this.pending.set(key, work);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    // Bounded rounds: work that enqueues more work runs in the next turn, not in a tight loop.
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const work of batch) {
      if (this.closed) return;
      try {
        work();
      } catch (err) {
        this.onError(err);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
  }
}
