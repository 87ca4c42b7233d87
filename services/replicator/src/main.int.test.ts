import { afterEach, describe, expect, it } from 'vitest';
import { createClient, loadProto } from '@crdr/proto';
import { migrateToLatest, sql } from '@crdr/store';
import {
  createTestDatabase,
  hostPort,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
} from '@crdr/testing';
import {
  TestLog,
  key,
  localNatsUrl,
  stored,
  uniqueBrokerIds,
  type Change,
} from './adapters/replication-log.test-helper.js';
import { messageCount, openReplicaDb } from './adapters/replicator.test-helper.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function statusClient(process: ServiceProcess) {
  const { host, port } = hostPort(process.endpoints['grpc']!);
  const client = createClient(loadProto().crdr.replicator.v1.ReplicatorService, `${host}:${port}`, {
    deadlineMs: 5_000,
  });
  cleanups.push(() => Promise.resolve(client.close()));
  return client;
}

describe('the replicator process', () => {
  it('resumes after kill -9 mid-stream, five times, with nothing lost or doubled', async () => {
    const ids = uniqueBrokerIds('kill');
    const database = await createTestDatabase('replicator_kill');
    const log = await TestLog.create(ids.primary);
    const db = openReplicaDb(database.url);
    cleanups.push(
      () => log.close(),
      () => database.drop(),
      () => db.destroy(),
    );
    await migrateToLatest(db);
    // A short ack wait: what a killed replicator held comes back quickly.
    await log.provision(ids.replica, { ackWaitMs: 1_000 });
    await log.publish({
      destinationCreated: {
        destinationId: 1,
        kind: 'queue',
        name: 'Q',
        createdAtMs: '1',
        queueStoreId: 1,
      },
    });

    const env = {
      REPLICATOR_PRIMARY_BROKER_ID: ids.primary,
      REPLICATOR_REPLICA_BROKER_ID: ids.replica,
      REPLICATOR_DB_URL: database.url,
      REPLICATOR_NATS_URL: localNatsUrl,
      REPLICATOR_BATCH_MAX_EVENTS: '100',
      LOG_LEVEL: 'warn',
    };
    // The primary keeps producing while the replicator is killed and restarted.
    let producing = true;
    let sent = 0;
    const producer = (async () => {
      while (producing) {
        const changes: Change[] = [];
        for (let i = 0; i < 100; i++) {
          sent++;
          changes.push({ messageSent: { rows: [stored({ storeId: 1, seq: sent })] } });
          if (sent % 4 === 0) changes.push({ messageAcknowledged: { keys: [key(1, sent - 1)] } });
        }
        await log.publishMany(changes);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    cleanups.push(async () => {
      producing = false;
      await producer;
    });

    const applied = async () =>
      (await db.selectFrom('replication_applied').select('applied_seq').executeTakeFirst())
        ?.applied_seq ?? 0n;
    for (let round = 0; round < 5; round++) {
      const child = await startServiceProcess({ entry: 'services/replicator/src/main.ts', env });
      cleanups.push(() => child.kill());
      const before = await applied();
      await waitFor(
        async () => (await applied()) > before + 150n,
        `round ${round} progress`,
        30_000,
      );
      await child.kill('SIGKILL');
    }
    producing = false;
    await producer;
    const last = log.events.sequence;

    const child = await startServiceProcess({ entry: 'services/replicator/src/main.ts', env });
    cleanups.push(() => child.kill());
    const client = statusClient(child);
    expect(
      await client.waitForSequence(
        { sequence: String(last), timeoutMs: 60_000 },
        { deadlineMs: 65_000 },
      ),
    ).toEqual({
      appliedSequence: String(last),
    });
    const expected = sent - Math.floor(sent / 4);
    expect(await messageCount(db)).toBe(expected);
    const distinct = await sql<{
      n: number;
    }>`SELECT count(DISTINCT message_id)::int AS n FROM messages`.execute(db);
    expect(distinct.rows[0]!.n).toBe(expected);

    // SIGTERM stops it cleanly.
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 180_000);

  it('refuses a bad configuration with exit code 2 and every problem named', async () => {
    await expect(
      startServiceProcess({
        entry: 'services/replicator/src/main.ts',
        env: { REPLICATOR_BATCH_MAX_EVENTS: '0' },
        readyTimeoutMs: 120_000,
      }),
    ).rejects.toThrow(
      /exited with 2[\s\S]*REPLICATOR_PRIMARY_BROKER_ID[\s\S]*REPLICATOR_BATCH_MAX_EVENTS/,
    );
  });
});
