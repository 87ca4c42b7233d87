import type { Selector } from '../domain/selector.js';
import type { AckMode, DeliverySink } from './engine.types.js';
import type { QueuedMessage } from './queued-message.js';
import type { StoreQueue } from './store-queue.js';

/** A delivered message not yet acknowledged. */
export interface InFlight {
  readonly ackId: string;
  readonly message: QueuedMessage;
  readonly consumer: Consumer;
  /** Acknowledged inside this open transaction: it no longer holds prefetch credit. */
  transactionId?: string;
}

export interface ConsumerOwner {
  readonly id: string;
}

/** One subscription of one session on one store. */
export class Consumer {
  /** Delivery order; `client` acks are cumulative over it. */
  readonly inflight = new Map<string, InFlight>();
  /** Taken from the store, waiting for the dispatch mark to be durable before they leave. */
  awaiting = 0;
  transactionAcked = 0;
  closed = false;

  constructor(
    readonly owner: ConsumerOwner,
    readonly subscriptionId: string,
    readonly ackMode: AckMode,
    readonly prefetch: number,
    readonly sink: DeliverySink,
    readonly store: StoreQueue,
    /** Only the messages it selects are dispatched to it; undefined: all of them. */
    readonly selector?: Selector,
    /**
     * ActiveMQ's `activemq.exclusive`: while it is the queue's exclusive consumer, it alone gets
     * the queue's messages.
     */
    readonly exclusive = false,
  ) {}

  /** Whether its selector (if any) selects the message. */
  selects(message: QueuedMessage): boolean {
    return this.selector === undefined || this.selector(message);
  }

  /** May it take another message now? */
  get hasCredit(): boolean {
    if (this.closed || !this.sink.ready) return false;
    if (this.ackMode === 'auto') return this.awaiting < this.prefetch;
    return this.inflight.size - this.transactionAcked + this.awaiting < this.prefetch;
  }
}
