import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { createDb, createPool, migrateToLatest } from './database.js';

describe('store migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('store');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('apply once even when two processes migrate at the same time, and int8 reads as bigint', async () => {
    const pools = [createPool(database.url), createPool(database.url)];
    const dbs = pools.map((pool) => createDb(pool));
    await Promise.all(dbs.map((db) => migrateToLatest(db)));
    const [db] = dbs;
    await db!
      .insertInto('leases')
      .values({ name: 'x', holder: 'h', token: 9007199254740993n, expires_at_ms: 1n })
      .execute();
    const row = await db!.selectFrom('leases').selectAll().executeTakeFirstOrThrow();
    expect(row.token).toBe(9007199254740993n);
    await Promise.all(dbs.map((db) => db.destroy()));
  });
});
