import { badRequest, conflict, failedPrecondition, notFound } from '@crdr/errors';
import { parseDestination, formatDestination } from '../domain/destination.js';
import { Consumer, type InFlight } from './consumer.js';
import type {
  DeliverySink,
  Principal,
  SendRequest,
  Session,
  SessionOptions,
  SubscribeRequest,
} from './engine.types.js';
import type { DestinationState } from './destination-registry.js';
import type { EngineCore } from './engine-core.js';
import type { StoreQueue } from './store-queue.js';

interface Subscription {
  readonly consumer: Consumer;
  readonly store: StoreQueue;
  /** A non-durable topic subscription's store goes away with it. */
  readonly volatileOf: DestinationState | undefined;
}

interface OpenTransaction {
  readonly sends: Array<{ readonly request: SendRequest; readonly messageId: string }>;
  readonly acks: InFlight[];
}

let sessionCounter = 0;

/** One client connection's (or one gRPC call's) view of the broker. */
export class BrokerSession implements Session {
  readonly id: string;
  readonly principal: Principal;
  readonly options: SessionOptions;
  readonly #core: EngineCore;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #transactions = new Map<string, OpenTransaction>();
  readonly #producerOf = new Set<DestinationState>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(core: EngineCore, principal: Principal, options: SessionOptions) {
    this.id = `s${++sessionCounter}`;
    this.#core = core;
    this.principal = principal;
    this.options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw failedPrecondition('the session is closed');
    this.#core.assertServing();
  }

  async send(request: SendRequest, transactionId?: string): Promise<{ messageId: string }> {
    this.#assertOpen();
    validateSend(request);
    const maxBytes = this.#core.options.maxMessageBytes;
    if (request.body.length > maxBytes) {
      // Refused before anything is written: what is accepted always fits the replication log.
      throw badRequest(
        `the message body of ${request.body.length} bytes exceeds the broker's maximum message size of ${maxBytes} bytes`,
        { details: { field: 'body', maxMessageBytes: String(maxBytes) } },
      );
    }
    const messageId = this.#core.newMessageId();
    if (transactionId !== undefined) {
      this.#transaction(transactionId).sends.push({ request, messageId });
      return { messageId };
    }
    await this.#core.publish(request, messageId, (dest) => this.#noteProducer(dest));
    return { messageId };
  }

  #noteProducer(destination: DestinationState): void {
    if (this.#closed) return;
    destination.producers.add(this.id);
    this.#producerOf.add(destination);
  }

  async subscribe(request: SubscribeRequest, sink: DeliverySink): Promise<void> {
    this.#assertOpen();
    if (this.#subscriptions.has(request.id)) {
      throw conflict(`subscription id "${request.id}" is already in use on this connection`);
    }
    if (!Number.isInteger(request.prefetch) || request.prefetch < 1) {
      throw badRequest(
        `activemq.prefetchSize must be a positive integer (got ${request.prefetch})`,
      );
    }
    const name = parseDestination(request.destination);
    const destination = await this.#core.registry.ensure(name.kind, name.name, name.temporary);
    let store: StoreQueue;
    let volatileOf: DestinationState | undefined;
    if (name.kind === 'queue') {
      store = destination.queue!;
    } else if (request.durableName !== undefined && request.durableName !== '') {
      const clientId = this.options.clientId;
      if (clientId === undefined || clientId === '') {
        throw badRequest(
          'a durable subscription (activemq.subscriptionName) needs a client-id header on CONNECT',
        );
      }
      if (name.temporary) throw badRequest('a temporary topic cannot have a durable subscription');
      store = await this.#core.registry.ensureDurable(destination, clientId, request.durableName);
      if (store.consumers.length > 0) {
        throw conflict(
          `durable subscription "${request.durableName}" of client "${clientId}" is already active`,
        );
      }
    } else {
      store = this.#core.registry.createVolatile(destination);
      volatileOf = destination;
    }
    if (this.#closed) {
      if (volatileOf !== undefined) volatileOf.volatiles.delete(store);
      throw failedPrecondition('the session is closed');
    }
    const consumer = new Consumer(this, request.id, request.ackMode, request.prefetch, sink, store);
    this.#subscriptions.set(request.id, { consumer, store, volatileOf });
    store.addConsumer(consumer);
  }

  async unsubscribe(subscriptionId: string, options: { durableName?: string } = {}): Promise<void> {
    const { durableName } = options;
    const subscription = this.#subscriptions.get(subscriptionId);
    if (subscription === undefined && durableName === undefined) {
      throw notFound(`no subscription with id "${subscriptionId}" on this connection`);
    }
    if (subscription !== undefined) await this.#dropSubscription(subscriptionId, subscription);
    if (durableName === undefined) return;
    // The durable subscription is named by client id and name, not by the SUBSCRIBE id, and
    // STOMP allows removing one that is not active on this connection.
    const clientId = this.options.clientId;
    if (clientId === undefined || clientId === '') {
      throw badRequest(
        'removing a durable subscription (activemq.subscriptionName) needs a client-id header on CONNECT',
      );
    }
    await this.#core.registry.removeDurable(clientId, durableName);
  }

  async #dropSubscription(id: string, subscription: Subscription): Promise<void> {
    this.#subscriptions.delete(id);
    const { consumer, store } = subscription;
    store.removeConsumer(consumer);
    const unacked = [...consumer.inflight.values()];
    if (subscription.volatileOf !== undefined) {
      subscription.volatileOf.volatiles.delete(store);
      store.deleted = true;
      this.#core.flow.detach(unacked);
      return;
    }
    await this.#core.flow.redeliver(unacked, { toDeadLetter: false });
  }

  #entry(ackId: string): InFlight {
    const entry = this.#core.flow.inflight.get(ackId);
    const foreign =
      this.options.settlesOwnDeliveriesOnly === true && entry?.consumer.owner !== this;
    if (entry === undefined || foreign)
      throw badRequest(`no unacknowledged message has ack id "${ackId}"`);
    return entry;
  }

  async ack(ackId: string, transactionId?: string): Promise<void> {
    this.#assertOpen();
    const entries = this.#core.flow.resolveAck(this.#entry(ackId));
    if (transactionId !== undefined) {
      const tx = this.#transaction(transactionId);
      for (const entry of entries) {
        if (entry.transactionId !== undefined) continue;
        entry.transactionId = transactionId;
        entry.consumer.transactionAcked++;
        tx.acks.push(entry);
        entry.consumer.store.scheduleDispatch();
      }
      return;
    }
    await this.#core.flow.acknowledge(entries);
  }

  async nack(ackId: string, transactionId?: string): Promise<void> {
    this.#assertOpen();
    const entries = this.#core.flow.resolveAck(this.#entry(ackId));
    if (transactionId !== undefined) this.#transaction(transactionId);
    await this.#core.flow.redeliver(entries, { toDeadLetter: true });
  }

  begin(transactionId: string): void {
    this.#assertOpen();
    if (transactionId === '') throw badRequest('the transaction header must not be empty');
    if (this.#transactions.has(transactionId)) {
      throw conflict(`transaction "${transactionId}" is already open on this connection`);
    }
    this.#transactions.set(transactionId, { sends: [], acks: [] });
  }

  #transaction(transactionId: string): OpenTransaction {
    const tx = this.#transactions.get(transactionId);
    if (tx === undefined)
      throw badRequest(`transaction "${transactionId}" is not open on this connection`);
    return tx;
  }

  async commit(transactionId: string): Promise<void> {
    this.#assertOpen();
    const tx = this.#transaction(transactionId);
    this.#transactions.delete(transactionId);
    try {
      await this.#core.commit(tx.sends, tx.acks, (dest) => this.#noteProducer(dest));
    } catch (error) {
      // Nothing of it committed: its acknowledged messages go back for redelivery.
      await this.#core.flow.redeliver(tx.acks, { toDeadLetter: false });
      throw error;
    }
  }

  async abort(transactionId: string): Promise<void> {
    this.#assertOpen();
    const tx = this.#transaction(transactionId);
    this.#transactions.delete(transactionId);
    await this.#abortTransaction(tx);
  }

  async #abortTransaction(tx: OpenTransaction): Promise<void> {
    // As ActiveMQ does on rollback: messages acknowledged in it are redelivered.
    await this.#core.flow.redeliver(tx.acks, { toDeadLetter: false });
  }

  resume(): void {
    for (const { store } of this.#subscriptions.values()) store.scheduleDispatch();
  }

  /** Called by the engine when this session must end (demotion, lease lost). */
  evict(reason: string): void {
    this.options.onEvicted?.(reason);
  }

  /** Closing twice waits for the same close. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#core.sessions.delete(this);
    for (const destination of this.#producerOf) destination.producers.delete(this.id);
    const work: Array<Promise<void>> = [];
    for (const tx of this.#transactions.values()) work.push(this.#abortTransaction(tx));
    this.#transactions.clear();
    for (const [id, subscription] of [...this.#subscriptions])
      work.push(this.#dropSubscription(id, subscription));
    const results = await Promise.allSettled(work);
    for (const r of results)
      if (r.status === 'rejected') this.#core.onError(r.reason, 'session close');
  }
}

function validateSend(request: SendRequest): void {
  if (!Number.isInteger(request.priority) || request.priority < 0 || request.priority > 9) {
    throw badRequest(`priority must be an integer from 0 to 9 (got ${request.priority})`);
  }
  if (
    request.expiresAtMs !== undefined &&
    (!Number.isFinite(request.expiresAtMs) || request.expiresAtMs < 0)
  ) {
    throw badRequest(
      `expires must be a non-negative epoch time in milliseconds (got ${request.expiresAtMs})`,
    );
  }
  if (
    request.scheduledDelayMs !== undefined &&
    (!Number.isInteger(request.scheduledDelayMs) || request.scheduledDelayMs < 0)
  ) {
    throw badRequest(
      `AMQ_SCHEDULED_DELAY must be a non-negative number of milliseconds (got ${request.scheduledDelayMs})`,
    );
  }
  formatDestination(parseDestination(request.destination));
}
