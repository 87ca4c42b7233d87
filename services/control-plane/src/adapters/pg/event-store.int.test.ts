import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createPool } from '@crdr/store';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import type pg from 'pg';
import { asBrokerId, type BrokerEvent } from '../../domain/broker.types.js';
import { createBrokerRepository } from './broker.repository.js';
import { createEventStore } from './event-store.js';

const at = '2026-01-01T00:00:00.000Z';
let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase('cp_event_store');
  pool = createPool(database.url, { max: 8 });
  await createEventStore<BrokerEvent>(pool).migrate();
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

const creation = (id: string) =>
  ({
    type: 'RequestBrokerCreation',
    brokerId: asBrokerId(id),
    brokerArn: `arn:mq:region-a:local:broker:orders:${id}`,
    region: 'region-a',
    spec: {
      brokerName: 'orders',
      engineType: 'ACTIVEMQ',
      engineVersion: '5.18.4',
      hostInstanceType: 'mq.m5.large',
      deploymentMode: 'SINGLE_INSTANCE',
      users: [],
    },
    adminUser: { username: 'crdr-cp-region-a', password: 'secret' },
    creatorRequestId: undefined,
    replicaOf: undefined,
    at,
  }) as const;

describe('event store on Postgres', () => {
  it('appends at the expected version only', async () => {
    const store = createEventStore<BrokerEvent>(pool);
    const event: BrokerEvent = { type: 'BrokerRebootRequested', at };
    expect(await store.append('s-1', 0, [event, event])).toBe(2);
    const error = await store.append('s-1', 1, [event]).catch((e: unknown) => e);
    expect(hasErrorCode(error, 'Conflict')).toBe(true);
    expect((await store.readStream('s-1')).version).toBe(2);
  });

  it('keeps bigints as bigints', async () => {
    const store = createEventStore<BrokerEvent>(pool);
    const event: BrokerEvent = {
      type: 'ReplicationStarted',
      epoch: 9007199254740993n,
      replicatorGrpc: undefined,
      at,
    };
    await store.append('s-bigint', 0, [event]);
    const { events } = await store.readStream('s-bigint');
    expect(events[0]).toMatchObject({ type: 'ReplicationStarted', epoch: 9007199254740993n });
  });

  it('lets exactly one of two concurrent commands on one broker win', async () => {
    const repository = createBrokerRepository(createEventStore<BrokerEvent>(pool));
    for (let round = 0; round < 5; round += 1) {
      const id = asBrokerId(`b-concurrent-${round}`);
      await repository.handle(id, creation(id));
      await repository.handle(id, { type: 'RecordBrokerCreated', instances: [], at });
      // Each is valid on its own from RUNNING; after either, the other is not.
      const outcomes = await Promise.allSettled([
        repository.handle(id, { type: 'RequestReboot', at }),
        repository.handle(id, { type: 'RequestDeletion', at }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
      expect(hasErrorCode(lost.reason, 'Conflict')).toBe(true);
      const { events } = await createEventStore<BrokerEvent>(pool).readStream(`broker-${id}`);
      expect(events).toHaveLength(3);
    }
  });

  it('reports the conflict of two writers racing on the same version', async () => {
    const repository = createBrokerRepository(createEventStore<BrokerEvent>(pool));
    const id = asBrokerId('b-race');
    await repository.handle(id, creation(id));
    await repository.handle(id, { type: 'RecordBrokerCreated', instances: [], at });
    const store = createEventStore<BrokerEvent>(pool);
    const { version } = await store.readStream(`broker-${id}`);
    const outcomes = await Promise.allSettled([
      store.append(`broker-${id}`, version, [{ type: 'BrokerRebootRequested', at }]),
      store.append(`broker-${id}`, version, [{ type: 'BrokerDeletionRequested', at }]),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect(hasErrorCode(lost.reason, 'Conflict')).toBe(true);
    expect((lost.reason as Error).message).toContain('changed concurrently');
  });
});
