import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { replicationConsumerName, replicationStreamName } from '@crdr/replication';
import { migrateToLatest, sql, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, startNatsServer, waitFor, type NatsServerHandle } from '@crdr/testing';
import { TestLog, stored, uniqueBrokerIds, type Change } from '../replication-log.test-helper.js';
import {
  openReplicaDb,
  startReplicator,
  waitForApplied,
  type InProcessReplicator,
} from '../replicator.test-helper.js';
import { createJetStreamPuller } from './jetstream-puller.js';

// Events longer than the NATS server's max payload travel as consecutive parts of the log
// (issue 11): a server with a 64 KiB max payload, and messages of several hundred KiB.

const maxPayloadBytes = 64 * 1024;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

let nats: NatsServerHandle;
beforeAll(async () => {
  nats = await startNatsServer({ config: { max_payload: maxPayloadBytes } });
});
afterAll(async () => {
  await nats?.cleanup();
});

const queue: Change = {
  destinationCreated: {
    destinationId: 1,
    kind: 'queue',
    name: 'Q',
    createdAtMs: '1',
    queueStoreId: 1,
  },
};

/** A body that tells where each of its bytes belongs. */
function body(seq: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i ^ (i >>> 8) ^ (i >>> 16) ^ seq) & 0xff;
  return b;
}
const sent = (seq: number, bytes: number): Change => ({
  messageSent: { rows: [stored({ storeId: 1, seq, body: body(seq, bytes) })] },
});

async function setUp(prefix: string, ackWaitMs = 30_000) {
  const ids = uniqueBrokerIds(prefix);
  const log = await TestLog.create(ids.primary, nats.url);
  await log.provision(ids.replica, { ackWaitMs });
  const database = await createTestDatabase('replicator_parts');
  const db = openReplicaDb(database.url);
  await migrateToLatest(db);
  cleanups.push(
    () => log.close(),
    () => database.drop(),
    () => db.destroy(),
  );
  const start = async (): Promise<InProcessReplicator> => {
    const replicator = await startReplicator(ids, database.url, {
      REPLICATOR_NATS_URL: nats.url,
      REPLICATOR_BATCH_MAX_EVENTS: '8',
    });
    cleanups.push(() => replicator.stop());
    return replicator;
  };
  return { ids, log, db, start };
}

/** The replica's messages, each once, with its body whole. */
async function expectMessages(db: Kysely<Database>, expected: ReadonlyMap<number, number>) {
  const { rows } = await sql<{ seq: string; body: Buffer }>`
    SELECT seq::text AS seq, body FROM messages ORDER BY messages.seq`.execute(db);
  expect(rows.map((r) => Number(r.seq))).toEqual([...expected.keys()].sort((a, b) => a - b));
  for (const row of rows) {
    const seq = Number(row.seq);
    expect(row.body.equals(body(seq, expected.get(seq)!)), `body of message ${seq}`).toBe(true);
  }
}

/** Waits until the consumer has nothing pending or unacknowledged: every part acknowledged. */
async function expectAllAcknowledged(ids: { primary: string; replica: string }) {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(
          replicationStreamName(ids.primary),
          replicationConsumerName(ids.replica),
        );
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      'every message of the log acknowledged',
      30_000,
    );
  } finally {
    await nc.close();
  }
}

describe('events longer than the NATS max payload', () => {
  it('given events of up to 700 KiB in parts among small ones, then each is applied once, whole', async () => {
    const f = await setUp('parts');
    await f.log.publish(queue);
    const expected = new Map<number, number>();
    for (let seq = 1; seq <= 12; seq++) {
      const bytes = seq % 3 === 0 ? 700 * 1024 : seq % 3 === 1 ? 100 : 200 * 1024;
      expected.set(seq, bytes);
      if (bytes < maxPayloadBytes / 2) {
        await f.log.publish(sent(seq, bytes));
      } else {
        const { sequence, parts } = await f.log.parts(sent(seq, bytes), maxPayloadBytes);
        expect(parts.length).toBeGreaterThan(1);
        await f.log.publishParts(sequence, parts);
      }
    }
    const replicator = await f.start();
    const status = await waitForApplied(replicator, f.log.events.sequence);
    expect(status.state).toBe('RUNNING');
    await expectMessages(f.db, expected);
    await expectAllAcknowledged(f.ids);
  });

  it('given an attempt the relay abandoned halfway and published again, then the event is applied once', async () => {
    const f = await setUp('abandoned');
    await f.log.publish(queue);
    const { sequence, bytes, parts } = await f.log.parts(sent(1, 400 * 1024), maxPayloadBytes);
    await f.log.publishParts(sequence, parts.slice(0, 3));
    const replicator = await f.start();
    // The replicator holds the first parts while the rest does not come: it applies nothing.
    await waitFor(() => replicator.server.status().appliedSequence === 1n, 'the queue applied');
    await f.log.publishParts(sequence, await f.log.split(sequence, bytes, maxPayloadBytes), 1);
    await f.log.publish(sent(2, 10));
    const status = await waitForApplied(replicator, f.log.events.sequence);
    expect(status.state).toBe('RUNNING');
    await expectMessages(
      f.db,
      new Map([
        [1, 400 * 1024],
        [2, 10],
      ]),
    );
    await expectAllAcknowledged(f.ids);
  });

  it('given a replicator that died holding the first parts of an event, then its successor applies the event once', async () => {
    const f = await setUp('died', 2_000);
    await f.log.publish(queue);
    const { sequence, parts } = await f.log.parts(sent(1, 500 * 1024), maxPayloadBytes);
    await f.log.publishParts(sequence, parts);
    await f.log.publish(sent(2, 10));
    // A replicator that pulled the queue and the first parts, and died before acknowledging.
    const nc = await connect({ servers: nats.url });
    const puller = createJetStreamPuller(nc, {
      stream: replicationStreamName(f.ids.primary),
      consumer: replicationConsumerName(f.ids.replica),
    });
    const held = await puller.pull({ batch: 4, expiresMs: 1000 });
    expect(held.messages).toHaveLength(4);
    await nc.close();

    // Its successor gets the rest of the parts first, and the first ones after their ack wait.
    const replicator = await f.start();
    const status = await waitForApplied(replicator, f.log.events.sequence, 60_000);
    expect(status.state).toBe('RUNNING');
    await expectMessages(
      f.db,
      new Map([
        [1, 500 * 1024],
        [2, 10],
      ]),
    );
    await expectAllAcknowledged(f.ids);
  });

  it('given a restart while an event is half read, then the event is applied once', async () => {
    const f = await setUp('restart');
    await f.log.publish(queue);
    const { sequence, parts } = await f.log.parts(sent(1, 600 * 1024), maxPayloadBytes);
    const half = Math.floor(parts.length / 2);
    await f.log.publishParts(sequence, parts.slice(0, half));
    const first = await f.start();
    await waitFor(() => first.server.status().appliedSequence === 1n, 'the queue applied');
    await first.stop();
    await f.log.publishParts(sequence, parts.slice(half));
    await f.log.publish(sent(2, 10));
    const second = await f.start();
    await waitForApplied(second, f.log.events.sequence);
    await expectMessages(
      f.db,
      new Map([
        [1, 600 * 1024],
        [2, 10],
      ]),
    );
    await expectAllAcknowledged(f.ids);
  });
});
