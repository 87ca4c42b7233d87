import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient } from '@crdr/stomp';
import { Inbox, startTestBroker, uniqueName, type TestBroker } from './broker.test-helper.js';

const deadLetterQueue = '/queue/ActiveMQ.DLQ';

describe('STOMP expiry and scheduled delivery', () => {
  let broker: TestBroker;
  let dead: Inbox;
  const clients: StompClient[] = [];
  const connect = async (): Promise<StompClient> => {
    const client = await broker.connect();
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_time');
    // One reader of the dead letter queue for the whole file.
    dead = new Inbox();
    await (await connect()).subscribe(deadLetterQueue, dead.handler);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('does not deliver a persistent message whose expires is in the past: it goes to ActiveMQ.DLQ', async () => {
    const queue = `/queue/${uniqueName('expired')}`;
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    const producer = await connect();
    await producer.send(queue, 'stale', { persistent: true, expires: Date.now() - 1000 });
    await producer.send(queue, 'fresh', { persistent: true, expires: Date.now() + 60_000 });
    await inbox.until('fresh');
    expect(inbox.bodies).toEqual(['fresh']);
    const moved = (await dead.until('stale')).at(-1)!;
    expect(moved.headers['original-destination']).toBe(queue);
    expect(moved.headers['dlqDeliveryFailureCause']).toBe('message expired');
    // It must not expire again in the DLQ.
    expect(moved.headers['expires']).toBe('0');
  });

  it('expires a message that waits past its expiry time without a consumer', async () => {
    const queue = `/queue/${uniqueName('expiring')}`;
    const producer = await connect();
    await producer.send(queue, 'short-lived', { persistent: true, expires: Date.now() + 200 });
    await dead.until('short-lived');
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    await producer.send(queue, 'sentinel', { persistent: true });
    await inbox.until('sentinel');
    expect(inbox.bodies).toEqual(['sentinel']);
  });

  it('drops an expired non-persistent message', async () => {
    const queue = `/queue/${uniqueName('expired-np')}`;
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    const producer = await connect();
    await producer.send(queue, 'stale np', { expires: Date.now() - 1 });
    await producer.send(queue, 'sentinel');
    await inbox.until('sentinel');
    expect(inbox.bodies).toEqual(['sentinel']);
  });

  it('holds a message with AMQ_SCHEDULED_DELAY back for that long', async () => {
    const queue = `/queue/${uniqueName('scheduled')}`;
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    const producer = await connect();
    const sentAt = Date.now();
    await producer.send(queue, 'later', { persistent: true, AMQ_SCHEDULED_DELAY: 1500 });
    await producer.send(queue, 'now', { persistent: true });
    await inbox.until('now');
    expect(inbox.bodies).toEqual(['now']);
    await inbox.until('later');
    // Never early; how late it may be on a busy machine is not a property of the broker.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1500);
    expect(inbox.bodies).toEqual(['now', 'later']);
    expect(inbox.messages[1]!.headers['AMQ_SCHEDULED_DELAY']).toBeUndefined();
  });
});
