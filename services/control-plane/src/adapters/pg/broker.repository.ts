import { decide, evolve, fold, initialState } from '../../domain/broker.decider.js';
import type {
  BrokerAggregate,
  BrokerCommand,
  BrokerEvent,
  BrokerId,
} from '../../domain/broker.types.js';
import type { EventStore } from './event-store.js';

/** The broker registry: each broker a stream of events; its state their fold. */
export interface BrokerRepository {
  /** The broker's state (`exists` false when never created). */
  load(brokerId: BrokerId): Promise<BrokerAggregate>;
  /**
   * Decides `command` against the current state and appends its events at the version read:
   * a concurrent change makes it fail with Conflict (optimistic concurrency). Returns the new state.
   */
  handle(brokerId: BrokerId, command: BrokerCommand): Promise<BrokerAggregate>;
  /** Every broker ever created (deleted ones included; callers filter). */
  list(): Promise<BrokerAggregate[]>;
}

const streamId = (brokerId: BrokerId): string => `broker-${brokerId}`;

export function createBrokerRepository(store: EventStore<BrokerEvent>): BrokerRepository {
  return {
    async load(brokerId) {
      const { events } = await store.readStream(streamId(brokerId));
      return fold(events);
    },
    async handle(brokerId, command) {
      const { version, events } = await store.readStream(streamId(brokerId));
      const state = events.reduce(evolve, initialState);
      const next = decide(command, state);
      await store.append(streamId(brokerId), version, next);
      return next.reduce(evolve, state);
    },
    async list() {
      const streams = await store.readAll();
      return [...streams.values()].map(fold).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
  };
}
