import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecodedEvent } from '@crdr/replication';
import {
  createDb,
  createPool,
  migrateToLatest,
  sql,
  type Database,
  type Kysely,
  type Pool,
} from '@crdr/store';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { EventFactory, key, stored, type Change } from '../replication-log.test-helper.js';
import { applyEvents } from './event-applier.js';

let database: TestDatabase;
let pool: Pool;
let db: Kysely<Database>;
let events: EventFactory;

beforeAll(async () => {
  database = await createTestDatabase('replicator_apply');
  pool = createPool(database.url, { max: 2 });
  db = createDb(pool);
  await migrateToLatest(db);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

beforeEach(async () => {
  await sql`TRUNCATE destinations, stores, messages, users CASCADE`.execute(db);
  events = new EventFactory('primary');
});

const apply = (...changes: Change[]): Promise<unknown> =>
  applyDecoded(changes.map((c) => events.decoded(c)));
const applyDecoded = (decoded: DecodedEvent[]) =>
  db.transaction().execute((trx) => applyEvents(trx, decoded));

const messages = async () =>
  (
    await db
      .selectFrom('messages')
      .select([
        'store_id',
        'priority',
        'seq',
        'message_id',
        'redelivery_count',
        'body',
        'headers',
        'expires_at_ms',
      ])
      .orderBy('store_id')
      .orderBy('seq')
      .execute()
  ).map((m) => ({ ...m, body: m.body.toString() }));

const queue = (destinationId: number, storeId: number, name = `Q${destinationId}`): Change => ({
  destinationCreated: {
    destinationId,
    kind: 'queue',
    name,
    createdAtMs: '1764000000000',
    queueStoreId: storeId,
  },
});

describe('applyEvents', () => {
  it('creates a queue and its store with the primary ids, idempotently', async () => {
    await apply(queue(7, 11), queue(7, 11));
    await apply(queue(7, 11));
    expect(await db.selectFrom('destinations').selectAll().execute()).toEqual([
      { id: 7, kind: 'queue', name: 'Q7', created_at_ms: 1764000000000n },
    ]);
    expect(
      await db.selectFrom('stores').select(['id', 'destination_id', 'kind']).execute(),
    ).toEqual([{ id: 11, destination_id: 7, kind: 'queue' }]);
  });

  it('refuses a destination id that names another destination on the replica', async () => {
    await apply(queue(7, 11, 'A'));
    await expect(apply(queue(7, 11, 'B'))).rejects.toThrow(
      /queue "A" on the replica but queue "B"/,
    );
  });

  it('creates a topic without a store', async () => {
    await apply({
      destinationCreated: { destinationId: 3, kind: 'topic', name: 'T', createdAtMs: '1' },
    });
    expect(await db.selectFrom('destinations').select(['id', 'kind']).execute()).toEqual([
      { id: 3, kind: 'topic' },
    ]);
    expect(await db.selectFrom('stores').selectAll().execute()).toEqual([]);
  });

  it('inserts sent messages with their keys, headers, bodies and expiry', async () => {
    await apply(queue(1, 1), {
      messageSent: {
        rows: [
          stored({
            storeId: 1,
            seq: 5,
            priority: 9,
            headers: { a: 'b:c\nd' },
            body: Buffer.from([0, 255, 1]),
          }),
          stored({ storeId: 1, seq: 6, expiresAtMs: 1_900_000_000_000 }),
        ],
      },
    });
    const rows = await db.selectFrom('messages').selectAll().orderBy('seq').execute();
    expect(rows.map((r) => [r.priority, r.seq, r.headers, [...r.body], r.expires_at_ms])).toEqual([
      [9, 5n, { a: 'b:c\nd' }, [0, 255, 1], null],
      [4, 6n, { persistent: 'true' }, [...Buffer.from('body-6')], 1_900_000_000_000n],
    ]);
  });

  it('removes acknowledged messages and sets redelivery counts', async () => {
    await apply(queue(1, 1), {
      messageSent: { rows: [1, 2, 3].map((seq) => stored({ storeId: 1, seq })) },
    });
    await apply(
      { messageAcknowledged: { keys: [key(1, 1)] } },
      { redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 2 }] } },
      { redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 3 }] } },
    );
    expect((await messages()).map((m) => [m.seq, m.redelivery_count])).toEqual([
      [2n, 3],
      [3n, 0],
    ]);
  });

  it('never lowers a redelivery count, as the primary does, across batches and within one', async () => {
    // The primary records counts with GREATEST (the statement both sides share): a lower count
    // arriving later leaves the higher one. The replica once set it (= d.count) and diverged.
    await apply(queue(1, 1), {
      messageSent: {
        rows: [stored({ storeId: 1, seq: 1, redeliveryCount: 4 }), stored({ storeId: 1, seq: 2 })],
      },
    });
    await apply({ redeliveryCountChanged: { counts: [{ key: key(1, 1), count: 2 }] } });
    await apply(
      { redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 5 }] } },
      { redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 3 }] } },
    );
    expect((await messages()).map((m) => [m.seq, m.redelivery_count])).toEqual([
      [1n, 4],
      [2n, 5],
    ]);
  });

  it('writes nothing for messages sent and consumed within one batch, and the rest as sent', async () => {
    await apply(
      queue(1, 1),
      { messageSent: { rows: [stored({ storeId: 1, seq: 1 })] } },
      { messageSent: { rows: [stored({ storeId: 1, seq: 2 })] } },
      { redeliveryCountChanged: { counts: [{ key: key(1, 1), count: 1 }] } },
      { messageAcknowledged: { keys: [key(1, 1)] } },
      { redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 4 }] } },
    );
    expect((await messages()).map((m) => [m.seq, m.redelivery_count])).toEqual([[2n, 4]]);
  });

  it('moves a message to the dead letter queue', async () => {
    await apply(queue(1, 1), queue(2, 2, 'ActiveMQ.DLQ'), {
      messageSent: { rows: [stored({ storeId: 1, seq: 1 })] },
    });
    await apply({
      movedToDeadLetterQueue: {
        from: key(1, 1),
        to: stored({ storeId: 2, seq: 9, destination: '/queue/ActiveMQ.DLQ', redeliveryCount: 6 }),
        cause: 'poison',
      },
    });
    expect((await messages()).map((m) => [m.store_id, m.seq, m.redelivery_count])).toEqual([
      [2, 9n, 6],
    ]);
  });

  it('expires a message, into the dead letter queue when one is given', async () => {
    await apply(queue(1, 1), queue(2, 2, 'ActiveMQ.DLQ'), {
      messageSent: { rows: [stored({ storeId: 1, seq: 1 }), stored({ storeId: 1, seq: 2 })] },
    });
    await apply(
      { messageExpired: { key: key(1, 1) } },
      { messageExpired: { key: key(1, 2), deadLetter: stored({ storeId: 2, seq: 3 }) } },
    );
    expect((await messages()).map((m) => [m.store_id, m.seq])).toEqual([[2, 3n]]);
  });

  it('purges the named stores except the messages kept in flight', async () => {
    await apply(queue(1, 1), queue(2, 2), {
      messageSent: {
        rows: [
          stored({ storeId: 1, seq: 1 }),
          stored({ storeId: 1, seq: 2 }),
          stored({ storeId: 1, seq: 3, priority: 9 }),
          stored({ storeId: 2, seq: 4 }),
        ],
      },
    });
    await apply({ destinationPurged: { destinationId: 1, storeIds: [1], kept: [key(1, 2)] } });
    expect((await messages()).map((m) => [m.store_id, m.seq])).toEqual([
      [1, 2n],
      [2, 4n],
    ]);
    await apply({ destinationPurged: { destinationId: 2, storeIds: [2], kept: [] } });
    expect((await messages()).map((m) => m.seq)).toEqual([2n]);
  });

  it('keeps the order around a purge: sends before it go, sends after it stay', async () => {
    await apply(
      queue(1, 1),
      { messageSent: { rows: [stored({ storeId: 1, seq: 1 })] } },
      { destinationPurged: { destinationId: 1, storeIds: [1], kept: [] } },
      { messageSent: { rows: [stored({ storeId: 1, seq: 2 })] } },
    );
    expect((await messages()).map((m) => m.seq)).toEqual([2n]);
  });

  it('adds and removes durable subscriptions with their messages', async () => {
    await apply(
      { destinationCreated: { destinationId: 5, kind: 'topic', name: 'T', createdAtMs: '1' } },
      {
        durableSubscriptionAdded: {
          storeId: 20,
          destinationId: 5,
          clientId: 'c1',
          subscriptionName: 's1',
          createdAtMs: '2',
        },
      },
      { messageSent: { rows: [stored({ storeId: 20, seq: 1, destination: '/topic/T' })] } },
    );
    expect(
      await db
        .selectFrom('stores')
        .select(['id', 'kind', 'client_id', 'subscription_name'])
        .execute(),
    ).toEqual([{ id: 20, kind: 'durable', client_id: 'c1', subscription_name: 's1' }]);
    await apply({ durableSubscriptionRemoved: { storeId: 20 } });
    expect(await db.selectFrom('stores').selectAll().execute()).toEqual([]);
    expect(await messages()).toEqual([]);
  });

  it('deletes a destination with its stores and messages', async () => {
    await apply(
      queue(1, 1),
      queue(2, 2),
      {
        messageSent: {
          rows: [stored({ storeId: 1, seq: 1 }), stored({ storeId: 2, seq: 2 })],
        },
      },
      { destinationDeleted: { destinationId: 1 } },
    );
    expect(await db.selectFrom('destinations').select('id').execute()).toEqual([{ id: 2 }]);
    expect(await db.selectFrom('stores').select('id').execute()).toEqual([{ id: 2 }]);
    expect((await messages()).map((m) => m.store_id)).toEqual([2]);
  });

  it('applies a committed transaction as one group', async () => {
    await apply(queue(1, 1), { messageSent: { rows: [stored({ storeId: 1, seq: 1 })] } });
    await apply({
      transactionCommitted: {
        sent: [stored({ storeId: 1, seq: 2 }), stored({ storeId: 1, seq: 3 })],
        acknowledged: [key(1, 1)],
      },
    });
    expect((await messages()).map((m) => m.seq)).toEqual([2n, 3n]);
  });

  it('upserts users by name with the hash as it is, and deletes them', async () => {
    const user = {
      username: 'alice',
      passwordHash: 'scrypt$16384$8$1$salt$hash',
      groups: ['admins', 'ops'],
      consoleAccess: true,
      replicationUser: false,
      createdAtMs: '10',
    };
    await apply({ usersChanged: { upserted: [user, { ...user, username: 'bob', groups: [] }] } });
    await apply({
      usersChanged: {
        upserted: [{ ...user, passwordHash: 'scrypt$new', groups: ['ops'] }],
        deleted: ['bob'],
      },
    });
    expect(await db.selectFrom('users').selectAll().execute()).toEqual([
      {
        username: 'alice',
        password_hash: 'scrypt$new',
        groups: ['ops'],
        console_access: true,
        replication_user: false,
        created_at_ms: 10n,
      },
    ]);
  });

  it('raises dispatch marks and never lowers them', async () => {
    await apply(queue(1, 1), queue(2, 2), {
      dispatchMarkAdvanced: {
        marks: [
          { storeId: 1, seq: '50' },
          { storeId: 2, seq: '7' },
        ],
      },
    });
    await apply({ dispatchMarkAdvanced: { marks: [{ storeId: 1, seq: '40' }] } });
    expect(
      await db.selectFrom('stores').select(['id', 'dispatched_hwm']).orderBy('id').execute(),
    ).toEqual([
      { id: 1, dispatched_hwm: 50n },
      { id: 2, dispatched_hwm: 7n },
    ]);
  });

  it('changes nothing for heartbeats and switchover markers', async () => {
    const stats = await apply(
      { heartbeat: {} },
      { switchoverMarker: { promotionId: 'p', nextEpoch: '2' } },
    );
    expect(stats).toEqual({ statements: 0, inserted: 0, removed: 0 });
  });

  it('batches consecutive sends and acknowledgements into single statements', async () => {
    await apply(queue(1, 1));
    const changes: Change[] = [];
    for (let seq = 1; seq <= 300; seq++)
      changes.push({ messageSent: { rows: [stored({ storeId: 1, seq })] } });
    for (let seq = 1; seq <= 100; seq++)
      changes.push({ messageAcknowledged: { keys: [key(1, seq)] } });
    const stats = await apply(...changes);
    expect(stats).toEqual({ statements: 1, inserted: 200, removed: 0 });
    const more: Change[] = [];
    for (let seq = 101; seq <= 150; seq++)
      more.push({ messageAcknowledged: { keys: [key(1, seq)] } });
    expect(await apply(...more)).toEqual({ statements: 1, inserted: 0, removed: 50 });
    expect(
      await db
        .selectFrom('messages')
        .select(sql<number>`count(*)::int`.as('n'))
        .executeTakeFirst(),
    ).toEqual({ n: 150 });
  });
});
