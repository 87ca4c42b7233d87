/**
 * Callers waiting for a sequence to be applied (WaitForSequence), released in sequence order as
 * the applied position moves. Holds no timers: whoever adds a waiter owns its deadline.
 */
export class SequenceWaiters<W> {
  readonly #waiting: Array<{ readonly sequence: bigint; readonly waiter: W }> = [];

  get size(): number {
    return this.#waiting.length;
  }

  /** Registers `waiter` for `sequence`; the returned function withdraws it. */
  add(sequence: bigint, waiter: W): () => void {
    const entry = { sequence, waiter };
    this.#waiting.push(entry);
    return () => {
      const at = this.#waiting.indexOf(entry);
      if (at >= 0) this.#waiting.splice(at, 1);
    };
  }

  /** Removes and returns the waiters whose sequence is now applied. */
  release(applied: bigint): W[] {
    const released: W[] = [];
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const entry = this.#waiting[i]!;
      if (entry.sequence <= applied) {
        released.unshift(entry.waiter);
        this.#waiting.splice(i, 1);
      }
    }
    return released;
  }

  /** Removes and returns every waiter (the replicator failed or stops). */
  releaseAll(): W[] {
    return this.#waiting.splice(0).map((entry) => entry.waiter);
  }
}
