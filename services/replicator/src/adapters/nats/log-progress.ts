import type { ConsumerInfo } from 'nats';
import type { Delivery } from './batch-reader.js';

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

  #known(sequence: bigint): void {
    if (sequence > this.#lastKnownSequence) this.#lastKnownSequence = sequence;
  }
}
