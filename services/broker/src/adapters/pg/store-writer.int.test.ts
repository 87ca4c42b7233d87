import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDb,
  createPool,
  migrateToLatest,
  sql,
  type Database,
  type Kysely,
} from '@crdr/store';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { decodeEvent } from '@crdr/replication';
import { readOutbox } from './outbox.js';
import { createStoreWriter, type NewMessage } from './store-writer.js';

const message = (i: number): NewMessage => ({
  storeId: 1,
  priority: 4,
  messageId: `ID:m-${i}`,
  destination: '/queue/q',
  headers: { n: String(i) },
  body: Buffer.from([i, 0, 255]),
  expiresAtMs: 0,
  enqueuedAtMs: 1_000 + i,
  redeliveryCount: 0,
});

describe('store writer: the replication outbox', () => {
  let database: TestDatabase;
  let db: Kysely<Database>;

  beforeAll(async () => {
    database = await createTestDatabase('writer');
    db = createDb(createPool(database.url));
    await migrateToLatest(db);
    await sql`INSERT INTO destinations (id, kind, name, created_at_ms) VALUES (1, 'queue', 'q', 0)`.execute(
      db,
    );
    await sql`INSERT INTO stores (id, destination_id, kind, created_at_ms) VALUES (1, 1, 'queue', 0)`.execute(
      db,
    );
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const events = async () =>
    (
      await db.selectFrom('replication_events').select(['seq', 'payload']).orderBy('seq').execute()
    ).map((r) => ({
      seq: r.seq,
      event: decodeEvent(r.payload),
    }));

  it('writes each change with its event, merges like units of one flush, and stays gap-free after a failed flush', async () => {
    let fenced = true;
    const writer = createStoreWriter({
      db,
      lastSeq: 0n,
      replication: () => ({ brokerId: 'b1', epoch: 3n }),
      fence: () => (fenced ? { name: 'lease', holder: 'me', token: 1n } : undefined),
    });
    await sql`INSERT INTO leases (name, holder, token, expires_at_ms) VALUES ('lease', 'me', 1, 0)`.execute(
      db,
    );

    // Three sends submitted together commit in one flush: one messageSent event with 3 rows.
    const first = [message(1), message(2), message(3)];
    // Hold the writer busy so that the three wait and go out as one group.
    const busy = writer.run(() => new Promise((resolve) => setTimeout(resolve, 50)));
    await Promise.all([busy, ...first.map((m) => writer.write({ inserts: [m] }))]);
    // The fence refuses: nothing is written and the sequence handed out is given back.
    fenced = false;
    await expect(writer.write({ inserts: [message(4)] })).rejects.toThrow(/lease not held/);
    fenced = true;
    await writer.write({ deletes: [{ storeId: 1, priority: 4, seq: first[0]!.seq! }] });

    const log = await events();
    expect(log.map((e) => e.seq)).toEqual([1n, 2n]);
    expect(log[0]!.event.change).toBe('messageSent');
    expect(log[0]!.event.messageSent!.rows.map((r) => r.messageId).sort()).toEqual([
      'ID:m-1',
      'ID:m-2',
      'ID:m-3',
    ]);
    expect(log[0]!.event.epoch).toBe('3');
    expect(log[1]!.event.change).toBe('messageAcknowledged');
    expect(log[1]!.event.messageAcknowledged!.keys).toEqual([
      { storeId: 1, priority: 4, seq: String(first[0]!.seq) },
    ]);
    const rows = await db.selectFrom('messages').select('message_id').orderBy('seq').execute();
    expect(rows.map((r) => r.message_id)).toEqual(['ID:m-2', 'ID:m-3']);
    const { last_seq } = await db
      .selectFrom('replication_log')
      .select('last_seq')
      .executeTakeFirstOrThrow();
    expect(last_seq).toBe(2n);
    await writer.close();
  });

  it('stores a SEND without its bodies, which the relay reads back from the messages table', async () => {
    await sql`DELETE FROM replication_events`.execute(db);
    await sql`DELETE FROM messages`.execute(db);
    const writer = createStoreWriter({
      db,
      lastSeq: 100n,
      lastEventSeq: 10n,
      replication: () => ({ brokerId: 'b1', epoch: 3n }),
    });
    const big = (i: number): NewMessage => ({ ...message(i), body: Buffer.alloc(300, i) });
    const sent = [big(1), big(2)];
    await writer.write({ inserts: sent });
    await writer.write({ inserts: [message(3)] }); // 3 body bytes: stored whole
    await writer.write({ deletes: [{ storeId: 1, priority: 4, seq: sent[0]!.seq! }] });

    const stored = await db
      .selectFrom('replication_events')
      .select(['seq', 'payload', 'bodies_in_store'])
      .orderBy('seq')
      .execute();
    expect(stored.map((r) => r.bodies_in_store)).toEqual([true, false, false]);
    expect(stored[0]!.payload.length).toBeLessThan(300);
    expect(decodeEvent(stored[0]!.payload).messageSent!.rows.map((r) => r.body.length)).toEqual([
      0, 0,
    ]);

    // Read back whole; the message consumed by event 13 is left out of event 11.
    const { events: outbox, truncated } = await readOutbox(db, 10n, 100);
    expect(truncated).toBe(false);
    expect(outbox.map((e) => e.seq)).toEqual([11n, 12n, 13n]);
    const first = decodeEvent(outbox[0]!.payload);
    expect(first.sequence).toBe('11');
    expect(first.epoch).toBe('3');
    expect(first.messageSent!.rows.map((r) => [r.messageId, Buffer.from(r.body)])).toEqual([
      ['ID:m-2', Buffer.alloc(300, 2)],
    ]);
    expect(first.messageSent!.rows[0]!.headers).toEqual({ n: '2' });
    expect(decodeEvent(outbox[1]!.payload).messageSent!.rows[0]!.body).toEqual(
      Buffer.from([3, 0, 255]),
    );
    expect(Buffer.from(outbox[2]!.payload)).toEqual(stored[2]!.payload);
    await writer.close();
  });
});
