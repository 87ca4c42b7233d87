import type { Delivery } from './batch-reader.js';
import type { ReplicationSource } from './replication-source.js';

type Outcome = { readonly deliveries: Delivery[] } | { readonly error: unknown };

/**
 * The next batch, read (and decoded) while the current one commits: one batch ahead at most,
 * so NATS and Postgres work at the same time without an unbounded queue between them.
 */
export class ReadAhead {
  #pending: { readonly source: ReplicationSource; readonly outcome: Promise<Outcome> } | undefined;

  /** Starts reading the next batch from `source`. */
  start(source: ReplicationSource, read: () => Promise<Delivery[]>): void {
    this.#pending = {
      source,
      outcome: read().then(
        (deliveries) => ({ deliveries }),
        (error: unknown) => ({ error }),
      ),
    };
  }

  /** The batch read ahead from `source`, if any (a read that failed throws here). */
  async take(source: ReplicationSource): Promise<Delivery[] | undefined> {
    const pending = this.#pending;
    if (pending === undefined || pending.source !== source) return undefined;
    this.#pending = undefined;
    const outcome = await pending.outcome;
    if ('error' in outcome) throw outcome.error;
    return outcome.deliveries;
  }

  /** Hands a batch read ahead back to JetStream (NAK): it is not going to be applied now. */
  async drop(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) return;
    const outcome = await pending.outcome;
    if ('deliveries' in outcome)
      pending.source.puller.nak(outcome.deliveries.flatMap((d) => d.parts));
  }
}
