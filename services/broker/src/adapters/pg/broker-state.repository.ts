import { sql, type Database, type Kysely, type Transaction } from '@crdr/store';
import type { BrokerMetaTable, StoreKind } from '@crdr/store';
import type { QueuedMessage } from '../../engine/queued-message.js';

export type BrokerMeta = Omit<BrokerMetaTable, 'id'>;

export interface LoadedDestination {
  readonly id: number;
  readonly kind: 'queue' | 'topic';
  readonly name: string;
}

export interface LoadedStore {
  readonly id: number;
  readonly destinationId: number;
  readonly kind: StoreKind;
  readonly clientId: string | null;
  readonly subscriptionName: string | null;
  /** A durable subscription's selector, kept while it is inactive too. */
  readonly selector: string | null;
  readonly dispatchedHwm: bigint;
  /** Persistent messages held, by priority. */
  readonly counts: number[];
}

export interface LoadedState {
  readonly destinations: readonly LoadedDestination[];
  readonly stores: readonly LoadedStore[];
  /** The highest message seq or dispatch mark ever written: new seqs start above it. */
  readonly lastSeq: bigint;
  /** The last replication event sequence written. */
  readonly lastEventSeq: bigint;
}

/** Reads everything the broker rebuilds its memory from when it becomes the serving primary. */
export async function loadState(db: Kysely<Database>): Promise<LoadedState> {
  // A promoted replica's rows were written with the primary's ids: new ids start above them.
  await sql`
    SELECT setval(pg_get_serial_sequence('destinations', 'id'), COALESCE((SELECT max(id) FROM destinations), 1),
                  (SELECT max(id) FROM destinations) IS NOT NULL),
           setval(pg_get_serial_sequence('stores', 'id'), COALESCE((SELECT max(id) FROM stores), 1),
                  (SELECT max(id) FROM stores) IS NOT NULL)`.execute(db);
  return db.transaction().execute(async (trx) => {
    await sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`.execute(trx);
    const destinations = await trx
      .selectFrom('destinations')
      .select(['id', 'kind', 'name'])
      .execute();
    const stores = await trx.selectFrom('stores').selectAll().execute();
    const counts = await sql<{ store_id: number; priority: number; n: bigint }>`
      SELECT store_id, priority, count(*)::int8 AS n FROM messages GROUP BY store_id, priority`.execute(
      trx,
    );
    const maxes = await sql<{ last: bigint | null }>`
      SELECT GREATEST((SELECT max(seq) FROM messages), (SELECT max(dispatched_hwm) FROM stores)) AS last`.execute(
      trx,
    );
    const log = await trx.selectFrom('replication_log').select('last_seq').executeTakeFirst();
    const byStore = new Map<number, number[]>();
    for (const row of counts.rows) {
      let c = byStore.get(row.store_id);
      if (c === undefined) byStore.set(row.store_id, (c = new Array<number>(10).fill(0)));
      c[row.priority] = Number(row.n);
    }
    return {
      destinations,
      stores: stores.map((s) => ({
        id: s.id,
        destinationId: s.destination_id,
        kind: s.kind,
        clientId: s.client_id,
        subscriptionName: s.subscription_name,
        selector: s.selector,
        dispatchedHwm: s.dispatched_hwm,
        counts: byStore.get(s.id) ?? new Array<number>(10).fill(0),
      })),
      lastSeq: maxes.rows[0]?.last ?? 0n,
      lastEventSeq: log?.last_seq ?? 0n,
    };
  });
}

export async function readMeta(
  db: Kysely<Database> | Transaction<Database>,
): Promise<BrokerMeta | undefined> {
  const row = await db.selectFrom('broker_meta').selectAll().executeTakeFirst();
  if (row === undefined) return undefined;
  const { id: _id, ...meta } = row;
  return meta;
}

/** Creates the broker's meta row on first start; an existing row wins (the role survives restarts). */
export async function ensureMeta(db: Kysely<Database>, initial: BrokerMeta): Promise<BrokerMeta> {
  await db
    .insertInto('broker_meta')
    .values({ id: 1, ...initial })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const meta = await readMeta(db);
  if (meta === undefined) throw new Error('broker_meta row missing after insert');
  return meta;
}

/** Reads the next messages of a store, one index range per priority. */
export async function loadPage(
  db: Kysely<Database>,
  storeId: number,
  request: ReadonlyArray<{
    readonly priority: number;
    readonly afterSeq: bigint;
    readonly limit: number;
  }>,
): Promise<QueuedMessage[]> {
  const out: QueuedMessage[] = [];
  for (const { priority, afterSeq, limit } of request) {
    const rows = await db
      .selectFrom('messages')
      .selectAll()
      .where('store_id', '=', storeId)
      .where('priority', '=', priority)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    for (const row of rows) out.push(rowToMessage(row));
  }
  return out;
}

export function rowToMessage(row: {
  store_id: number;
  priority: number;
  seq: bigint;
  message_id: string;
  destination: string;
  headers: Record<string, string>;
  body: Buffer;
  expires_at_ms: bigint | null;
  enqueued_at_ms: bigint;
  redelivery_count: number;
}): QueuedMessage {
  return {
    storeId: row.store_id,
    priority: row.priority,
    seq: row.seq,
    messageId: row.message_id,
    destination: row.destination,
    headers: row.headers,
    body: row.body,
    expiresAtMs: row.expires_at_ms === null ? 0 : Number(row.expires_at_ms),
    enqueuedAtMs: Number(row.enqueued_at_ms),
    persistent: true,
    redeliveryCount: row.redelivery_count,
    maybeDelivered: false,
  };
}

export async function insertDestination(
  trx: Transaction<Database>,
  kind: 'queue' | 'topic',
  name: string,
  nowMs: number,
): Promise<{
  destinationId: number;
  storeId: number | undefined;
  storeHwm: bigint;
  created: boolean;
}> {
  const inserted = await trx
    .insertInto('destinations')
    .values({ kind, name, created_at_ms: BigInt(nowMs) })
    .onConflict((oc) => oc.columns(['kind', 'name']).doNothing())
    .returning('id')
    .executeTakeFirst();
  const destinationId =
    inserted?.id ??
    (
      await trx
        .selectFrom('destinations')
        .select('id')
        .where('kind', '=', kind)
        .where('name', '=', name)
        .executeTakeFirstOrThrow()
    ).id;
  if (kind === 'topic')
    return { destinationId, storeId: undefined, storeHwm: 0n, created: inserted !== undefined };
  const store = await trx
    .selectFrom('stores')
    .select(['id', 'dispatched_hwm'])
    .where('destination_id', '=', destinationId)
    .where('kind', '=', 'queue')
    .executeTakeFirst();
  if (store !== undefined) {
    return {
      destinationId,
      storeId: store.id,
      storeHwm: store.dispatched_hwm,
      created: inserted !== undefined,
    };
  }
  const created = await trx
    .insertInto('stores')
    .values({ destination_id: destinationId, kind: 'queue', created_at_ms: BigInt(nowMs) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { destinationId, storeId: created.id, storeHwm: 0n, created: true };
}
