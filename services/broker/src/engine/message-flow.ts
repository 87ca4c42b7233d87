import type { Database, Kysely } from '@crdr/store';
import { deadLetterQueueName } from '../domain/destination.js';
import { loadPage } from '../adapters/pg/broker-state.repository.js';
import type { MessageKey, NewMessage, StoreWriter } from '../adapters/pg/store-writer.js';
import type { Consumer, InFlight } from './consumer.js';
import type { Delivery } from './engine.types.js';
import type { DestinationRegistry, DestinationState } from './destination-registry.js';
import type { QueuedMessage } from './queued-message.js';
import type { StoreQueue, StoreQueueHost } from './store-queue.js';

export interface MessageFlowOptions {
  readonly db: Kysely<Database>;
  readonly writer: () => StoreWriter;
  readonly registry: () => DestinationRegistry;
  readonly now: () => number;
  readonly onError: (error: unknown, context: string) => void;
}

/** A message about to be published: its rows, and what to do in memory once they commit. */
export interface PreparedPublish {
  readonly rows: readonly NewMessage[];
  readonly apply: () => void;
}

export interface OutgoingMessage {
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly priority: number;
  readonly persistent: boolean;
  readonly expiresAtMs: number;
  readonly timestampMs: number;
}

const expiredCause = 'message expired';

export const keyOf = (m: QueuedMessage): MessageKey => ({
  storeId: m.storeId,
  priority: m.priority,
  seq: m.seq,
});

/**
 * How messages move: publishing into stores, delivery to consumers, acknowledgement,
 * redelivery, expiry and the dead letter queue. It is the stores' host.
 */
export class MessageFlow implements StoreQueueHost {
  readonly inflight = new Map<string, InFlight>();
  readonly #options: MessageFlowOptions;
  #ackCounter = 0;
  totalEnqueued = 0;
  totalDequeued = 0;

  constructor(options: MessageFlowOptions) {
    this.#options = options;
  }

  now(): number {
    return this.#options.now();
  }

  onError(error: unknown): void {
    this.#options.onError(error, 'message store');
  }

  persistDispatchMark(
    storeId: number,
    seq: bigint,
    onDurable: () => void,
    onFailed: () => void,
  ): void {
    let writer: StoreWriter;
    try {
      writer = this.#options.writer();
    } catch {
      // Stopped serving meanwhile (demotion, lost lease): the messages wait, as on a failure.
      onFailed();
      return;
    }
    writer.write({ hwm: [{ storeId, seq }], onCommitted: onDurable }).catch((error: unknown) => {
      this.#options.onError(error, 'dispatch mark');
      onFailed();
    });
  }

  loadPage(
    storeId: number,
    request: ReadonlyArray<{
      readonly priority: number;
      readonly afterSeq: bigint;
      readonly limit: number;
    }>,
  ): Promise<QueuedMessage[]> {
    return loadPage(this.#options.db, storeId, request);
  }

  /** Rows and in-memory effects of publishing `message` to `destination`. */
  prepare(destination: DestinationState, message: OutgoingMessage): PreparedPublish {
    const targets: StoreQueue[] = [];
    if (destination.queue !== undefined) targets.push(destination.queue);
    // A topic subscription with a selector never holds what it does not select.
    for (const store of destination.durables.values())
      if (store.selector === undefined || store.selector(message)) targets.push(store);
    const rows: NewMessage[] = [];
    const durableRows: Array<{ store: StoreQueue; row: NewMessage }> = [];
    const persistent = message.persistent && !destination.temporary;
    if (persistent) {
      for (const store of targets) {
        const row: NewMessage = {
          storeId: store.id,
          priority: message.priority,
          messageId: message.messageId,
          destination: message.destination,
          headers: message.headers,
          body: message.body,
          expiresAtMs: message.expiresAtMs,
          enqueuedAtMs: message.timestampMs,
          redeliveryCount: 0,
        };
        rows.push(row);
        durableRows.push({ store, row });
      }
    }
    const volatiles: StoreQueue[] = [];
    for (const store of destination.volatiles)
      if (store.selector === undefined || store.selector(message)) volatiles.push(store);
    const volatileTargets = persistent ? volatiles : [...targets, ...volatiles];
    return {
      rows,
      apply: () => {
        this.totalEnqueued++;
        for (const { store, row } of durableRows) {
          store.enqueueCommitted(this.#queued(store.id, row.seq!, message, true));
        }
        if (volatileTargets.length > 0) {
          const seq = this.#options.writer().reserveSeq();
          for (const store of volatileTargets)
            store.enqueueCommitted(this.#queued(store.id, seq, message, false));
        }
      },
    };
  }

  #queued(storeId: number, seq: bigint, m: OutgoingMessage, persistent: boolean): QueuedMessage {
    return {
      storeId,
      seq,
      priority: m.priority,
      messageId: m.messageId,
      destination: m.destination,
      headers: m.headers,
      body: m.body,
      expiresAtMs: m.expiresAtMs,
      enqueuedAtMs: m.timestampMs,
      persistent,
      redeliveryCount: 0,
      maybeDelivered: false,
    };
  }

  deliver(consumer: Consumer, message: QueuedMessage): void {
    const ackId = (++this.#ackCounter).toString(36);
    const store = consumer.store;
    if (consumer.ackMode === 'auto') {
      this.#settled(store, message);
    } else {
      const entry: InFlight = { ackId, message, consumer };
      consumer.inflight.set(ackId, entry);
      this.inflight.set(ackId, entry);
      store.inflightCount++;
    }
    consumer.sink.deliver(this.toDelivery(consumer.subscriptionId, ackId, message));
  }

  toDelivery(subscriptionId: string, ackId: string, message: QueuedMessage): Delivery {
    return {
      subscriptionId,
      ackId,
      messageId: message.messageId,
      destination: message.destination,
      headers: message.headers,
      body: message.body,
      priority: message.priority,
      persistent: message.persistent,
      redelivered: message.redeliveryCount > 0 || message.maybeDelivered,
      redeliveryCount: message.redeliveryCount,
      timestampMs: message.enqueuedAtMs,
      expiresAtMs: message.expiresAtMs,
    };
  }

  /** The deliveries an ack names: in `client` mode every earlier one of the subscription too. */
  resolveAck(entry: InFlight): InFlight[] {
    const consumer = entry.consumer;
    if (consumer.ackMode !== 'client') return [entry];
    const out: InFlight[] = [];
    for (const candidate of consumer.inflight.values()) {
      if (candidate.transactionId === undefined) out.push(candidate);
      if (candidate === entry) break;
    }
    return out;
  }

  /** Removes acknowledged deliveries from memory; returns the rows to delete. */
  detach(entries: readonly InFlight[]): MessageKey[] {
    const keys: MessageKey[] = [];
    for (const entry of entries) {
      if (!this.inflight.delete(entry.ackId)) continue;
      entry.consumer.inflight.delete(entry.ackId);
      if (entry.transactionId !== undefined) entry.consumer.transactionAcked--;
      const store = entry.consumer.store;
      store.inflightCount--;
      store.dequeueCount++;
      this.totalDequeued++;
      if (entry.message.persistent && !store.deleted) keys.push(keyOf(entry.message));
      store.scheduleDispatch();
    }
    return keys;
  }

  async acknowledge(entries: readonly InFlight[]): Promise<void> {
    const keys = this.detach(entries);
    if (keys.length > 0) await this.#options.writer().write({ deletes: keys });
  }

  #settled(store: StoreQueue, message: QueuedMessage): void {
    store.dequeueCount++;
    this.totalDequeued++;
    if (message.persistent) {
      this.#options
        .writer()
        .write({ deletes: [keyOf(message)] })
        .catch((error: unknown) => this.#options.onError(error, 'auto acknowledge'));
    }
  }

  /**
   * Returns deliveries to their stores for redelivery (abort, a closed consumer), counting the
   * redelivery.
   */
  async redeliver(entries: readonly InFlight[]): Promise<void> {
    const counted: Array<MessageKey & { count: number }> = [];
    for (const entry of entries) {
      const store = this.#release(entry);
      if (store === undefined) continue;
      const { message } = entry;
      message.redeliveryCount++;
      if (message.persistent) counted.push({ ...keyOf(message), count: message.redeliveryCount });
      store.putBack(message);
    }
    if (counted.length > 0) await this.#options.writer().write({ redeliveries: counted });
  }

  /**
   * NACKed deliveries, as ActiveMQ 5.17 handles a STOMP NACK: each moves to ActiveMQ.DLQ at once
   * and is not redelivered (a non-persistent one is dropped, ActiveMQ's default). A message NACKed
   * on the dead letter queue itself goes back to it for redelivery.
   */
  async deadLetter(entries: readonly InFlight[], cause: string): Promise<void> {
    const dead: QueuedMessage[] = [];
    const counted: Array<MessageKey & { count: number }> = [];
    for (const entry of entries) {
      const store = this.#release(entry);
      if (store === undefined) continue;
      const { message } = entry;
      if (store.destination === `/queue/${deadLetterQueueName}`) {
        message.redeliveryCount++;
        if (message.persistent) counted.push({ ...keyOf(message), count: message.redeliveryCount });
        store.putBack(message);
        continue;
      }
      store.dequeueCount++;
      this.totalDequeued++;
      dead.push(message);
      // The consumer's credit is free again: the next message must not wait for another event.
      store.scheduleDispatch();
    }
    const work: Array<Promise<void>> = [];
    if (counted.length > 0) work.push(this.#options.writer().write({ redeliveries: counted }));
    for (const message of dead) work.push(this.moveToDeadLetter(message, cause));
    await Promise.all(work);
  }

  /** Takes a delivery out of flight; its store, unless that store is gone. */
  #release(entry: InFlight): StoreQueue | undefined {
    if (!this.inflight.delete(entry.ackId)) return undefined;
    const { consumer } = entry;
    consumer.inflight.delete(entry.ackId);
    if (entry.transactionId !== undefined) consumer.transactionAcked--;
    const store = consumer.store;
    store.inflightCount--;
    return store.deleted ? undefined : store;
  }

  expire(store: StoreQueue, message: QueuedMessage): void {
    store.dequeueCount++;
    this.totalDequeued++;
    if (!message.persistent) return;
    this.moveToDeadLetter(message, expiredCause).catch((error: unknown) =>
      this.#options.onError(error, 'expire'),
    );
  }

  /** Moves a persistent message to ActiveMQ.DLQ in one transaction (ActiveMQ's default policy). */
  async moveToDeadLetter(message: QueuedMessage, cause: string): Promise<void> {
    if (!message.persistent) return;
    const dlq = await this.#options.registry().ensure('queue', deadLetterQueueName);
    const prepared = this.prepare(dlq, {
      messageId: message.messageId,
      destination: `/queue/${deadLetterQueueName}`,
      headers: {
        ...message.headers,
        'original-destination': message.destination,
        dlqDeliveryFailureCause: cause,
      },
      body: message.body,
      priority: message.priority,
      persistent: true,
      // An expired message must not expire again in the DLQ.
      expiresAtMs: 0,
      timestampMs: message.enqueuedAtMs,
    });
    await this.#options.writer().write({
      deletes: [keyOf(message)],
      inserts: prepared.rows,
      onCommitted: prepared.apply,
      kind: cause === expiredCause ? 'expired' : 'dead-lettered',
      cause,
    });
  }
}
