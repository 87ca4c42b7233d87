import { sql, type Database, type Transaction } from '@crdr/store';
import type { EmitOptions, ReplicatedChange } from './store-writer.js';

const messagesPerEvent = 500;
const noBody = Buffer.alloc(0);

export interface StartedLog {
  readonly generation: bigint;
  /** Messages copied by the snapshot (0 without one). */
  readonly copied: number;
}

/**
 * Starts a new replication log: a new generation from sequence 1, opened by a LogStarted
 * event, then (with `snapshot`) the store's whole state, for a replica that must be rebuilt.
 * Without a snapshot the log opens empty: for a replica whose store is already identical (a
 * switchover, a failover with no divergent tail). Runs inside the store writer's serialized
 * transaction that starts the log, so a snapshot is exactly the state before the log's first
 * live event, and the live events follow it in the same sequence with no gap and no overlap.
 */
export async function startLog(
  trx: Transaction<Database>,
  emit: (change: ReplicatedChange, options?: EmitOptions) => void,
  flushEvents: () => Promise<void>,
  options: { readonly snapshot: boolean },
): Promise<StartedLog> {
  const { rows } = await sql<{ generation: bigint }>`
    UPDATE replication_log SET last_seq = 0, generation = generation + 1
    RETURNING generation`.execute(trx);
  const generation = BigInt(rows[0]!.generation);
  await sql`UPDATE replication_published SET published_seq = 0, published_at_ms = 0`.execute(trx);
  await sql`DELETE FROM replication_events`.execute(trx);
  emit({ logStarted: { generation: generation.toString(), snapshot: options.snapshot } });
  if (!options.snapshot) return { generation, copied: 0 };
  return { generation, copied: await writeLogSnapshot(trx, emit, flushEvents) };
}

/** The store's whole state as events (the snapshot a new log opens with); returns messages copied. */
async function writeLogSnapshot(
  trx: Transaction<Database>,
  emit: (change: ReplicatedChange, options?: EmitOptions) => void,
  flushEvents: () => Promise<void>,
): Promise<number> {
  const destinations = await trx.selectFrom('destinations').selectAll().orderBy('id').execute();
  const stores = await trx.selectFrom('stores').selectAll().orderBy('id').execute();
  for (const d of destinations) {
    const queue = stores.find((s) => s.destination_id === d.id && s.kind === 'queue');
    emit({
      destinationCreated: {
        destinationId: d.id,
        kind: d.kind,
        name: d.name,
        createdAtMs: d.created_at_ms.toString(),
        ...(queue === undefined ? {} : { queueStoreId: queue.id }),
      },
    });
  }
  for (const s of stores) {
    if (s.kind !== 'durable') continue;
    emit({
      durableSubscriptionAdded: {
        storeId: s.id,
        destinationId: s.destination_id,
        clientId: s.client_id ?? '',
        subscriptionName: s.subscription_name ?? '',
        createdAtMs: s.created_at_ms.toString(),
        selector: s.selector ?? '',
      },
    });
  }
  const users = await trx.selectFrom('users').selectAll().orderBy('username').execute();
  if (users.length > 0) {
    emit({
      usersChanged: {
        upserted: users.map((u) => ({
          username: u.username,
          passwordHash: u.password_hash,
          groups: u.groups,
          consoleAccess: u.console_access,
          replicationUser: u.replication_user,
          createdAtMs: u.created_at_ms.toString(),
        })),
      },
    });
  }
  await flushEvents();

  let copied = 0;
  let after = { store: -1, priority: -1, seq: -1n };
  for (;;) {
    const rows = await sql<{
      store_id: number;
      priority: number;
      seq: bigint;
      message_id: string;
      destination: string;
      headers: Record<string, string>;
      expires_at_ms: bigint | null;
      enqueued_at_ms: bigint;
      redelivery_count: number;
    }>`
      SELECT store_id, priority, seq, message_id, destination, headers, expires_at_ms,
             enqueued_at_ms, redelivery_count
      FROM messages
      WHERE (store_id, priority, seq) > (${after.store}, ${after.priority}, ${after.seq.toString()}::int8)
      ORDER BY store_id, priority, seq LIMIT ${messagesPerEvent}`.execute(trx);
    if (rows.rows.length === 0) break;
    // The bodies stay where they are: the writer is held only while the rows are listed, and
    // the relay reads each body when it publishes (a message consumed by then is left out,
    // its acknowledgement being a later event of this log).
    emit(
      {
        messageSent: {
          rows: rows.rows.map((m) => ({
            storeId: m.store_id,
            priority: m.priority,
            seq: m.seq.toString(),
            messageId: m.message_id,
            destination: m.destination,
            headers: m.headers,
            body: noBody,
            expiresAtMs: (m.expires_at_ms ?? 0n).toString(),
            enqueuedAtMs: m.enqueued_at_ms.toString(),
            redeliveryCount: m.redelivery_count,
          })),
        },
      },
      { bodiesInStore: true },
    );
    await flushEvents();
    copied += rows.rows.length;
    const last = rows.rows[rows.rows.length - 1]!;
    after = { store: last.store_id, priority: last.priority, seq: last.seq };
  }
  const marks = stores.filter((s) => s.dispatched_hwm > 0n);
  if (marks.length > 0) {
    emit({
      dispatchMarkAdvanced: {
        marks: marks.map((s) => ({ storeId: s.id, seq: s.dispatched_hwm.toString() })),
      },
    });
  }
  return copied;
}
