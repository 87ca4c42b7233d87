import { badRequest, conflict, failedPrecondition, notFound } from '@crdr/errors';
import {
  formatDestination,
  isWildcard,
  namesTemporaryAlias,
  parseDestinations,
  wildcardMatcher,
  type DestinationName,
} from '../domain/destination.js';
import type { Right } from '../domain/authorization.js';
import { parseSelector, type Selector } from '../domain/selector.js';
import { Consumer, type InFlight } from './consumer.js';
import type {
  Delivery,
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

interface Binding {
  readonly consumer: Consumer;
  readonly store: StoreQueue;
  /** A non-durable topic subscription's store goes away with it. */
  readonly volatileOf: DestinationState | undefined;
}

/**
 * One SUBSCRIBE: a consumer on each destination it names (one, the parts of a composite, or every
 * match of a wildcard, including destinations created after it).
 */
interface Subscription {
  readonly request: SubscribeRequest;
  readonly sink: DeliverySink;
  readonly selector: Selector | undefined;
  readonly bindings: Binding[];
  /** Keys of the destinations bound, so that overlapping parts bind once. */
  readonly bound: Set<string>;
  readonly unwatch: Array<() => void>;
  /** Set once SUBSCRIBE has finished: later bindings start at once. */
  active?: boolean;
}

interface OpenTransaction {
  readonly sends: Array<{ readonly request: SendRequest; readonly messageId: string }>;
  readonly acks: InFlight[];
  /** What its sends hold of the broker's transaction allowance. */
  bytes: number;
}

/** What a send held in a transaction costs in memory: its body and headers. */
function heldBytes(request: SendRequest): number {
  let bytes = request.body.length + request.destination.length;
  for (const [name, value] of Object.entries(request.headers)) bytes += name.length + value.length;
  return bytes;
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
  /** Temporary destinations this connection created, by the alias it names them with. */
  readonly #temporaries = new Map<string, DestinationState>();
  /** Their broker-wide names (`/remote-temp-queue/ID:...`) back to this connection's aliases. */
  readonly #aliasOf = new Map<string, string>();
  #temporaryCount = 0;
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
    request = this.#withTemporaries(request);
    const maxBytes = this.#core.options.maxMessageBytes;
    if (request.body.length > maxBytes) {
      // Refused before anything is written: what is accepted always fits the replication log.
      throw badRequest(
        `the message body of ${request.body.length} bytes exceeds the broker's maximum message size of ${maxBytes} bytes`,
        { details: { field: 'body', maxMessageBytes: String(maxBytes) } },
      );
    }
    // Checked before anything is held or written: a refused SEND leaves no trace.
    for (const name of parseDestinations(request.destination)) this.#authorize('write', name);
    const messageId = this.#core.newMessageId();
    if (transactionId !== undefined) {
      const tx = this.#transaction(transactionId);
      const bytes = heldBytes(request);
      this.#core.holdTransactionBytes(transactionId, bytes);
      tx.bytes += bytes;
      tx.sends.push({ request, messageId });
      return { messageId };
    }
    await this.#core.publish(request, messageId, (dest) => this.#noteProducer(dest));
    return { messageId };
  }

  /**
   * ActiveMQ's StompProtocolConverter.createTempDestination: `/temp-queue/NAME` and
   * `/temp-topic/NAME` are this connection's own names; the first use (SEND, `reply-to`,
   * SUBSCRIBE) creates the destination under a broker-wide name, which every other connection
   * sees as `/remote-temp-queue/ID:...` and which goes away when this connection closes.
   */
  #resolveTemporaries(destination: string, allowWildcards: boolean): string {
    if (!namesTemporaryAlias(destination)) return destination;
    const names = parseDestinations(destination, { allowWildcards });
    if (!names.some((n) => n.alias === true)) return destination;
    return names
      .map((n) => (n.alias === true ? this.#temporary(n) : formatDestination(n)))
      .join(',');
  }

  #temporary(name: DestinationName): string {
    const alias = formatDestination(name);
    let destination = this.#temporaries.get(alias);
    if (destination === undefined) {
      const physical = this.#core.temporaryName(this.id, ++this.#temporaryCount);
      destination = this.#core.registry.createTemporary(name.kind, physical);
      this.#temporaries.set(alias, destination);
      this.#aliasOf.set(`/remote-temp-${name.kind}/${physical}`, alias);
    }
    return `/remote-temp-${name.kind}/${destination.name}`;
  }

  /** A SEND's destination and `reply-to` with this connection's temporary names resolved. */
  #withTemporaries(request: SendRequest): SendRequest {
    const destination = this.#resolveTemporaries(request.destination, false);
    const replyTo = request.headers['reply-to'];
    let resolvedReplyTo = replyTo;
    if (replyTo !== undefined && namesTemporaryAlias(replyTo)) {
      try {
        resolvedReplyTo = this.#resolveTemporaries(replyTo, false);
      } catch {
        // ActiveMQ keeps a reply-to it cannot read as a destination as a plain property.
      }
    }
    if (destination === request.destination && resolvedReplyTo === replyTo) return request;
    return {
      ...request,
      destination,
      headers:
        resolvedReplyTo === replyTo
          ? request.headers
          : { ...request.headers, 'reply-to': resolvedReplyTo! },
    };
  }

  /** ActiveMQ's getCreatedTempDestinationName: this connection sees its own aliases. */
  #localize(delivery: Delivery): Delivery {
    if (this.#aliasOf.size === 0) return delivery;
    const destination = this.#aliasOf.get(delivery.destination);
    const replyTo = delivery.headers['reply-to'];
    const replyAlias = replyTo === undefined ? undefined : this.#aliasOf.get(replyTo);
    if (destination === undefined && replyAlias === undefined) return delivery;
    return {
      ...delivery,
      ...(destination === undefined ? {} : { destination }),
      ...(replyAlias === undefined
        ? {}
        : { headers: { ...delivery.headers, 'reply-to': replyAlias } }),
    };
  }

  /**
   * Refuses with Forbidden unless the session's user has `right` on the destination, and, for
   * one that does not exist yet, the admin right that creating it takes (as ActiveMQ checks on
   * auto-creation).
   */
  #authorize(right: Right, name: DestinationName): void {
    const { authorizer } = this.#core.options;
    authorizer.check(this.principal, right, name);
    if (!name.temporary && this.#core.registry.get(name.kind, name.name) === undefined) {
      authorizer.check(this.principal, 'admin', name);
    }
  }

  #noteProducer(destination: DestinationState): void {
    if (this.#closed) return;
    destination.producers.add(this.id);
    this.#producerOf.add(destination);
  }

  async subscribe(request: SubscribeRequest, outer: DeliverySink): Promise<void> {
    this.#assertOpen();
    const sink: DeliverySink = {
      deliver: (delivery) => outer.deliver(this.#localize(delivery)),
      get ready() {
        return outer.ready;
      },
    };
    if (this.#subscriptions.has(request.id)) {
      throw conflict(`subscription id "${request.id}" is already in use on this connection`);
    }
    if (!Number.isInteger(request.prefetch) || request.prefetch < 1) {
      throw badRequest(
        `activemq.prefetchSize must be a positive integer (got ${request.prefetch})`,
      );
    }
    // Parsed once here; a selector that does not parse is refused with the reason.
    const selector = parseSelector(request.selector);
    const names = parseDestinations(this.#resolveTemporaries(request.destination, true), {
      allowWildcards: true,
    });
    // Each named part of a composite must be readable; a wildcard binds only what is (below).
    for (const name of names) if (!isWildcard(name.name)) this.#authorize('read', name);
    const durable = request.durableName !== undefined && request.durableName !== '';
    if (durable && (names.length > 1 || names.some((n) => isWildcard(n.name)))) {
      throw badRequest(
        'a durable subscription (activemq.subscriptionName) must name one topic, without wildcards',
      );
    }
    const subscription: Subscription = {
      request,
      sink,
      selector,
      bindings: [],
      bound: new Set(),
      unwatch: [],
    };
    try {
      for (const name of names) {
        if (isWildcard(name.name)) {
          // Every matching destination, now and created later, as ActiveMQ does.
          // Each match is checked on its own, as ActiveMQ's destination filter does: a wildcard
          // never reaches a destination its user may not read.
          const matches = wildcardMatcher(name.name);
          const { authorizer } = this.#core.options;
          const follows = (d: DestinationState): boolean =>
            d.kind === name.kind &&
            !d.temporary &&
            matches(d.name) &&
            authorizer.allows(this.principal, 'read', d.kind, d.name);
          subscription.unwatch.push(
            this.#core.registry.watch((created) => {
              if (this.#closed || !follows(created)) return;
              try {
                this.#bind(subscription, created);
              } catch (error) {
                this.#core.onError(error, 'wildcard subscription');
              }
            }),
          );
          for (const existing of [...this.#core.registry.all()])
            if (follows(existing)) this.#bind(subscription, existing);
          continue;
        }
        const destination = await this.#core.registry.ensure(name.kind, name.name, name.temporary);
        if (durable && name.kind === 'topic') {
          await this.#bindDurable(subscription, destination, name.temporary);
        } else {
          this.#bind(subscription, destination);
        }
      }
    } catch (error) {
      this.#release(subscription);
      throw error;
    }
    if (this.#closed) {
      this.#release(subscription);
      throw failedPrecondition('the session is closed');
    }
    this.#subscriptions.set(request.id, subscription);
    for (const binding of subscription.bindings) binding.store.addConsumer(binding.consumer);
    subscription.active = true;
  }

  /** Binds a subscription to one more destination: a consumer on its store. */
  #bind(subscription: Subscription, destination: DestinationState): void {
    if (subscription.bound.has(destination.key)) return;
    subscription.bound.add(destination.key);
    let store: StoreQueue;
    let volatileOf: DestinationState | undefined;
    if (destination.kind === 'queue') {
      store = destination.queue!;
    } else {
      store = this.#core.registry.createVolatile(destination);
      store.selector = subscription.selector;
      volatileOf = destination;
    }
    this.#addBinding(subscription, store, volatileOf);
  }

  async #bindDurable(
    subscription: Subscription,
    destination: DestinationState,
    temporary: boolean,
  ): Promise<void> {
    const { durableName } = subscription.request;
    const clientId = this.options.clientId;
    if (clientId === undefined || clientId === '') {
      throw badRequest(
        'a durable subscription (activemq.subscriptionName) needs a client-id header on CONNECT',
      );
    }
    if (temporary) throw badRequest('a temporary topic cannot have a durable subscription');
    const store = await this.#core.registry.ensureDurable(
      destination,
      clientId,
      durableName!,
      subscription.request.selector,
    );
    if (store.consumers.length > 0) {
      throw conflict(
        `durable subscription "${durableName}" of client "${clientId}" is already active`,
      );
    }
    subscription.bound.add(destination.key);
    this.#addBinding(subscription, store, undefined);
  }

  #addBinding(
    subscription: Subscription,
    store: StoreQueue,
    volatileOf: DestinationState | undefined,
  ): void {
    const { request, sink, selector } = subscription;
    // A topic store filters on enqueue; only a queue's consumer filters on dispatch.
    const consumer = new Consumer(
      this,
      request.id,
      request.ackMode,
      request.prefetch,
      sink,
      store,
      store.kind === 'queue' ? selector : undefined,
      request.exclusive === true,
    );
    subscription.bindings.push({ consumer, store, volatileOf });
    // A binding made after SUBSCRIBE finished (a new destination matching a wildcard) starts now.
    if (subscription.active === true) store.addConsumer(consumer);
  }

  /** Undoes a subscription that did not start: its volatile stores go, nothing was delivered. */
  #release(subscription: Subscription): void {
    for (const unwatch of subscription.unwatch) unwatch();
    for (const { volatileOf, store } of subscription.bindings) {
      if (volatileOf === undefined) continue;
      volatileOf.volatiles.delete(store);
      store.deleted = true;
    }
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
    for (const unwatch of subscription.unwatch) unwatch();
    const work: Array<Promise<void>> = [];
    for (const { consumer, store, volatileOf } of subscription.bindings) {
      store.removeConsumer(consumer);
      const unacked = [...consumer.inflight.values()];
      if (volatileOf !== undefined) {
        volatileOf.volatiles.delete(store);
        store.deleted = true;
        this.#core.flow.detach(unacked);
        continue;
      }
      work.push(this.#core.flow.redeliver(unacked));
    }
    await Promise.all(work);
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
    // ActiveMQ 5.17: a NACKed message goes to ActiveMQ.DLQ at once, replicated as any move is.
    await this.#core.flow.deadLetter(entries, 'message was NACKed');
  }

  begin(transactionId: string): void {
    this.#assertOpen();
    if (transactionId === '') throw badRequest('the transaction header must not be empty');
    if (this.#transactions.has(transactionId)) {
      throw conflict(`transaction "${transactionId}" is already open on this connection`);
    }
    this.#transactions.set(transactionId, { sends: [], acks: [], bytes: 0 });
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
    this.#core.releaseTransactionBytes(tx.bytes);
    try {
      await this.#core.commit(tx.sends, tx.acks, (dest) => this.#noteProducer(dest));
    } catch (error) {
      // Nothing of it committed: its acknowledged messages go back for redelivery.
      await this.#core.flow.redeliver(tx.acks);
      throw error;
    }
  }

  // async with nothing to await: a refusal must still be a rejected promise, not a throw.
  // eslint-disable-next-line @typescript-eslint/require-await
  async abort(transactionId: string): Promise<void> {
    this.#assertOpen();
    const tx = this.#transaction(transactionId);
    this.#transactions.delete(transactionId);
    this.#core.releaseTransactionBytes(tx.bytes);
    // As ActiveMQ 5.17 does for STOMP (checked by the differential suite): messages acknowledged
    // in an aborted transaction stay delivered and unacknowledged on their consumer, to be
    // acknowledged again or redelivered when the consumer goes, not redelivered at once.
    for (const entry of tx.acks) {
      if (entry.transactionId !== transactionId || !this.#core.flow.inflight.has(entry.ackId))
        continue;
      entry.transactionId = undefined;
      entry.consumer.transactionAcked--;
    }
  }

  async #abortTransaction(tx: OpenTransaction): Promise<void> {
    this.#core.releaseTransactionBytes(tx.bytes);
    // The session is closing: messages acknowledged in its open transactions are redelivered.
    await this.#core.flow.redeliver(tx.acks);
  }

  resume(): void {
    for (const { bindings } of this.#subscriptions.values())
      for (const { store } of bindings) store.scheduleDispatch();
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
    this.#core.releaseSession(this);
    for (const destination of this.#producerOf) destination.producers.delete(this.id);
    const work: Array<Promise<void>> = [];
    for (const tx of this.#transactions.values()) work.push(this.#abortTransaction(tx));
    this.#transactions.clear();
    for (const [id, subscription] of [...this.#subscriptions])
      work.push(this.#dropSubscription(id, subscription));
    const results = await Promise.allSettled(work);
    for (const r of results)
      if (r.status === 'rejected') this.#core.onError(r.reason, 'session close');
    // As ActiveMQ's TransportConnection.processRemoveConnection: its temporary destinations go.
    for (const destination of this.#temporaries.values())
      this.#core.registry.dropTemporary(destination);
    this.#temporaries.clear();
    this.#aliasOf.clear();
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
  parseDestinations(request.destination);
}
