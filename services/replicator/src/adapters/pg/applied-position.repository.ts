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
    sequence: row.applied_seq,
    epoch: row.epoch,
    lastCreatedAtMs: Number(row.last_created_at_ms),
    lastAppliedAtMs: Number(row.last_applied_at_ms),
  };
}

/**
 * Where the position must still be for a batch to apply. With a row, it is locked (FOR UPDATE)
 * and must be where this replicator last saw it; without one, this replicator inserts the first
 * one. Another replicator applying to the same store waits on that lock, then finds the
 * position moved and changes nothing (rather than colliding on message keys).
 */
export function claimPositionSql(
  from: StoredPosition | undefined,
  to: StoredPosition,
): RawBuilder<unknown> {
  if (from === undefined) {
    return sql`
      INSERT INTO replication_applied (id, source_broker_id, epoch, applied_seq, last_created_at_ms, last_applied_at_ms)
      VALUES (1, ${to.sourceBrokerId}, ${to.epoch.toString()}::int8, ${to.sequence.toString()}::int8,
              ${String(to.lastCreatedAtMs)}::int8, ${String(to.lastAppliedAtMs)}::int8)
      ON CONFLICT (id) DO NOTHING
      RETURNING 1`;
  }
  return sql`
    SELECT 1 FROM replication_applied
    WHERE id = 1 AND source_broker_id = ${from.sourceBrokerId}
      AND applied_seq = ${from.sequence.toString()}::int8
    FOR UPDATE`;
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
    SET source_broker_id = ${to.sourceBrokerId}, epoch = ${to.epoch.toString()}::int8,
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
