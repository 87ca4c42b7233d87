import { sql, type Database, type Kysely, type RawBuilder, type Transaction } from '@crdr/store';
import type { AppliedRecord } from '../../domain/replicator-state.js';

/** The replica's `replication_applied` row: the last event applied, from which primary. */
export type StoredPosition = AppliedRecord;

export async function readAppliedPosition(
  db: Kysely<Database>,
): Promise<StoredPosition | undefined> {
  const row = await db
    .selectFrom('replication_applied')
    .selectAll()
    .where('id', '=', 1)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    sourceBrokerId: row.source_broker_id,
    // 0: written before logs had generations (or by an older replicator): not known.
    ...(BigInt(row.source_generation) === 0n ? {} : { generation: BigInt(row.source_generation) }),
    sequence: row.applied_seq,
    epoch: row.epoch,
    lastCreatedAtMs: Number(row.last_created_at_ms),
    lastAppliedAtMs: Number(row.last_applied_at_ms),
  };
}

/** The replica broker was promoted: its store is a primary's now and takes no replicated change. */
const notPromoted = sql`NOT EXISTS (SELECT FROM broker_meta WHERE role = 'PRIMARY')`;

/**
 * Where the position must still be for a batch to apply. With a row, it is locked (FOR UPDATE)
 * and must be where this replicator last saw it; without one, this replicator inserts the first
 * one. Another replicator applying to the same store waits on that lock, then finds the
 * position moved and changes nothing (rather than colliding on message keys). Nothing applies
 * either once the store's broker is a primary (promoted): a replicator left running is fenced.
 */
export function claimPositionSql(
  from: StoredPosition | undefined,
  to: StoredPosition,
): RawBuilder<unknown> {
  if (from === undefined) {
    return sql`
      INSERT INTO replication_applied (id, source_broker_id, source_generation, epoch, applied_seq, last_created_at_ms, last_applied_at_ms)
      SELECT 1, ${to.sourceBrokerId}, ${(to.generation ?? 0n).toString()}::int8, ${to.epoch.toString()}::int8, ${to.sequence.toString()}::int8,
              ${String(to.lastCreatedAtMs)}::int8, ${String(to.lastAppliedAtMs)}::int8
      WHERE ${notPromoted}
      ON CONFLICT (id) DO NOTHING
      RETURNING 1`;
  }
  return sql`
    SELECT 1 FROM replication_applied
    WHERE id = 1 AND source_broker_id = ${from.sourceBrokerId}
      AND applied_seq = ${from.sequence.toString()}::int8
      AND source_generation = ${(from.generation ?? 0n).toString()}::int8
      AND ${notPromoted}
    FOR UPDATE`;
}

/** Whether the store's broker is a primary (the replica was promoted). */
export async function isPromoted(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom('broker_meta')
    .select('role')
    .where('role', '=', 'PRIMARY')
    .executeTakeFirst();
  return row !== undefined;
}

/** Moves the claimed position to `to` (nothing to do when the claim inserted it). */
export function movePositionSql(
  from: StoredPosition | undefined,
  to: StoredPosition,
  guard: RawBuilder<unknown>,
): RawBuilder<unknown> | undefined {
  if (from === undefined) return undefined;
  return sql`
    UPDATE replication_applied
    SET source_broker_id = ${to.sourceBrokerId}, source_generation = ${(to.generation ?? 0n).toString()}::int8,
        epoch = ${to.epoch.toString()}::int8,
        applied_seq = ${to.sequence.toString()}::int8,
        last_created_at_ms = ${String(to.lastCreatedAtMs)}::int8,
        last_applied_at_ms = ${String(to.lastAppliedAtMs)}::int8
    WHERE id = 1 AND ${guard}`;
}

/** Claims the position inside a transaction; false when it had moved. */
export async function claimPosition(
  trx: Transaction<Database>,
  from: StoredPosition | undefined,
  to: StoredPosition,
): Promise<boolean> {
  const result = await claimPositionSql(from, to).execute(trx);
  return result.rows.length === 1;
}
