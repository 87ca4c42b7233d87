import type { DecodedEvent } from '@crdr/replication';

/** Destinations tracked at most; past it the least recently changed are forgotten. */
const maxDestinations = 10_000;

export interface DestinationProgressEntry {
  readonly destination: string;
  /** TC of the last applied event that changed the destination. */
  readonly lastCreatedAtMs: number;
  /** TP of that event. */
  readonly lastAppliedAtMs: number;
}

/**
 * Which destinations each applied event changed, and when: the per-destination lag the metrics
 * service reports. Sends name their destination; acknowledgements, redeliveries and expiries
 * name only a store, mapped back through the stores seen (a queue's store from its creation or
 * its messages, a subscription's from its messages). A store not seen since start is left out.
 */
export class DestinationProgress {
  readonly #storeDestinations = new Map<number, string>();
  readonly #entries = new Map<string, DestinationProgressEntry>();

  /** The destinations the event being observed changed (reused: no allocation per event). */
  readonly #touched = new Set<string>();

  #byStore(storeId: number): void {
    const destination = this.#storeDestinations.get(storeId);
    if (destination !== undefined) this.#touched.add(destination);
  }

  #row(row: { readonly storeId: number; readonly destination: string }): void {
    if (row.destination === '') return;
    if (!this.#storeDestinations.has(row.storeId)) {
      this.#storeDestinations.set(row.storeId, row.destination);
    }
    this.#touched.add(row.destination);
  }

  /** Notes a committed batch: its events were applied at `appliedAtMs`. */
  observe(events: readonly DecodedEvent[], appliedAtMs: number): void {
    const touched = this.#touched;
    for (const event of events) {
      touched.clear();
      switch (event.change) {
        case 'destinationCreated': {
          const created = event.destinationCreated!;
          const name = `/${created.kind === 'topic' ? 'topic' : 'queue'}/${created.name}`;
          if (created.queueStoreId != null) this.#storeDestinations.set(created.queueStoreId, name);
          touched.add(name);
          break;
        }
        case 'messageSent':
          for (const r of event.messageSent!.rows) this.#row(r);
          break;
        case 'transactionCommitted':
          for (const r of event.transactionCommitted!.sent) this.#row(r);
          for (const k of event.transactionCommitted!.acknowledged) this.#byStore(k.storeId);
          break;
        case 'messageAcknowledged':
          for (const k of event.messageAcknowledged!.keys) this.#byStore(k.storeId);
          break;
        case 'redeliveryCountChanged':
          for (const c of event.redeliveryCountChanged!.counts) {
            if (c.key) this.#byStore(c.key.storeId);
          }
          break;
        case 'movedToDeadLetterQueue': {
          const moved = event.movedToDeadLetterQueue!;
          if (moved.from) this.#byStore(moved.from.storeId);
          if (moved.to) this.#row(moved.to);
          break;
        }
        case 'messageExpired': {
          const expired = event.messageExpired!;
          if (expired.key) this.#byStore(expired.key.storeId);
          if (expired.deadLetter) this.#row(expired.deadLetter);
          break;
        }
        case 'destinationPurged':
          for (const storeId of event.destinationPurged!.storeIds) this.#byStore(storeId);
          break;
        default:
          break;
      }
      if (touched.size === 0) continue;
      const createdAtMs = Number(event.createdAtMs);
      for (const destination of touched) {
        // Re-inserted so that the map's order is least recently changed first.
        this.#entries.delete(destination);
        this.#entries.set(destination, {
          destination,
          lastCreatedAtMs: createdAtMs,
          lastAppliedAtMs: appliedAtMs,
        });
      }
    }
    touched.clear();
    while (this.#entries.size > maxDestinations) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    while (this.#storeDestinations.size > 4 * maxDestinations) {
      const oldest = this.#storeDestinations.keys().next().value;
      if (oldest === undefined) break;
      this.#storeDestinations.delete(oldest);
    }
  }

  list(): DestinationProgressEntry[] {
    return [...this.#entries.values()];
  }
}
