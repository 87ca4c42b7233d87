import type { Database, Kysely } from '@crdr/store';
import { conflict, notFound } from '@crdr/errors';
import { destinationKey, type DestinationKind } from '../domain/destination.js';
import type { StoreWriter } from '../adapters/pg/store-writer.js';
import { insertDestination, type LoadedState } from '../adapters/pg/broker-state.repository.js';
import { parseSelector } from '../domain/selector.js';
import { StoreQueue, type StoreQueueHost } from './store-queue.js';

export interface DestinationState {
  readonly key: string;
  readonly kind: DestinationKind;
  readonly name: string;
  readonly temporary: boolean;
  /** Postgres id; negative for a temporary destination, which lives in memory only. */
  readonly id: number;
  /** A queue's one store. */
  readonly queue: StoreQueue | undefined;
  /** A topic's durable subscriptions, by `clientId\u0000subscriptionName`. */
  readonly durables: Map<string, StoreQueue>;
  /** A topic's non-durable subscriptions, held in memory only. */
  readonly volatiles: Set<StoreQueue>;
  /** Sessions that sent here, for ProducerCount. */
  readonly producers: Set<string>;
}

export interface RegistryOptions {
  readonly db: Kysely<Database>;
  readonly writer: () => StoreWriter;
  readonly host: StoreQueueHost;
  readonly memoryWindow: number;
  readonly now: () => number;
}

export const durableKey = (clientId: string, subscriptionName: string): string =>
  `${clientId}\u0000${subscriptionName}`;

/** Every destination the serving broker knows, with its stores. */
export class DestinationRegistry {
  readonly #byKey = new Map<string, DestinationState>();
  readonly #creating = new Map<string, Promise<DestinationState>>();
  /** Durable subscriptions by client id and name, whatever their topic. */
  readonly #durables = new Map<string, { topic: DestinationState; store: StoreQueue }>();
  readonly #options: RegistryOptions;
  /** Told of each destination created while serving (wildcard subscriptions follow them). */
  readonly #watchers = new Set<(destination: DestinationState) => void>();
  #volatileIds = 0;

  constructor(options: RegistryOptions) {
    this.#options = options;
  }

  /** Calls `onCreated` for every destination created from now on; returns the way to stop. */
  watch(onCreated: (destination: DestinationState) => void): () => void {
    this.#watchers.add(onCreated);
    return () => this.#watchers.delete(onCreated);
  }

  get(kind: DestinationKind, name: string, temporary = false): DestinationState | undefined {
    return this.#byKey.get(destinationKey(kind, name, temporary));
  }

  all(): IterableIterator<DestinationState> {
    return this.#byKey.values();
  }

  /** Every store that holds messages: queues and durable subscriptions. */
  *stores(): IterableIterator<StoreQueue> {
    for (const d of this.#byKey.values()) {
      if (d.queue !== undefined) yield d.queue;
      yield* d.durables.values();
    }
  }

  findDurable(
    clientId: string,
    subscriptionName: string,
  ): { topic: DestinationState; store: StoreQueue } | undefined {
    return this.#durables.get(durableKey(clientId, subscriptionName));
  }

  load(state: LoadedState): void {
    this.clear();
    const byId = new Map<number, { kind: DestinationKind; name: string }>();
    for (const d of state.destinations) byId.set(d.id, d);
    const queues = new Map<number, StoreQueue>();
    const durables = new Map<number, StoreQueue[]>();
    for (const s of state.stores) {
      const dest = byId.get(s.destinationId);
      if (dest === undefined) continue;
      const store = this.#newStore(
        s.id,
        s.kind,
        dest.kind,
        dest.name,
        s.dispatchedHwm,
        s.clientId,
        s.subscriptionName,
      );
      for (let p = 0; p < 10; p++) store.unloaded[p] = s.counts[p]!;
      if (s.selector !== null) {
        store.selectorText = s.selector;
        store.selector = parseSelector(s.selector);
      }
      if (s.kind === 'queue') queues.set(s.destinationId, store);
      else durables.set(s.destinationId, [...(durables.get(s.destinationId) ?? []), store]);
    }
    for (const d of state.destinations) {
      const dest = this.#put(d.kind, d.name, d.id, false, queues.get(d.id), false);
      for (const store of durables.get(d.id) ?? []) {
        const key = durableKey(store.clientId!, store.subscriptionName!);
        dest.durables.set(key, store);
        this.#durables.set(key, { topic: dest, store });
      }
    }
  }

  clear(): void {
    for (const store of this.stores()) store.deleted = true;
    for (const d of this.#byKey.values()) for (const v of d.volatiles) v.deleted = true;
    this.#byKey.clear();
    this.#durables.clear();
    this.#creating.clear();
  }

  /**
   * The destination, created durably on first use as ActiveMQ does. A temporary one is only
   * found: its connection creates it (`createTemporary`), and once that connection closed it no
   * longer exists (ActiveMQ: "The destination temp-queue://... does not exist").
   */
  ensure(
    kind: DestinationKind,
    name: string,
    temporary = false,
  ): DestinationState | Promise<DestinationState> {
    const key = destinationKey(kind, name, temporary);
    const existing = this.#byKey.get(key);
    if (existing !== undefined) return existing;
    if (temporary) {
      throw notFound(
        `the temporary ${kind} /remote-temp-${kind}/${name} does not exist: the connection that created it has closed`,
        { details: { field: 'destination' } },
      );
    }
    let creating = this.#creating.get(key);
    if (creating === undefined) {
      creating = this.#options
        .writer()
        .run(
          async (trx, _nextSeq, emit) => {
            const createdAtMs = this.#options.now();
            const created = await insertDestination(trx, kind, name, createdAtMs);
            if (created.created) {
              emit({
                destinationCreated: {
                  destinationId: created.destinationId,
                  kind,
                  name,
                  createdAtMs: String(createdAtMs),
                  ...(created.storeId === undefined ? {} : { queueStoreId: created.storeId }),
                },
              });
            }
            return created;
          },
          ({ destinationId, storeId, storeHwm }) => {
            if (this.#byKey.has(key)) return;
            const queue =
              storeId === undefined
                ? undefined
                : this.#newStore(storeId, 'queue', kind, name, storeHwm, null, null);
            this.#put(kind, name, destinationId, false, queue);
          },
        )
        .then(() => this.#byKey.get(key)!)
        .finally(() => this.#creating.delete(key));
      this.#creating.set(key, creating);
    }
    return creating;
  }

  /** A temporary destination, in memory only, under its broker-wide name (`ID:...`). */
  createTemporary(kind: DestinationKind, name: string): DestinationState {
    const id = --this.#volatileIds;
    const queue =
      kind === 'queue'
        ? this.#newStore(id, 'volatile', kind, name, 0n, null, null, true)
        : undefined;
    return this.#put(kind, name, id, true, queue);
  }

  /**
   * Deletes a temporary destination with what it holds (its connection closed). Subscribers on
   * other connections get nothing more from it.
   */
  dropTemporary(destination: DestinationState): void {
    if (this.#byKey.get(destination.key) !== destination) return;
    this.#byKey.delete(destination.key);
    if (destination.queue !== undefined) destination.queue.deleted = true;
    for (const store of destination.volatiles) store.deleted = true;
  }

  /** A non-durable topic subscription's in-memory store. */
  createVolatile(topic: DestinationState): StoreQueue {
    const store = this.#newStore(
      --this.#volatileIds,
      'volatile',
      'topic',
      topic.name,
      0n,
      null,
      null,
      topic.temporary,
    );
    topic.volatiles.add(store);
    return store;
  }

  /**
   * The durable subscription named by client id and name. Subscribing with the same name to
   * another topic, or with another selector, replaces the old subscription and drops what it
   * held, as ActiveMQ does (TopicRegion's hasDurableSubChanged).
   */
  async ensureDurable(
    topic: DestinationState,
    clientId: string,
    subscriptionName: string,
    selector?: string,
  ): Promise<StoreQueue> {
    const key = durableKey(clientId, subscriptionName);
    const found = this.#durables.get(key);
    const selectorText = selector === undefined || selector.trim() === '' ? undefined : selector;
    if (found !== undefined && found.topic === topic && found.store.selectorText === selectorText)
      return found.store;
    if (found !== undefined) await this.removeDurable(clientId, subscriptionName);
    const now = this.#options.now();
    return this.#options
      .writer()
      .run(
        async (trx, _nextSeq, emit) => {
          const row = await trx
            .insertInto('stores')
            .values({
              destination_id: topic.id,
              kind: 'durable',
              client_id: clientId,
              subscription_name: subscriptionName,
              selector: selectorText ?? null,
              created_at_ms: BigInt(now),
            })
            .returning(['id', 'dispatched_hwm'])
            .executeTakeFirstOrThrow();
          emit({
            durableSubscriptionAdded: {
              storeId: row.id,
              destinationId: topic.id,
              clientId,
              subscriptionName,
              createdAtMs: String(now),
              ...(selectorText === undefined ? {} : { selector: selectorText }),
            },
          });
          return row;
        },
        (row) => {
          const store = this.#newStore(
            row.id,
            'durable',
            'topic',
            topic.name,
            row.dispatched_hwm,
            clientId,
            subscriptionName,
          );
          store.selectorText = selectorText;
          store.selector = parseSelector(selectorText);
          topic.durables.set(key, store);
          this.#durables.set(key, { topic, store });
        },
      )
      .then(() => this.#durables.get(key)!.store);
  }

  async removeDurable(clientId: string, subscriptionName: string): Promise<void> {
    const key = durableKey(clientId, subscriptionName);
    const found = this.#durables.get(key);
    if (found === undefined) {
      throw notFound(
        `durable subscription "${subscriptionName}" of client "${clientId}" does not exist`,
      );
    }
    if (found.store.consumers.length > 0) {
      throw conflict(`durable subscription "${subscriptionName}" has an active subscriber`);
    }
    await this.#options.writer().run(
      async (trx, _nextSeq, emit) => {
        await trx.deleteFrom('messages').where('store_id', '=', found.store.id).execute();
        await trx.deleteFrom('stores').where('id', '=', found.store.id).execute();
        emit({ durableSubscriptionRemoved: { storeId: found.store.id } });
      },
      () => {
        found.store.deleted = true;
        found.topic.durables.delete(key);
        this.#durables.delete(key);
      },
    );
  }

  async delete(kind: DestinationKind, name: string): Promise<void> {
    const dest = this.get(kind, name);
    if (dest === undefined) throw notFound(`${kind} "${name}" does not exist`);
    const busy =
      (dest.queue?.consumers.length ?? 0) +
      [...dest.durables.values()].reduce((n, s) => n + s.consumers.length, 0);
    if (busy > 0 || dest.volatiles.size > 0)
      throw conflict(`${kind} "${name}" has active consumers`);
    const drop = (): void => {
      if (dest.queue !== undefined) dest.queue.deleted = true;
      for (const [key, store] of dest.durables) {
        store.deleted = true;
        this.#durables.delete(key);
      }
      this.#byKey.delete(dest.key);
    };
    if (dest.temporary) return drop();
    await this.#options.writer().run(async (trx, _nextSeq, emit) => {
      const stores = trx.selectFrom('stores').select('id').where('destination_id', '=', dest.id);
      await trx.deleteFrom('messages').where('store_id', 'in', stores).execute();
      await trx.deleteFrom('destinations').where('id', '=', dest.id).execute();
      emit({ destinationDeleted: { destinationId: dest.id } });
    }, drop);
  }

  #put(
    kind: DestinationKind,
    name: string,
    id: number,
    temporary: boolean,
    queue: StoreQueue | undefined,
    notify = true,
  ): DestinationState {
    const state: DestinationState = {
      key: destinationKey(kind, name, temporary),
      kind,
      name,
      temporary,
      id,
      queue,
      durables: new Map(),
      volatiles: new Set(),
      producers: new Set(),
    };
    this.#byKey.set(state.key, state);
    if (notify) for (const watcher of this.#watchers) watcher(state);
    return state;
  }

  #newStore(
    id: number,
    kind: 'queue' | 'durable' | 'volatile',
    destKind: DestinationKind,
    name: string,
    hwm: bigint,
    clientId: string | null,
    subscriptionName: string | null,
    temporary = false,
  ): StoreQueue {
    return new StoreQueue({
      id,
      kind,
      destination: `/${temporary ? 'remote-temp-' : ''}${destKind}/${name}`,
      dispatchedHwm: hwm,
      memoryWindow: this.#options.memoryWindow,
      host: this.#options.host,
      ...(clientId === null ? {} : { clientId }),
      ...(subscriptionName === null ? {} : { subscriptionName }),
    });
  }
}
