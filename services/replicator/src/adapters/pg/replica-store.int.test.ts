import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import type { AppliedRecord } from '../../domain/replicator-state.js';
import { EventFactory, key, stored, type Change } from '../replication-log.test-helper.js';
import { openReplicaDb } from '../replicator.test-helper.js';
import { createReplicaStore, type ReplicaStore } from './replica-store.js';

let database: TestDatabase;
let stores: ReplicaStore[];
let db: Kysely<Database>;

beforeAll(async () => {
  database = await createTestDatabase('replicator_store');
  stores = [createReplicaStore({ url: database.url }), createReplicaStore({ url: database.url })];
  await stores[0]!.prepare();
  db = openReplicaDb(database.url);
});

afterAll(async () => {
  for (const store of stores) await store.close();
  await db.destroy();
  await database.drop();
});

let events: EventFactory;
beforeEach(async () => {
  await sql`TRUNCATE destinations, stores, messages, users, replication_applied CASCADE`.execute(
    db,
  );
  events = new EventFactory('p1');
});

const at = (sequence: number): AppliedRecord => ({
  sourceBrokerId: 'p1',
  sequence: BigInt(sequence),
  epoch: 1n,
  lastCreatedAtMs: 1000 + sequence,
  lastAppliedAtMs: 2000 + sequence,
});
const batch = (...changes: Change[]) => changes.map((c) => events.decoded(c));
const queue: Change = {
  destinationCreated: {
    destinationId: 1,
    kind: 'queue',
    name: 'Q',
    createdAtMs: '1',
    queueStoreId: 1,
  },
};
const sends = (from: number, count: number): Change[] =>
  Array.from({ length: count }, (_, i) => ({
    messageSent: { rows: [stored({ storeId: 1, seq: from + i })] },
  }));
const count = async () =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages`.execute(db)).rows[0]!.n;

describe('ReplicaStore', () => {
  it('applies a batch of message changes as one statement, with the position', async () => {
    const store = stores[0]!;
    await store.apply(batch(queue), undefined, at(1));
    const stats = await store.apply(
      batch(...sends(1, 50), { messageAcknowledged: { keys: [key(1, 1)] } }),
      at(1),
      at(52),
    );
    expect(stats).toEqual({ statements: 1, inserted: 49, removed: 0 });
    expect(await count()).toBe(49);
    expect(await store.load()).toEqual(at(52));
    const next = await store.apply(
      batch({ messageAcknowledged: { keys: [key(1, 2)] } }),
      at(52),
      at(53),
    );
    expect(next).toEqual({ statements: 1, inserted: 0, removed: 1 });
    expect(await count()).toBe(48);
  });

  it('moves the position for a batch that changes nothing (heartbeats)', async () => {
    await stores[0]!.apply(batch({ heartbeat: {} }, { heartbeat: {} }), undefined, at(2));
    expect(await stores[0]!.load()).toEqual(at(2));
  });

  it('refuses to apply from a position that moved, changing nothing', async () => {
    const store = stores[0]!;
    await store.apply(batch(queue, ...sends(1, 3)), undefined, at(4));
    await expect(store.apply(batch(...sends(4, 2)), at(2), at(6))).rejects.toMatchObject({
      code: 'Conflict',
      details: { reason: 'position-moved' },
    });
    await expect(store.apply(batch(queue), undefined, at(1))).rejects.toMatchObject({
      details: { reason: 'position-moved' },
    });
    expect(await count()).toBe(3);
    expect(await store.load()).toEqual(at(4));
  });

  it.each([
    ['one statement', (): Change[] => sends(10, 20)],
    [
      'a transaction',
      (): Change[] => [...sends(10, 20), { usersChanged: { deleted: ['nobody'] } }],
    ],
  ])('lets exactly one of two racing replicators apply a batch (%s)', async (_name, changes) => {
    await stores[0]!.apply(batch(queue), undefined, at(1));
    const decoded = batch(...changes());
    const to = at(1 + decoded.length);
    const results = await Promise.allSettled([
      stores[0]!.apply(decoded, at(1), to),
      stores[1]!.apply(decoded, at(1), to),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ details: { reason: 'position-moved' } });
    expect(await count()).toBe(20);
  });

  it('removes and sends again the same key within one batch (through a transaction)', async () => {
    const store = stores[0]!;
    await store.apply(batch(queue, ...sends(1, 1)), undefined, at(2));
    const stats = await store.apply(
      batch(
        { messageAcknowledged: { keys: [key(1, 1)] } },
        { messageSent: { rows: [stored({ storeId: 1, seq: 1, body: 'again' })] } },
      ),
      at(2),
      at(4),
    );
    expect(stats.statements).toBeGreaterThan(1);
    const rows = await db.selectFrom('messages').select('body').execute();
    expect(rows.map((r) => r.body.toString())).toEqual(['again']);
  });

  it('reports a diverged store as apply-rejected', async () => {
    const store = stores[0]!;
    await store.apply(batch(queue), undefined, at(1));
    await expect(
      store.apply(
        batch({
          destinationCreated: {
            destinationId: 1,
            kind: 'queue',
            name: 'Other',
            createdAtMs: '1',
            queueStoreId: 1,
          },
        }),
        at(1),
        at(2),
      ),
    ).rejects.toMatchObject({ code: 'FailedPrecondition', details: { reason: 'apply-rejected' } });
    await expect(
      store.apply(batch(...sends(1, 1), ...sends(1, 1)), at(1), at(3)),
    ).rejects.toMatchObject({ details: { reason: 'apply-rejected' } });
    expect(await store.load()).toEqual(at(1));
  });
});
