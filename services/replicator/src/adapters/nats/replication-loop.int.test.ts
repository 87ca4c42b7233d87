import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { encodeEvent, replicationConsumerName, replicationStreamName } from '@crdr/replication';
import { migrateToLatest, sql, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, waitFor, type TestDatabase } from '@crdr/testing';
import {
  TestLog,
  key,
  localNatsUrl,
  stored,
  uniqueBrokerIds,
  type Change,
} from '../replication-log.test-helper.js';
import {
  messageCount,
  openReplicaDb,
  startReplicator,
  waitForApplied,
  waitForState,
  type InProcessReplicator,
} from '../replicator.test-helper.js';
import { createJetStreamPuller } from './jetstream-puller.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

interface Fixture {
  ids: { primary: string; replica: string };
  log: TestLog;
  database: TestDatabase;
  db: Kysely<Database>;
  start(env?: Record<string, string>): Promise<InProcessReplicator>;
}

async function fixture(prefix: string): Promise<Fixture> {
  const ids = uniqueBrokerIds(prefix);
  const log = await TestLog.create(ids.primary);
  const database = await createTestDatabase('replicator_loop');
  const db = openReplicaDb(database.url);
  await migrateToLatest(db);
  cleanups.push(
    () => log.close(),
    () => database.drop(),
    () => db.destroy(),
  );
  return {
    ids,
    log,
    database,
    db,
    async start(env) {
      const replicator = await startReplicator(ids, database.url, env);
      cleanups.push(() => replicator.stop());
      return replicator;
    },
  };
}

const queue = (destinationId: number, storeId: number): Change => ({
  destinationCreated: {
    destinationId,
    kind: 'queue',
    name: `Q${destinationId}`,
    createdAtMs: '1',
    queueStoreId: storeId,
  },
});

const appliedRow = async (db: Kysely<Database>) =>
  db.selectFrom('replication_applied').selectAll().executeTakeFirst();

describe('replication loop (real NATS and Postgres)', () => {
  let sharedNc: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    sharedNc = await connect({ servers: localNatsUrl });
  });
  afterAll(async () => {
    await sharedNc.close();
  });

  it('creates its consumer when allowed, applies every change and reports TC, TP and pending', async () => {
    const f = await fixture('all');
    const before = Date.now();
    await f.log.publish(queue(1, 1));
    await f.log.publish({
      messageSent: { rows: [1, 2, 3].map((seq) => stored({ storeId: 1, seq })) },
    });
    await f.log.publish({ messageAcknowledged: { keys: [key(1, 1)] } });
    await f.log.publish({ redeliveryCountChanged: { counts: [{ key: key(1, 2), count: 2 }] } });
    await f.log.publish({ heartbeat: {} });
    const last = await f.log.publish({ switchoverMarker: { promotionId: 'p1', nextEpoch: '2' } });

    const replicator = await f.start();
    const status = await waitForApplied(replicator, last);
    expect(status).toMatchObject({
      state: 'RUNNING',
      appliedSequence: last,
      appliedEpoch: 1n,
      error: '',
    });
    expect(status.lastCreatedAtMs).toBeGreaterThanOrEqual(before);
    expect(status.lastAppliedAtMs).toBeGreaterThanOrEqual(status.lastCreatedAtMs);
    expect(
      await f.db
        .selectFrom('messages')
        .select(['seq', 'redelivery_count'])
        .orderBy('seq')
        .execute(),
    ).toEqual([
      { seq: 2n, redelivery_count: 2 },
      { seq: 3n, redelivery_count: 0 },
    ]);
    expect(await appliedRow(f.db)).toMatchObject({
      source_broker_id: f.ids.primary,
      applied_seq: last,
      epoch: 1n,
    });
    // The consumer was created with the shared settings, and everything was acknowledged.
    const jsm = await sharedNc.jetstreamManager();
    const info = await jsm.consumers.info(
      replicationStreamName(f.ids.primary),
      replicationConsumerName(f.ids.replica),
    );
    await waitFor(async () => {
      const now = await jsm.consumers.info(info.stream_name, info.name);
      return now.num_ack_pending === 0 && now.num_pending === 0;
    }, 'every event acknowledged');
    expect(info.config.ack_policy).toBe('explicit');

    // Live events keep flowing, with a pending count of 0 once applied.
    const live = await f.log.publish({ messageAcknowledged: { keys: [key(1, 2)] } });
    await waitForApplied(replicator, live);
    await replicator.server.loop.refreshPending(1000);
    expect(replicator.server.status().pendingCount).toBe(0);
    expect(await messageCount(f.db)).toBe(1);
  });

  it('resumes after a restart mid-stream with nothing lost and nothing doubled', async () => {
    const f = await fixture('restart');
    await f.log.publish(queue(1, 1));
    const changes: Change[] = [];
    for (let seq = 1; seq <= 6000; seq++) {
      changes.push({ messageSent: { rows: [stored({ storeId: 1, seq })] } });
      if (seq % 3 === 0) changes.push({ messageAcknowledged: { keys: [key(1, seq - 1)] } });
    }
    const last = await f.log.publishMany(changes);

    let replicator = await f.start({ REPLICATOR_BATCH_MAX_EVENTS: '100' });
    await waitFor(() => replicator.server.status().appliedSequence > 500n, 'part applied', 20_000);
    await replicator.stop();
    const stoppedAt = replicator.server.status().appliedSequence;
    expect(stoppedAt).toBeLessThan(last);

    replicator = await f.start({ REPLICATOR_BATCH_MAX_EVENTS: '100' });
    await waitFor(
      () => replicator.server.status().appliedSequence > stoppedAt + 500n,
      'more applied',
      20_000,
    );
    await replicator.stop();
    replicator = await f.start();
    await waitForApplied(replicator, last);
    expect(await messageCount(f.db)).toBe(4000);
    const seqs = await sql<{ n: number; distinct_ids: number }>`
      SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids FROM messages`.execute(
      f.db,
    );
    expect(seqs.rows[0]).toEqual({ n: 4000, distinct_ids: 4000 });
    expect((await appliedRow(f.db))?.applied_seq).toBe(last);
  });

  it('stops FAILED on a sequence gap, naming the expected and received sequences, and acks nothing more', async () => {
    const f = await fixture('gap');
    await f.log.publish({ heartbeat: {} });
    await f.log.publish({ heartbeat: {} });
    f.log.events.sequence++; // event 3 never reaches the log
    await f.log.publish({ heartbeat: {} });
    await f.log.publish({ heartbeat: {} });
    const replicator = await f.start();
    const status = await waitForState(replicator, 'FAILED');
    expect(status.appliedSequence).toBe(2n);
    expect(status.error).toMatch(/sequence gap: expected sequence 3, received 4/);
    const jsm = await sharedNc.jetstreamManager();
    const info = await jsm.consumers.info(
      replicationStreamName(f.ids.primary),
      replicationConsumerName(f.ids.replica),
    );
    expect(info.ack_floor.stream_seq).toBe(2);
    await expect(replicator.server.loop.waitForSequence(5n, 1000)).rejects.toMatchObject({
      code: 'FailedPrecondition',
    });
  });

  it('stops FAILED on an event from an older epoch', async () => {
    const f = await fixture('epoch');
    f.log.events.epoch = 3n;
    await f.log.publish({ heartbeat: {} });
    f.log.events.epoch = 2n;
    await f.log.publish({ heartbeat: {} });
    const replicator = await f.start();
    const status = await waitForState(replicator, 'FAILED');
    expect(status).toMatchObject({ appliedSequence: 1n, appliedEpoch: 3n });
    expect(status.error).toBe(
      'event 2 has epoch 2, older than the applied epoch 3: it comes from a fenced-off primary and is refused',
    );
  });

  it('stops FAILED on an envelope newer than it reads', async () => {
    const f = await fixture('version');
    await f.log.publish({ heartbeat: {} });
    await f.log.publishEncoded(
      encodeEvent({ version: 3, sequence: '2', epoch: '1', heartbeat: {} }),
      2n,
    );
    const replicator = await f.start();
    const status = await waitForState(replicator, 'FAILED');
    expect(status.appliedSequence).toBe(1n);
    expect(status.error).toMatch(
      /envelope version 3; this build reads up to 2: upgrade the replicator/,
    );
  });

  it('waits for events a dead replicator held instead of calling them a gap', async () => {
    const f = await fixture('held');
    await f.log.provision(f.ids.replica, { ackWaitMs: 1_500 });
    for (let i = 0; i < 20; i++) await f.log.publish({ heartbeat: {} });
    // A replicator that pulled events 1..5 and died before acknowledging them.
    const nc = await connect({ servers: localNatsUrl });
    const puller = createJetStreamPuller(nc, {
      stream: replicationStreamName(f.ids.primary),
      consumer: replicationConsumerName(f.ids.replica),
    });
    const held = await puller.pull({ batch: 5, expiresMs: 1000 });
    expect(held.messages).toHaveLength(5);
    await nc.close();

    const replicator = await f.start();
    const status = await waitForApplied(replicator, 20n, 20_000);
    expect(status.state).toBe('RUNNING');
  });

  it('applies a large backlog in bounded batches', async () => {
    const f = await fixture('backlog');
    await f.log.publish(queue(1, 1));
    const changes: Change[] = [];
    for (let seq = 1; seq <= 3000; seq++) {
      changes.push({
        messageSent: { rows: [stored({ storeId: 1, seq, body: Buffer.alloc(1024, 7) })] },
      });
    }
    const last = await f.log.publishMany(changes);
    const replicator = await f.start({ REPLICATOR_BATCH_MAX_EVENTS: '250' });
    await waitForApplied(replicator, last);
    expect(await messageCount(f.db)).toBe(3000);
  });
});
