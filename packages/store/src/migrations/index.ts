import type { Migration } from 'kysely';
import * as brokerStore from './0001-broker-store.js';

/** Every migration, in order. Names sort in the order they apply. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-broker-store': brokerStore,
};
