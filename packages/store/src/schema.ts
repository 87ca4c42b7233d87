import type { ColumnType, Generated } from 'kysely';

/**
 * The broker store's tables, shared by the broker (which writes them) and the replicator (which
 * applies the primary's events to a replica's copy of them). int8 columns arrive as `bigint`.
 * Times are epoch milliseconds in int8 columns named `*_ms`.
 */
export interface Database {
  broker_meta: BrokerMetaTable;
  destinations: DestinationTable;
  stores: StoreTable;
  messages: MessageTable;
  scheduled_messages: ScheduledMessageTable;
  users: UserTable;
  leases: LeaseTable;
  replication_events: ReplicationEventTable;
  replication_log: ReplicationLogTable;
  replication_published: ReplicationPublishedTable;
  replication_applied: ReplicationAppliedTable;
  broker_demotion: BrokerDemotionTable;
}

export type DataReplicationRole = 'PRIMARY' | 'REPLICA';
export type DataReplicationMode = 'NONE' | 'CRDR';
export type DestinationKind = 'queue' | 'topic';
export type StoreKind = 'queue' | 'durable';

export interface BrokerMetaTable {
  id: ColumnType<number, number | undefined, never>;
  broker_id: string;
  role: DataReplicationRole;
  epoch: bigint;
  primary_region: string | null;
  primary_broker_id: string | null;
  data_replication_mode: DataReplicationMode;
  updated_at_ms: bigint;
}

export interface DestinationTable {
  id: Generated<number>;
  kind: DestinationKind;
  name: string;
  created_at_ms: bigint;
}

/** A message store: the queue of a queue destination, or one durable topic subscription. */
export interface StoreTable {
  id: Generated<number>;
  destination_id: number;
  kind: StoreKind;
  client_id: string | null;
  subscription_name: string | null;
  selector: string | null;
  /**
   * Every message of this store with a seq at or below this mark may have been dispatched to a
   * consumer. It is made durable before a MESSAGE frame leaves, so that after a crash the
   * messages that may have been seen are redelivered with `redelivered:true`.
   */
  dispatched_hwm: Generated<bigint>;
  created_at_ms: bigint;
}

export interface MessageTable {
  store_id: number;
  priority: number;
  /** Broker-wide, strictly increasing in commit order. */
  seq: bigint;
  message_id: string;
  /** The destination the producer sent to, as `/queue/NAME` or `/topic/NAME`. */
  destination: string;
  /** The user headers, without the ones the broker computes. */
  headers: Record<string, string>;
  body: Buffer;
  expires_at_ms: bigint | null;
  enqueued_at_ms: bigint;
  redelivery_count: Generated<number>;
}

export interface ScheduledMessageTable {
  id: Generated<bigint>;
  message_id: string;
  destination: string;
  priority: number;
  persistent: boolean;
  headers: Record<string, string>;
  body: Buffer;
  expires_at_ms: bigint | null;
  deliver_at_ms: bigint;
  created_at_ms: bigint;
}

export interface UserTable {
  username: string;
  password_hash: string;
  groups: string[];
  console_access: boolean;
  replication_user: boolean;
  created_at_ms: bigint;
}

export interface LeaseTable {
  name: string;
  holder: string;
  /** Grows with every change of holder: a fencing token. */
  token: bigint;
  expires_at_ms: bigint;
}

export interface ReplicationEventTable {
  seq: bigint;
  epoch: bigint;
  /** TC: when the change committed on the primary. */
  created_at_ms: bigint;
  /** The encoded `crdr.replication.v1.ReplicationEvent`. */
  payload: Buffer;
  /** The payload's messages were written without their bodies, which the messages table holds. */
  bodies_in_store: Generated<boolean>;
}

export interface ReplicationLogTable {
  id: ColumnType<number, number | undefined, never>;
  last_seq: bigint;
  generation: bigint;
}

export interface ReplicationPublishedTable {
  id: ColumnType<number, number | undefined, never>;
  published_seq: bigint;
  published_at_ms: bigint;
}

export interface ReplicationAppliedTable {
  id: ColumnType<number, number | undefined, never>;
  source_broker_id: string;
  /** The generation of the source's log the sequence counts (0: not known). */
  source_generation: ColumnType<bigint, bigint | undefined, bigint>;
  epoch: bigint;
  applied_seq: bigint;
  /** TC of the last applied event. */
  last_created_at_ms: bigint;
  /** TP: when the last event was applied here. */
  last_applied_at_ms: bigint;
}

/** A primary being demoted by a switchover: its log ends with the marker at `sequence`. */
export interface BrokerDemotionTable {
  id: ColumnType<number, number | undefined, never>;
  promotion_id: string;
  next_epoch: bigint;
  sequence: bigint;
  generation: bigint;
  new_primary_region: string | null;
  new_primary_broker_id: string | null;
  started_at_ms: bigint;
}
