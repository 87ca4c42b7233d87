import type { Migration } from 'kysely';
import * as brokerStore from './0001-broker-store.js';
import * as replication from './0002-replication.js';
import * as promotion from './0003-promotion.js';
import * as outboxBodies from './0004-outbox-bodies.js';

/** Every migration, in order. Names sort in the order they apply. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-broker-store': brokerStore,
  '0002-replication': replication,
  '0003-promotion': promotion,
  '0004-outbox-bodies': outboxBodies,
};
