import type { replicationV1 } from '@crdr/proto';
import { decodeEvent, encodeEvent, type DecodedEvent } from '@crdr/replication';
import { sql, type Database, type Kysely } from '@crdr/store';
import type { ReplicatedChange } from './store-writer.js';

/** An event of the outbox, whole again: ready to publish or to read back. */
export interface OutboxEvent {
  readonly seq: bigint;
  readonly createdAtMs: number;
  readonly payload: Uint8Array;
}

/** Below this many body bytes an event is stored whole: leaving them out would save nothing. */
const minBodyBytes = 256;

const noBody = Buffer.alloc(0);

/** Messages whose bodies one read back fetches, at most (past the first event). */
const maxMessagesPerRead = 5000;
/** Bytes of stored events one read back fetches, at most (past the first event). */
const maxBytesPerRead = 4 * 1024 * 1024;

type Row = replicationV1.StoredMessage;

/**
 * The change as the outbox stores it: its messages without their bodies, which the messages
 * table holds (the same rows, written in the same statement). Undefined: stored whole.
 */
export function withoutBodies(change: ReplicatedChange): ReplicatedChange | undefined {
  let bytes = 0;
  for (const { body } of rowsOf<Row>(change))
    bytes += typeof body === 'string' ? body.length : (body?.length ?? 0);
  if (bytes < minBodyBytes) return undefined;
  return mapRows<ReplicatedChange, Row>(change, (row) => ({ ...row, body: noBody }));
}

/**
 * The outbox's events after `afterSeq`, in order, with the bodies left out put back from the
 * messages table. A message no longer there was removed by a later event of this log (the log
 * is in commit order, and a message is removed after it is written), which is also unpublished:
 * it is left out of its event, and the replica ends in the same state as the primary.
 */
export async function readOutbox(
  db: Kysely<Database>,
  afterSeq: bigint,
  limit: number,
): Promise<{
  readonly events: OutboxEvent[];
  /** Fewer events than there are, to keep a read within its budgets: more follow at once. */
  readonly truncated: boolean;
}> {
  // Up to `limit` events, and past the first one no more than a few megabytes of them: the
  // payloads of the rest stay in the database, their rows say that more follow.
  const { rows: read } = await sql<{
    seq: bigint;
    created_at_ms: bigint;
    payload: Buffer | null;
    bodies_in_store: boolean;
  }>`
    SELECT seq, created_at_ms, bodies_in_store,
           CASE WHEN before < ${maxBytesPerRead} THEN payload END AS payload
    FROM (
      SELECT seq, created_at_ms, payload, bodies_in_store,
             sum(octet_length(payload)) OVER (ORDER BY seq) - octet_length(payload) AS before
      FROM replication_events WHERE seq > ${afterSeq.toString()}::int8
      ORDER BY seq LIMIT ${limit}) AS e
    ORDER BY seq`.execute(db);
  const rows: Array<(typeof read)[number] & { payload: Buffer }> = [];
  for (const r of read) {
    if (r.payload === null) break;
    rows.push({ ...r, payload: r.payload });
  }
  // The bodies of a few thousand messages at a time: a snapshot's events hold 500 each.
  const slim: DecodedEvent[] = [];
  let messages = 0;
  let end = rows.length;
  for (let i = 0; i < rows.length; i++) {
    if (!rows[i]!.bodies_in_store) continue;
    const event = decodeEvent(rows[i]!.payload);
    messages += rowsOf<StoredRow>(event).length;
    if (slim.length > 0 && messages > maxMessagesPerRead) {
      end = i;
      break;
    }
    slim.push(event);
  }
  const whole = new Map<bigint, Uint8Array>();
  if (slim.length > 0) {
    const bodies = await readBodies(
      db,
      slim.flatMap((event) => rowsOf<StoredRow>(event)),
    );
    // The bodies back, and the messages that are gone left out.
    const fill = (row: StoredRow): StoredRow | undefined => {
      const body = bodies.get(keyOf(row));
      return body === undefined ? undefined : { ...row, body };
    };
    for (const event of slim)
      whole.set(BigInt(event.sequence), encodeEvent(mapRows<DecodedEvent, StoredRow>(event, fill)));
  }
  const events = rows.slice(0, end).map((r) => ({
    seq: r.seq,
    createdAtMs: Number(r.created_at_ms),
    payload: whole.get(r.seq) ?? r.payload,
  }));
  return { events, truncated: end < read.length };
}

type StoredRow = NonNullable<DecodedEvent['messageSent']>['rows'][number];

const keyOf = (row: { storeId: number; priority: number; seq: string }): string =>
  `${row.storeId}/${row.priority}/${row.seq}`;

/** Where the messages of an event are, alike in a change to write and in a decoded event. */
interface WithMessageRows<R> {
  readonly messageSent?: { readonly rows?: R[] | null } | null;
  readonly transactionCommitted?: { readonly sent?: R[] | null } | null;
  readonly movedToDeadLetterQueue?: { readonly to?: R | null } | null;
  readonly messageExpired?: { readonly deadLetter?: R | null } | null;
}

function rowsOf<R>(c: WithMessageRows<R>): R[] {
  return [
    ...(c.messageSent?.rows ?? []),
    ...(c.transactionCommitted?.sent ?? []),
    ...(c.movedToDeadLetterQueue?.to ? [c.movedToDeadLetterQueue.to] : []),
    ...(c.messageExpired?.deadLetter ? [c.messageExpired.deadLetter] : []),
  ];
}

/** `c` with each message row replaced by `f(row)`, or left out where that is undefined. */
function mapRows<C extends WithMessageRows<R>, R>(c: C, f: (row: R) => R | undefined): C {
  const all = (rows: R[] | null | undefined): R[] =>
    (rows ?? []).map(f).filter((r): r is R => r !== undefined);
  const one = (row: R | null | undefined): R | null => (row ? (f(row) ?? null) : null);
  if (c.messageSent)
    return { ...c, messageSent: { ...c.messageSent, rows: all(c.messageSent.rows) } };
  if (c.transactionCommitted) {
    const committed = c.transactionCommitted;
    return { ...c, transactionCommitted: { ...committed, sent: all(committed.sent) } };
  }
  if (c.movedToDeadLetterQueue?.to) {
    const move = c.movedToDeadLetterQueue;
    return { ...c, movedToDeadLetterQueue: { ...move, to: one(move.to) } };
  }
  if (c.messageExpired?.deadLetter) {
    const expired = c.messageExpired;
    return { ...c, messageExpired: { ...expired, deadLetter: one(expired.deadLetter) } };
  }
  return c;
}

async function readBodies(
  db: Kysely<Database>,
  rows: readonly StoredRow[],
): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  if (rows.length === 0) return bodies;
  const { rows: found } = await sql<{
    store_id: number;
    priority: number;
    seq: string;
    body: Buffer;
  }>`
    SELECT k.store_id, k.priority, k.seq::text AS seq, m.body
    FROM unnest(${rows.map((r) => r.storeId)}::int[], ${rows.map((r) => r.priority)}::smallint[],
                ${rows.map((r) => r.seq)}::int8[]) AS k(store_id, priority, seq)
    -- One primary-key lookup per message, never a scan of the whole table.
    CROSS JOIN LATERAL (
      SELECT body FROM messages
      WHERE store_id = k.store_id AND priority = k.priority AND seq = k.seq) AS m`.execute(db);
  for (const f of found)
    bodies.set(keyOf({ storeId: f.store_id, priority: f.priority, seq: f.seq }), f.body);
  return bodies;
}
