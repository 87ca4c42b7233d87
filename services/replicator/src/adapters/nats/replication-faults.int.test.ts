import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { replicationConsumerName, replicationStreamName } from '@crdr/replication';
import { migrateToLatest, sql } from '@crdr/store';
import {
  createTestDatabase,
  createTestPki,
  replicationUserPermissions,
  startNatsServer,
  startTcpProxy,
  waitFor,
  type NatsServerHandle,
  type TestPki,
} from '@crdr/testing';
import {
  TestLog,
  key,
  stored,
  uniqueBrokerIds,
  type Change,
} from '../replication-log.test-helper.js';
import {
  messageCount,
  openReplicaDb,
  startReplicator,
  waitForApplied,
  type InProcessReplicator,
} from '../replicator.test-helper.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
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

/** Sends with an acknowledgement of every third message: `count` sends, count/3 acks. */
function traffic(from: number, count: number): Change[] {
  const changes: Change[] = [];
  for (let seq = from; seq < from + count; seq++) {
    changes.push({ messageSent: { rows: [stored({ storeId: 1, seq })] } });
    if (seq % 3 === 0) changes.push({ messageAcknowledged: { keys: [key(1, seq)] } });
  }
  return changes;
}

/** Records every state the replicator passes through. */
function watchStates(replicator: InProcessReplicator): {
  states: Set<string>;
  errors: string[];
  stop(): void;
} {
  const states = new Set<string>();
  const errors: string[] = [];
  const timer = setInterval(() => {
    const status = replicator.server.status();
    states.add(status.state);
    if (status.error !== '' && errors.at(-1) !== status.error) errors.push(status.error);
  }, 10);
  return { states, errors, stop: () => clearInterval(timer) };
}

async function expectExactCopy(dbUrl: string, sends: number): Promise<void> {
  const db = openReplicaDb(dbUrl);
  try {
    const expected = sends - Math.floor(sends / 3);
    expect(await messageCount(db)).toBe(expected);
    const distinct = await sql<{
      n: number;
    }>`SELECT count(DISTINCT seq)::int AS n FROM messages`.execute(db);
    expect(distinct.rows[0]!.n).toBe(expected);
  } finally {
    await db.destroy();
  }
}

describe('replication through faults', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats.cleanup();
  });

  it("reconnects after the primary Region's NATS restarts, with nothing lost or doubled", async () => {
    const ids = uniqueBrokerIds('natsrestart');
    const database = await createTestDatabase('replicator_faults');
    cleanups.push(() => database.drop());
    let log = await TestLog.create(ids.primary, nats.url);
    await log.publish(queue);
    await log.publishMany(traffic(1, 3000));
    const replicator = await startReplicator(ids, database.url, {
      REPLICATOR_NATS_URL: nats.url,
      REPLICATOR_BATCH_MAX_EVENTS: '50',
    });
    cleanups.push(() => replicator.stop());
    const watch = watchStates(replicator);
    cleanups.push(() => Promise.resolve(watch.stop()));
    await waitFor(() => replicator.server.status().appliedSequence > 300n, 'some applied');

    const events = log.events;
    await log.nc.close();
    await nats.stop();
    await waitFor(() => replicator.server.status().state === 'CONNECTING', 'CONNECTING');
    await new Promise((r) => setTimeout(r, 500));
    await nats.restart();

    log = await TestLog.create(ids.primary, nats.url).catch(async () => {
      throw new Error('could not reach the restarted NATS');
    });
    cleanups.push(() => log.close());
    // The stream survived the restart; continue its numbering.
    Object.assign(log.events, { sequence: events.sequence });
    const last = await log.publishMany(traffic(3001, 600));
    await waitForApplied(replicator, last, 45_000);
    expect(watch.states).toContain('CONNECTING');
    expect(replicator.server.status().state).toBe('RUNNING');
    await expectExactCopy(database.url, 3600);
  });

  it('rides out a cut Region link and a Postgres outage', async () => {
    const ids = uniqueBrokerIds('cuts');
    const database = await createTestDatabase('replicator_faults');
    cleanups.push(() => database.drop());
    const natsLink = await startTcpProxy({ targetPort: nats.port });
    const pgUrl = new URL(database.url);
    const pgLink = await startTcpProxy({ targetPort: Number(pgUrl.port || 5432) });
    cleanups.push(
      () => natsLink.close(),
      () => pgLink.close(),
    );
    pgUrl.port = String(pgLink.port);
    const log = await TestLog.create(ids.primary, nats.url);
    cleanups.push(() => log.close());
    await log.publish(queue);
    await log.publishMany(traffic(1, 1500));

    const replicator = await startReplicator(ids, pgUrl.toString(), {
      REPLICATOR_NATS_URL: `nats://127.0.0.1:${natsLink.port}`,
      REPLICATOR_BATCH_MAX_EVENTS: '50',
      REPLICATOR_NATS_TIMEOUT_MS: '1000',
    });
    cleanups.push(() => replicator.stop());
    const watch = watchStates(replicator);
    cleanups.push(() => Promise.resolve(watch.stop()));
    await waitFor(() => replicator.server.status().appliedSequence > 200n, 'some applied');

    natsLink.cut();
    await log.publishMany(traffic(1501, 300));
    await waitFor(
      () => replicator.server.status().state === 'CONNECTING',
      'CONNECTING on a cut link',
    );
    natsLink.heal();
    await waitFor(() => replicator.server.status().state === 'RUNNING', 'RUNNING again', 30_000);

    pgLink.cut();
    const last = await log.publishMany(traffic(1801, 300));
    await waitFor(
      () => /replica store/.test(replicator.server.status().error),
      'a store error reported',
      // The pool's connect timeout (10 s) runs out first, then the loop reports it.
      60_000,
    );
    expect(replicator.server.status().state).toBe('CONNECTING');
    pgLink.heal();
    await waitForApplied(replicator, last, 45_000);
    await expectExactCopy(database.url, 2100);
  });
});

describe('replication over mutual TLS as the replication user', () => {
  let pki: TestPki;
  let nats: NatsServerHandle;
  const ids = uniqueBrokerIds('tls');
  const stream = replicationStreamName(ids.primary);
  const consumer = replicationConsumerName(ids.replica);
  const inboxPrefix = `_INBOX_${ids.replica.replace(/[^A-Za-z0-9_-]/g, '_')}`;

  beforeAll(async () => {
    pki = await createTestPki();
    nats = await startNatsServer({
      tls: { cert: pki.server.certPath, key: pki.server.keyPath, ca: pki.ca.certPath },
      users: [
        { user: 'admin', password: 'admin-secret' },
        {
          user: 'replicator',
          password: 'replicator-secret',
          permissions: replicationUserPermissions(stream, consumer, { inboxPrefix }),
        },
      ],
    });
  });
  afterAll(async () => {
    await nats.cleanup();
    await pki.cleanup();
  });

  const tlsEnv = (client: { certPath: string; keyPath: string }) => ({
    REPLICATOR_NATS_URL: nats.url,
    REPLICATOR_NATS_USER: 'replicator',
    REPLICATOR_NATS_PASSWORD: 'replicator-secret',
    REPLICATOR_NATS_TLS_CA: pki.ca.certPath,
    REPLICATOR_NATS_TLS_CERT: client.certPath,
    REPLICATOR_NATS_TLS_KEY: client.keyPath,
    REPLICATOR_NATS_INBOX_PREFIX: inboxPrefix,
    REPLICATOR_NATS_TIMEOUT_MS: '1000',
  });

  it('says the consumer must be provisioned, then replicates once it is', async () => {
    const database = await createTestDatabase('replicator_tls');
    cleanups.push(() => database.drop());
    const log = await TestLog.create(ids.primary, nats.url, {
      user: 'admin',
      pass: 'admin-secret',
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    cleanups.push(() => log.close());
    await log.publish(queue);
    const last = await log.publishMany(traffic(1, 300));

    const replicator = await startReplicator(ids, database.url, tlsEnv(pki.client));
    cleanups.push(() => replicator.stop());
    await waitFor(
      () => /must be provisioned/.test(replicator.server.status().error),
      'the provisioning error',
      20_000,
    );
    expect(replicator.server.status()).toMatchObject({ state: 'CONNECTING', appliedSequence: 0n });
    expect(replicator.server.status().error).toContain(
      `durable consumer ${consumer} on stream ${stream}`,
    );

    await log.provision(ids.replica);
    await waitForApplied(replicator, last, 30_000);
    const db = openReplicaDb(database.url);
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);
    expect(await messageCount(db)).toBe(200);
  });

  it('is refused with a client certificate from another CA', async () => {
    const database = await createTestDatabase('replicator_tls');
    cleanups.push(() => database.drop());
    const replicator = await startReplicator(ids, database.url, tlsEnv(pki.foreignClient));
    cleanups.push(() => replicator.stop());
    await waitFor(
      () => /cannot connect to the primary Region's NATS/.test(replicator.server.status().error),
      'a connection error',
      20_000,
    );
    expect(replicator.server.status().state).toBe('CONNECTING');
  });
});
