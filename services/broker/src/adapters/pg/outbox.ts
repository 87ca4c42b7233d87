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
): Promise<OutboxEvent[]> {
  const rows = await db
    .selectFrom('replication_events')
    .select(['seq', 'created_at_ms', 'payload', 'bodies_in_store'])
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  const slim = rows.filter((r) => r.bodies_in_store).map((r) => decodeEvent(r.payload));
  const whole = new Map<bigint, Uint8Array>();
  if (slim.length > 0) {
    const bodies = await readBodies(db, slim.flatMap(storedRows));
    for (const event of slim)
      whole.set(BigInt(event.sequence), encodeEvent(restore(event, bodies)));
  }
  return rows.map((r) => ({
    seq: r.seq,
    createdAtMs: Number(r.created_at_ms),
    payload: whole.get(r.seq) ?? r.payload,
  }));
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
    SELECT m.store_id, m.priority, m.seq::text AS seq, m.body
    FROM messages m
    JOIN unnest(${rows.map((r) => r.storeId)}::int[], ${rows.map((r) => r.priority)}::smallint[],
                ${rows.map((r) => r.seq)}::int8[]) AS k(store_id, priority, seq)
      ON m.store_id = k.store_id AND m.priority = k.priority AND m.seq = k.seq`.execute(db);
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
