export type {
  Database,
  BrokerMetaTable,
  DestinationTable,
  StoreTable,
  MessageTable,
  ScheduledMessageTable,
  UserTable,
  LeaseTable,
  ReplicationEventTable,
  ReplicationLogTable,
  ReplicationPublishedTable,
  ReplicationAppliedTable,
  BrokerDemotionTable,
  DataReplicationRole,
  DataReplicationMode,
  DestinationKind,
  StoreKind,
} from './schema.js';
export {
  createPool,
  createDb,
  ensureDatabase,
  dropDatabase,
  migrateToLatest,
  type PoolOptions,
} from './database.js';
export { migrations } from './migrations/index.js';
export { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
export type { Pool, PoolClient } from 'pg';
export {
  advanceDispatchMarksSql,
  deleteMessagesSql,
  insertMessagesSql,
  packBodies,
  recordRedeliveryCountsSql,
  type MessageRow,
  type MessageRowKey,
  type RedeliveryCountRow,
} from './message-rows.js';
