import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { connect, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { ensureReplicationConsumer, isConsumerNotFound } from './consumer.js';
import { replicationConsumerName, replicationStreamName, replicationSubject } from './naming.js';

const primary = `cons-p-${randomBytes(4).toString('hex')}`;
const replica = `cons-r-${randomBytes(4).toString('hex')}`;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connect({ servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222' });
  jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: replicationStreamName(primary),
    subjects: [replicationSubject(primary)],
    storage: StorageType.Memory,
  });
});

afterAll(async () => {
  await jsm.streams.delete(replicationStreamName(primary)).catch(() => undefined);
  await nc.close();
});

describe('ensureReplicationConsumer', () => {
  it('creates the durable pull consumer once, with explicit acks from the first event', async () => {
    await expect(
      jsm.consumers.info(replicationStreamName(primary), replicationConsumerName(replica)),
    ).rejects.toSatisfy(isConsumerNotFound);
    const info = await ensureReplicationConsumer(jsm, primary, replica, { maxAckPending: 2000 });
    expect(info.name).toBe(replicationConsumerName(replica));
    expect(info.config).toMatchObject({
      durable_name: replicationConsumerName(replica),
      ack_policy: 'explicit',
      deliver_policy: 'all',
      filter_subject: replicationSubject(primary),
      max_ack_pending: 2000,
      ack_wait: 5_000_000_000,
    });
    expect(info.config.deliver_subject).toBeUndefined();
    const again = await ensureReplicationConsumer(jsm, primary, replica);
    expect(again.created).toEqual(info.created);
  });
});
