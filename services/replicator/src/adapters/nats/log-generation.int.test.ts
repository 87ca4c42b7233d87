import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, sql, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, waitFor } from '@crdr/testing';
import { TestLog, stored, uniqueBrokerIds, type Change } from '../replication-log.test-helper.js';
import {
  messageCount,
  openReplicaDb,
  startReplicator,
  waitForApplied,
  waitForState,
} from '../replicator.test-helper.js';

// A replica following a log that starts over (issue 4, item 5): a promotion reverses the roles
// or a primary restarts its log, and the new generation opens with or without a snapshot.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const logStarted = (generation: number, snapshot: boolean): Change => ({
  logStarted: { generation: String(generation), snapshot },
});
const queue = (id: number, name: string): Change => ({
  destinationCreated: {
    destinationId: id,
    kind: 'queue',
    name,
    createdAtMs: '1',
    queueStoreId: id,
  },
});
const sent = (storeId: number, ...seqs: number[]): Change => ({
  messageSent: { rows: seqs.map((seq) => stored({ storeId, seq })) },
});

async function prepare(prefix: string): Promise<{
  ids: { primary: string; replica: string };
  url: string;
  db: Kysely<Database>;
}> {
  const ids = uniqueBrokerIds(prefix);
  const database = await createTestDatabase('replicator_generation');
  const db = openReplicaDb(database.url);
  await migrateToLatest(db);
  cleanups.push(
    () => database.drop(),
    () => db.destroy(),
  );
  return { ids, url: database.url, db };
}

async function openLog(primary: string, replica: string): Promise<TestLog> {
  const log = await TestLog.create(primary);
  await log.provision(replica);
  cleanups.push(() => log.close());
  return log;
}

const names = async (db: Kysely<Database>): Promise<string[]> =>
  (await db.selectFrom('destinations').select('name').orderBy('name').execute()).map((r) => r.name);

describe('a new log generation', () => {
  it('given a store that applied generation 1, when generation 2 opens with a snapshot, then the store is replaced by it', async () => {
    const { ids, url, db } = await prepare('gen-snap');
    const first = await openLog(ids.primary, ids.replica);
    await first.publishMany([logStarted(1, true), queue(1, 'Old'), sent(1, 1, 2, 3)]);
    const replicator = await startReplicator(ids, url);
    await waitForApplied(replicator, 3n);
    expect(replicator.server.status().appliedGeneration).toBe(1n);
    await replicator.stop();

    // The primary starts a new log: a new stream from sequence 1.
    await first.close();
    const second = await openLog(ids.primary, ids.replica);
    await second.publishMany([logStarted(2, true), queue(2, 'New'), sent(2, 10)]);
    const again = await startReplicator(ids, url);
    cleanups.push(() => again.stop());
    await waitFor(
      () => {
        const status = again.server.status();
        if (status.state === 'FAILED') throw new Error(status.error);
        return status.appliedGeneration === 2n && status.appliedSequence === 3n;
      },
      'generation 2 applied',
      30_000,
    );
    expect(await names(db)).toEqual(['New']);
    expect(await messageCount(db)).toBe(1);
    const row = await db.selectFrom('replication_applied').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source_generation: 2n, applied_seq: 3n });
  });

  it('given an identical store, when a log opens empty, then it is followed from its start and nothing is cleared', async () => {
    const { ids, url, db } = await prepare('gen-empty');
    const first = await openLog(ids.primary, ids.replica);
    await first.publishMany([logStarted(1, true), queue(1, 'Kept'), sent(1, 1, 2)]);
    const replicator = await startReplicator(ids, url);
    cleanups.push(() => replicator.stop());
    await waitForApplied(replicator, 3n);
    await replicator.stop();

    await first.close();
    const second = await openLog(ids.primary, ids.replica);
    await second.publishMany([logStarted(2, false), sent(1, 3)]);
    const again = await startReplicator(ids, url);
    cleanups.push(() => again.stop());
    await waitFor(
      () =>
        again.server.status().appliedGeneration === 2n &&
        again.server.status().appliedSequence === 2n,
      'generation 2 applied',
      30_000,
    );
    expect(await names(db)).toEqual(['Kept']);
    expect(await messageCount(db)).toBe(3);
  });

  it('stops, applying nothing, once the replica broker was promoted', async () => {
    const { ids, url, db } = await prepare('gen-promoted');
    const log = await openLog(ids.primary, ids.replica);
    await log.publishMany([logStarted(1, true), queue(1, 'Q')]);
    const replicator = await startReplicator(ids, url);
    cleanups.push(() => replicator.stop());
    await waitForApplied(replicator, 2n);
    await sql`
      INSERT INTO broker_meta (id, broker_id, role, epoch, data_replication_mode, updated_at_ms)
      VALUES (1, ${ids.replica}, 'PRIMARY', 2, 'CRDR', 0)`.execute(db);
    await log.publish(sent(1, 1));
    const status = await waitForState(replicator, 'FAILED');
    expect(status.error).toContain('promoted');
    expect(await messageCount(db)).toBe(0);
  });
});
