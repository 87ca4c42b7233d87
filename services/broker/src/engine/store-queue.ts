import { ReadyList } from '../domain/ready-list.js';
import type { Selector } from '../domain/selector.js';
import type { Consumer } from './consumer.js';
import { isExpired, type QueuedMessage } from './queued-message.js';

export type StoreKind = 'queue' | 'durable' | 'volatile';

/** ActiveMQ keeps at most this many group assignments per queue (its CachedMessageGroupMap). */
const maxGroups = 1024;

/** A message's group (`JMSXGroupID`), if it has one. */
function groupOf(message: QueuedMessage): string | undefined {
  const id = message.headers['JMSXGroupID'];
  return id === undefined || id === '' ? undefined : id;
}

/** `JMSXGroupSeq`: 0 when absent; 1 starts a group afresh, a negative one closes it. */
function groupSeqOf(message: QueuedMessage): number {
  const raw = message.headers['JMSXGroupSeq'];
  if (raw === undefined) return 0;
  const seq = Number.parseInt(raw, 10);
  return Number.isNaN(seq) ? 0 : seq;
}

/**
 * A queue's exclusive consumer and its group owners. Owners live in memory only, as in
 * ActiveMQ: a restart or a promotion assigns groups afresh.
 */
class SpecialDispatch {
  exclusive: Consumer | undefined;
  /** Group id to owner, least recently used first (ActiveMQ's LRU of 1024). */
  readonly #owners = new Map<string, Consumer>();

  /** Whether `consumer` may take this message of group `groupId` (no change made). */
  mayTake(consumer: Consumer, groupId: string, message: QueuedMessage): boolean {
    if (groupSeqOf(message) === 1) return true;
    const owner = this.#owners.get(groupId);
    return owner === undefined || owner === consumer;
  }

  /** `consumer` takes the message: it owns the group from now on (or closes it). */
  took(consumer: Consumer, groupId: string, message: QueuedMessage): void {
    const seq = groupSeqOf(message);
    const owner = this.#owners.get(groupId);
    this.#owners.delete(groupId);
    // ActiveMQ closes a group on a negative sequence only when its owner takes it.
    if (owner === consumer && seq < 0) return;
    if (this.#owners.size >= maxGroups) this.#owners.delete(this.#owners.keys().next().value!);
    this.#owners.set(groupId, consumer);
  }

  /** A consumer left: its groups are free, and the next exclusive consumer takes over. */
  forget(consumer: Consumer, remaining: readonly Consumer[]): void {
    if (this.#owners.size > 0)
      for (const [groupId, owner] of this.#owners)
        if (owner === consumer) this.#owners.delete(groupId);
    if (this.exclusive === consumer) this.exclusive = remaining.find((c) => c.exclusive);
  }
}

/** What a store needs from the engine. */
export interface StoreQueueHost {
  /** Makes the store's dispatch mark durable at least up to `seq`; then calls back. */
  persistDispatchMark(
    storeId: number,
    seq: bigint,
    onDurable: () => void,
    onFailed: () => void,
  ): void;
  /** Reads the next messages of a store from Postgres (not through the serial writer). */
  loadPage(
    storeId: number,
    request: ReadonlyArray<{
      readonly priority: number;
      readonly afterSeq: bigint;
      readonly limit: number;
    }>,
  ): Promise<QueuedMessage[]>;
  deliver(consumer: Consumer, message: QueuedMessage): void;
  expire(store: StoreQueue, message: QueuedMessage): void;
  now(): number;
  onError(error: unknown): void;
}

export interface StoreQueueOptions {
  readonly id: number;
  readonly kind: StoreKind;
  /** The destination's name as clients write it, for stats and headers. */
  readonly destination: string;
  readonly dispatchedHwm: bigint;
  /** Messages held in memory at most; the rest stay in Postgres until the window has room. */
  readonly memoryWindow: number;
  readonly host: StoreQueueHost;
  readonly clientId?: string;
  readonly subscriptionName?: string;
}

/**
 * The dispatch state of one message store (a queue, a durable subscription, or a non-durable
 * topic subscription held only in memory): the ready messages in priority/FIFO order, the
 * consumers competing for them, and the window of messages paged in from Postgres.
 *
 * Paging invariant: a persistent message of this store is exactly one of: in `ready`, in flight
 * with a consumer, waiting for its dispatch mark, or counted in `unloaded[priority]` with a seq
 * above `cursor[priority]`.
 */
export class StoreQueue {
  readonly id: number;
  readonly kind: StoreKind;
  readonly destination: string;
  readonly clientId: string | undefined;
  readonly subscriptionName: string | undefined;
  readonly ready = new ReadyList<QueuedMessage>();
  readonly consumers: Consumer[] = [];
  /** Persistent messages in Postgres not yet paged in, by priority. */
  readonly unloaded: number[] = new Array<number>(10).fill(0);
  /** Highest seq paged in, by priority. */
  readonly cursor: bigint[] = new Array<bigint>(10).fill(0n);
  enqueueCount = 0;
  dequeueCount = 0;
  dispatchCount = 0;
  inflightCount = 0;
  deleted = false;
  /**
   * A topic subscription's selector (volatile or durable store): messages it does not select are
   * never put in the store. A queue's consumers carry their own selectors instead.
   */
  selector: Selector | undefined;
  /** The text `selector` was parsed from: a durable subscription keeps it in its row. */
  selectorText: string | undefined;
  /** Consumers with a selector: while there are any, dispatch scans for a match. */
  #selective = 0;
  /**
   * Exclusive consumers, message groups and their assignments: `undefined` until this queue
   * first sees one of them, so a plain queue never pays for them.
   */
  #special: SpecialDispatch | undefined;

  readonly #host: StoreQueueHost;
  readonly #memoryWindow: number;
  #durableHwm: bigint;
  #requestedHwm: bigint;
  #hwmWriting = false;
  readonly #awaitingHwm: Array<{ consumer: Consumer; message: QueuedMessage }> = [];
  #rr = 0;
  #dispatchScheduled = false;
  #loading = false;

  constructor(options: StoreQueueOptions) {
    this.id = options.id;
    this.kind = options.kind;
    this.destination = options.destination;
    this.clientId = options.clientId;
    this.subscriptionName = options.subscriptionName;
    this.#host = options.host;
    this.#memoryWindow = options.memoryWindow;
    this.#durableHwm = options.dispatchedHwm;
    this.#requestedHwm = options.dispatchedHwm;
  }

  get persistent(): boolean {
    return this.kind !== 'volatile';
  }

  /** Messages held: ready, in flight, waiting and not yet paged in. */
  get size(): number {
    let unloaded = 0;
    for (const n of this.unloaded) unloaded += n;
    return this.ready.size + this.inflightCount + this.#awaitingHwm.length + unloaded;
  }

  get hasUnloaded(): boolean {
    return this.unloaded.some((n) => n > 0);
  }

  /** The dispatch mark recovered at start-up: messages at or below it may have been seen. */
  get recoveredHwm(): bigint {
    return this.#durableHwm;
  }

  /** A message committed to this store (or accepted, for a non-persistent one). */
  enqueueCommitted(message: QueuedMessage): void {
    this.enqueueCount++;
    if (this.#special === undefined) this.#noteGroup(message);
    if (!message.persistent) {
      this.ready.push(message);
    } else if (message.seq <= this.cursor[message.priority]!) {
      // A page read already saw this row before its commit was reported: it is in memory, and
      // the page counted it against `unloaded`, which never counted it.
      this.unloaded[message.priority]!++;
      return;
    } else if (!this.hasUnloaded && this.#inMemory() < this.#memoryWindow) {
      this.ready.push(message);
      this.cursor[message.priority] = message.seq;
    } else {
      this.unloaded[message.priority]!++;
    }
    this.scheduleDispatch();
  }

  /** A message returned by a consumer (nack, close, abort) goes back in order. */
  putBack(message: QueuedMessage): void {
    this.ready.putBack(message);
    this.scheduleDispatch();
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    if (consumer.selector !== undefined) this.#selective++;
    // As ActiveMQ's Queue.addSubscription: the first exclusive consumer owns the queue.
    if (consumer.exclusive && this.kind === 'queue') {
      const special = (this.#special ??= new SpecialDispatch());
      special.exclusive ??= consumer;
    }
    this.scheduleDispatch();
  }

  /** The consumer that alone gets this queue's messages now, if any (`activemq.exclusive`). */
  get exclusiveConsumer(): Consumer | undefined {
    return this.#special?.exclusive;
  }

  /** The first message of a group (`JMSXGroupID`) makes this queue track groups. */
  #noteGroup(message: QueuedMessage): void {
    if (this.kind === 'queue' && groupOf(message) !== undefined)
      this.#special = new SpecialDispatch();
  }

  /** Removes a consumer; its messages still waiting for the mark go back to `ready`. */
  removeConsumer(consumer: Consumer): void {
    consumer.closed = true;
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) {
      this.consumers.splice(index, 1);
      if (consumer.selector !== undefined) this.#selective--;
    }
    this.#special?.forget(consumer, this.consumers);
    this.scheduleDispatch();
  }

  scheduleDispatch(): void {
    if (this.#dispatchScheduled || this.deleted) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.dispatch();
    });
  }

  dispatch(): void {
    if (this.deleted) return;
    const now = this.#host.now();
    let newMark: bigint | undefined;
    const hand = (consumer: Consumer, message: QueuedMessage): void => {
      if (isExpired(message, now)) {
        this.#host.expire(this, message);
        return;
      }
      if (message.persistent && message.seq > this.#durableHwm) {
        // The mark must be durable before the MESSAGE leaves, so that a crash after it left
        // redelivers it flagged `redelivered`.
        this.#awaitingHwm.push({ consumer, message });
        consumer.awaiting++;
        if (newMark === undefined || message.seq > newMark) newMark = message.seq;
        return;
      }
      this.#deliver(consumer, message);
    };
    if (this.#selective > 0 || this.#special !== undefined) {
      for (const [consumer, message] of this.#pickSelected(now)) hand(consumer, message);
    } else {
      while (this.ready.size > 0) {
        const consumer = this.#nextConsumer();
        if (consumer === undefined) break;
        hand(consumer, this.ready.shift()!);
      }
    }
    if (newMark !== undefined && newMark > this.#requestedHwm) this.#requestedHwm = newMark;
    this.#writeHwm();
    this.#maybeLoad();
  }

  #deliver(consumer: Consumer, message: QueuedMessage): void {
    this.dispatchCount++;
    this.#host.deliver(consumer, message);
  }

  #writeHwm(): void {
    if (this.#hwmWriting || this.#requestedHwm <= this.#durableHwm) return;
    this.#hwmWriting = true;
    const target = this.#requestedHwm;
    this.#host.persistDispatchMark(
      this.id,
      target,
      () => {
        this.#hwmWriting = false;
        this.#durableHwm = target;
        this.#releaseAwaiting();
        this.#writeHwm();
      },
      () => {
        this.#hwmWriting = false;
        // Could not make the mark durable: nothing leaves; the messages wait in order.
        for (const { consumer, message } of this.#awaitingHwm.splice(0)) {
          consumer.awaiting--;
          this.ready.putBack(message);
        }
        this.#requestedHwm = this.#durableHwm;
      },
    );
  }

  #releaseAwaiting(): void {
    const still: Array<{ consumer: Consumer; message: QueuedMessage }> = [];
    for (const entry of this.#awaitingHwm) {
      if (entry.message.seq > this.#durableHwm) {
        still.push(entry);
        continue;
      }
      entry.consumer.awaiting--;
      if (entry.consumer.closed) this.ready.putBack(entry.message);
      else this.#deliver(entry.consumer, entry.message);
    }
    this.#awaitingHwm.length = 0;
    this.#awaitingHwm.push(...still);
    this.scheduleDispatch();
  }

  /**
   * With selectors, an exclusive consumer or message groups, the head message may suit no
   * consumer: every ready message, in order, goes to the next consumer with credit that may take
   * it; the others stay (ActiveMQ's queue semantics: a group whose owner is busy does not hold up
   * other groups). Expired ones are taken too, to expire.
   */
  #pickSelected(now: number): Array<[Consumer, QueuedMessage]> {
    const picked: Array<[Consumer, QueuedMessage]> = [];
    const taken = new Set<QueuedMessage>();
    for (const message of this.ready) {
      if (isExpired(message, now)) {
        taken.add(message);
        picked.push([this.consumers[0]!, message]);
        continue;
      }
      const special = this.#special;
      const consumer =
        special === undefined ? this.#nextConsumer(message) : this.#nextSpecial(special, message);
      if (consumer === undefined) {
        const exclusive = special?.exclusive;
        if (
          exclusive !== undefined ? !exclusive.hasCredit : !this.consumers.some((c) => c.hasCredit)
        )
          break;
        continue;
      }
      // Reserved until handed over below, so that hasCredit counts it.
      consumer.awaiting++;
      taken.add(message);
      picked.push([consumer, message]);
    }
    if (taken.size > 0) this.ready.removeWhere((m) => taken.has(m));
    for (const [consumer, message] of picked) if (!isExpired(message, now)) consumer.awaiting--;
    return picked;
  }

  #nextConsumer(message?: QueuedMessage): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = this.consumers[(this.#rr + i) % n]!;
      if (
        consumer.hasCredit &&
        (message === undefined || consumer.selector === undefined || consumer.selector(message))
      ) {
        this.#rr = (this.#rr + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  /**
   * ActiveMQ's QueueDispatchSelector and Queue.assignMessageGroup: with an exclusive consumer
   * only it may take a message; a message of a group goes to the group's owner, and a group
   * without one (or a message with JMSXGroupSeq 1) is assigned to the consumer that takes it;
   * JMSXGroupSeq -1 closes the group once its owner takes it.
   */
  #nextSpecial(special: SpecialDispatch, message: QueuedMessage): Consumer | undefined {
    const groupId = groupOf(message);
    const accepts = (consumer: Consumer): boolean =>
      consumer.hasCredit &&
      consumer.selects(message) &&
      (groupId === undefined || special.mayTake(consumer, groupId, message));
    const exclusive = special.exclusive;
    let chosen: Consumer | undefined;
    if (exclusive !== undefined) {
      if (accepts(exclusive)) chosen = exclusive;
    } else {
      const n = this.consumers.length;
      for (let i = 0; i < n; i++) {
        const consumer = this.consumers[(this.#rr + i) % n]!;
        if (accepts(consumer)) {
          this.#rr = (this.#rr + i + 1) % n;
          chosen = consumer;
          break;
        }
      }
    }
    if (chosen !== undefined && groupId !== undefined) special.took(chosen, groupId, message);
    return chosen;
  }

  #inMemory(): number {
    return this.ready.size + this.inflightCount + this.#awaitingHwm.length;
  }

  #maybeLoad(): void {
    if (this.#loading || !this.hasUnloaded || this.consumers.length === 0) return;
    const room = this.#memoryWindow - this.#inMemory();
    // Load when a quarter of the window is free, so consumers never wait on a page.
    if (room < this.#memoryWindow / 4) return;
    const request: Array<{ priority: number; afterSeq: bigint; limit: number }> = [];
    let budget = room;
    for (let p = 9; p >= 0 && budget > 0; p--) {
      const unloaded = this.unloaded[p]!;
      if (unloaded <= 0) continue;
      const limit = Math.min(unloaded, budget);
      request.push({ priority: p, afterSeq: this.cursor[p]!, limit });
      budget -= limit;
    }
    if (request.length === 0) return;
    this.#loading = true;
    this.#host.loadPage(this.id, request).then(
      (messages) => {
        this.#loading = false;
        if (this.deleted) return;
        for (const message of messages) {
          const p = message.priority;
          if (message.seq <= this.cursor[p]!) continue;
          this.cursor[p] = message.seq;
          this.unloaded[p]!--;
          if (message.seq <= this.#durableHwm) message.maybeDelivered = true;
          if (this.#special === undefined) this.#noteGroup(message);
          this.ready.push(message);
        }
        // Counted rows commit before they are counted, so a page sees all it asked for; a short
        // page means rows left by another path (a purge): correct the count by the shortfall.
        for (const { priority, limit } of request) {
          const got = messages.filter((m) => m.priority === priority).length;
          if (got < limit)
            this.unloaded[priority] = Math.max(0, this.unloaded[priority]! - (limit - got));
        }
        this.scheduleDispatch();
      },
      (error: unknown) => {
        this.#loading = false;
        this.#host.onError(error);
        setTimeout(() => this.scheduleDispatch(), 500).unref();
      },
    );
  }

  /** Drops every ready and not-yet-loaded message (purge); in-flight ones stay with their consumers. */
  clearReady(lastSeq: bigint): QueuedMessage[] {
    const removed = this.ready.clear();
    this.unloaded.fill(0);
    this.cursor.fill(lastSeq);
    return removed;
  }
}
