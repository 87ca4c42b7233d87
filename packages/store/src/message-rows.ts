import { sql, type RawBuilder } from 'kysely';

/** A message row as the broker writes it and the replicator applies it. */
export interface MessageRow {
  readonly storeId: number;
  readonly priority: number;
  readonly seq?: bigint | undefined;
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** 0: never expires. */
  readonly expiresAtMs: number;
  readonly enqueuedAtMs: number;
  readonly redeliveryCount: number;
}

/** The INSERT of message rows, as the broker's flush and the replicator's apply use it. */
export function insertMessagesSql(
  rows: readonly MessageRow[],
  guard: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown> {
  // Bodies travel as one binary parameter sliced by offset: an array of bytea would be sent as
  // hex text, doubling the bytes and the parsing on both ends.
  const { blob, offsets, lengths } = packBodies(rows.map((m) => m.body));
  return sql`
    INSERT INTO messages (store_id, priority, seq, message_id, destination, headers, body,
                          expires_at_ms, enqueued_at_ms, redelivery_count)
    SELECT u.store_id, u.priority, u.seq, u.message_id, u.destination, u.headers,
           substring(${blob}::bytea FROM u.body_offset FOR u.body_length),
           u.expires_at_ms, u.enqueued_at_ms, u.redelivery_count
    FROM unnest(
      ${rows.map((m) => m.storeId)}::int[],
      ${rows.map((m) => m.priority)}::smallint[],
      ${rows.map((m) => String(m.seq))}::int8[],
      ${rows.map((m) => m.messageId)}::text[],
      ${rows.map((m) => m.destination)}::text[],
      ${rows.map((m) => JSON.stringify(m.headers))}::jsonb[],
      ${offsets}::int[],
      ${lengths}::int[],
      ${rows.map((m) => (m.expiresAtMs > 0 ? String(m.expiresAtMs) : null))}::int8[],
      ${rows.map((m) => String(m.enqueuedAtMs))}::int8[],
      ${rows.map((m) => m.redeliveryCount)}::int[])
      AS u(store_id, priority, seq, message_id, destination, headers, body_offset, body_length,
           expires_at_ms, enqueued_at_ms, redelivery_count)
    WHERE ${guard}`;
}

/** A message's primary key in `messages`. */
export interface MessageRowKey {
  readonly storeId: number;
  readonly priority: number;
  readonly seq: bigint;
}

/** A redelivery count to record on a message that stays. */
export interface RedeliveryCountRow extends MessageRowKey {
  readonly count: number;
}

/**
 * The DELETE of acknowledged (or moved, or expired) messages, as the broker's flush and the
 * replicator's apply use it: one statement, so the replica runs the primary's statement.
 */
export function deleteMessagesSql(
  keys: readonly MessageRowKey[],
  guard: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown> {
  return sql`
    DELETE FROM messages m
    USING unnest(${keys.map((k) => k.storeId)}::int[], ${keys.map((k) => k.priority)}::smallint[],
                 ${keys.map((k) => k.seq.toString())}::int8[]) AS d(store_id, priority, seq)
    WHERE m.store_id = d.store_id AND m.priority = d.priority AND m.seq = d.seq AND ${guard}`;
}

/**
 * Records redelivery counts, as the broker's flush and the replicator's apply use it. A count
 * never goes down (`GREATEST`): a late or repeated change cannot undo a delivery attempt, and the
 * replica, running the same statement, ends with the primary's count. A key may appear once.
 */
export function recordRedeliveryCountsSql(
  counts: readonly RedeliveryCountRow[],
  guard: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown> {
  return sql`
    UPDATE messages m SET redelivery_count = GREATEST(m.redelivery_count, d.count)
    FROM unnest(${counts.map((c) => c.storeId)}::int[], ${counts.map((c) => c.priority)}::smallint[],
                ${counts.map((c) => c.seq.toString())}::int8[], ${counts.map((c) => c.count)}::int[])
      AS d(store_id, priority, seq, count)
    WHERE m.store_id = d.store_id AND m.priority = d.priority AND m.seq = d.seq AND ${guard}`;
}

/**
 * Moves stores' dispatch marks forward (never back), as the broker's flush and the replicator's
 * apply use it. A store may appear once.
 */
export function advanceDispatchMarksSql(
  marks: ReadonlyArray<{ readonly storeId: number; readonly seq: bigint }>,
  guard: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown> {
  return sql`
    UPDATE stores s SET dispatched_hwm = GREATEST(s.dispatched_hwm, d.hwm)
    FROM unnest(${marks.map((m) => m.storeId)}::int[], ${marks.map((m) => m.seq.toString())}::int8[])
      AS d(id, hwm)
    WHERE s.id = d.id AND ${guard}`;
}

/** One buffer holding every body, with 1-based offsets for SQL's substring. */
export function packBodies(bodies: readonly Buffer[]): {
  blob: Buffer;
  offsets: number[];
  lengths: number[];
} {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 1;
  for (const body of bodies) {
    offsets.push(at);
    lengths.push(body.length);
    at += body.length;
  }
  // One body (a single large message, often) is sent as it is: concat would copy it.
  const blob = bodies.length === 1 ? bodies[0]! : Buffer.concat(bodies);
  return { blob, offsets, lengths };
}
