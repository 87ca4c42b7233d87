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
  const rows: Row[] = [
    ...(change.messageSent?.rows ?? []),
    ...(change.transactionCommitted?.sent ?? []),
    ...(change.movedToDeadLetterQueue?.to ? [change.movedToDeadLetterQueue.to] : []),
    ...(change.messageExpired?.deadLetter ? [change.messageExpired.deadLetter] : []),
  ];
  let bytes = 0;
  for (const { body } of rows)
    bytes += typeof body === 'string' ? body.length : (body?.length ?? 0);
  if (bytes < minBodyBytes) return undefined;
  const strip = (row: Row): Row => ({ ...row, body: noBody });
  if (change.messageSent) return { messageSent: { rows: change.messageSent.rows?.map(strip) } };
  if (change.transactionCommitted) {
    const { sent, ...rest } = change.transactionCommitted;
    return { transactionCommitted: { ...rest, sent: sent?.map(strip) } };
  }
  if (change.movedToDeadLetterQueue) {
    const move = change.movedToDeadLetterQueue;
    return { movedToDeadLetterQueue: { ...move, to: strip(move.to!) } };
  }
  const expired = change.messageExpired!;
  return { messageExpired: { ...expired, deadLetter: strip(expired.deadLetter!) } };
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
    messages += storedRows(event).length;
    if (slim.length > 0 && messages > maxMessagesPerRead) {
      end = i;
      break;
    }
    slim.push(event);
  }
  const whole = new Map<bigint, Uint8Array>();
  if (slim.length > 0) {
    const bodies = await readBodies(db, slim.flatMap(storedRows));
    for (const event of slim)
      whole.set(BigInt(event.sequence), encodeEvent(restore(event, bodies)));
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

function storedRows(event: DecodedEvent): StoredRow[] {
  return [
    ...(event.messageSent?.rows ?? []),
    ...(event.transactionCommitted?.sent ?? []),
    ...(event.movedToDeadLetterQueue?.to ? [event.movedToDeadLetterQueue.to] : []),
    ...(event.messageExpired?.deadLetter ? [event.messageExpired.deadLetter] : []),
  ];
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

/** The event with its bodies back, and without the messages that are gone. */
function restore(event: DecodedEvent, bodies: ReadonlyMap<string, Buffer>): DecodedEvent {
  const fill = (row: StoredRow): StoredRow | undefined => {
    const body = bodies.get(keyOf(row));
    return body === undefined ? undefined : { ...row, body };
  };
  const present = (rows: readonly StoredRow[]): StoredRow[] =>
    rows.map(fill).filter((r): r is StoredRow => r !== undefined);
  if (event.messageSent)
    return { ...event, messageSent: { rows: present(event.messageSent.rows) } };
  if (event.transactionCommitted) {
    const committed = event.transactionCommitted;
    return { ...event, transactionCommitted: { ...committed, sent: present(committed.sent) } };
  }
  if (event.movedToDeadLetterQueue?.to) {
    const move = event.movedToDeadLetterQueue;
    return { ...event, movedToDeadLetterQueue: { ...move, to: fill(move.to!) ?? null } };
  }
  if (event.messageExpired?.deadLetter) {
    const expired = event.messageExpired;
    return {
      ...event,
      messageExpired: { ...expired, deadLetter: fill(expired.deadLetter!) ?? null },
    };
  }
  return event;
}
