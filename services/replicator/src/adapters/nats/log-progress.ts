import type { ConsumerInfo } from 'nats';
import type { Delivery } from './batch-reader.js';

/** How many received, not yet applied events' TCs are kept (the lowest sequences count). */
const maxUnappliedKept = 10_000;

/**
 * What the replicator knows of the log beyond what it applied: the newest sequence in it and
 * how many events await, from the deliveries it sees and the consumer's own counts.
 */
export class LogProgress {
  /** Events in the log not applied yet, as last counted. */
  pendingCount = 0;
  #lastKnownSequence = 0n;
  /** Stream sequence minus event sequence, once a delivery told it. */
  #streamOffset: bigint | undefined;
  /** TC of each event received and not applied yet, by sequence (bounded: the lowest kept). */
  readonly #unapplied = new Map<bigint, number>();
  /** When events were first counted waiting while none of them was received; 0 otherwise. */
  #waitingSinceMs = 0;
  #appliedAtLastLook = -1n;

  lastKnownSequence(applied: bigint): bigint {
    return this.#lastKnownSequence > applied ? this.#lastKnownSequence : applied;
  }

  /** Each delivery tells its event's sequence and how many messages follow it. */
  observe(deliveries: readonly Delivery[]): void {
    for (const { message, event } of deliveries) {
      if (event === undefined) continue;
      const sequence = BigInt(event.sequence);
      this.#streamOffset = message.info.streamSequence - sequence;
      this.#known(sequence + BigInt(message.info.pending));
      if (this.#unapplied.size < maxUnappliedKept) {
        this.#unapplied.set(sequence, Number(event.createdAtMs));
      }
    }
    const last = deliveries[deliveries.length - 1];
    if (last !== undefined) this.pendingCount = last.message.info.pending;
  }

  /** The consumer's counts: not yet delivered plus delivered and not acknowledged. */
  consumerInfo(info: ConsumerInfo): void {
    this.pendingCount = info.num_pending + info.num_ack_pending;
    if (this.#streamOffset !== undefined) {
      this.#known(BigInt(info.delivered.stream_seq + info.num_pending) - this.#streamOffset);
    }
  }

  /** Events of the log not applied yet: the larger of the known sequence and the count. */
  pending(applied: bigint): bigint {
    const behind = this.lastKnownSequence(applied) - applied;
    const counted = BigInt(this.pendingCount);
    return behind > counted ? behind : counted;
  }

  /**
   * TC of the oldest event not applied yet (the "how far behind" lag is measured from it): the
   * oldest one received and not applied; when events are counted waiting but none was received
   * (paused, or they are still in flight), the first time they were seen waiting, which is no
   * earlier than their TC. 0 when none waits.
   */
  oldestPendingCreatedAtMs(applied: bigint, nowMs: number): number {
    for (const sequence of this.#unapplied.keys()) {
      if (sequence <= applied) this.#unapplied.delete(sequence);
    }
    if (this.pending(applied) === 0n) {
      this.#unapplied.clear();
      this.#waitingSinceMs = 0;
      return 0;
    }
    // Progress since the last look: whatever was seen waiting then may be applied now.
    if (applied !== this.#appliedAtLastLook) this.#waitingSinceMs = 0;
    this.#appliedAtLastLook = applied;
    let oldest: { sequence: bigint; createdAtMs: number } | undefined;
    for (const [sequence, createdAtMs] of this.#unapplied) {
      if (oldest === undefined || sequence < oldest.sequence) oldest = { sequence, createdAtMs };
    }
    if (oldest !== undefined && oldest.createdAtMs > 0) return oldest.createdAtMs;
    if (this.#waitingSinceMs === 0) this.#waitingSinceMs = nowMs;
    return this.#waitingSinceMs;
  }

  #known(sequence: bigint): void {
    if (sequence > this.#lastKnownSequence) this.#lastKnownSequence = sequence;
  }
}
