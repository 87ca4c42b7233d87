import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient } from '@crdr/stomp';
import { Inbox, startTestBroker, uniqueName, type TestBroker } from './broker.test-helper.js';

describe('STOMP topics', () => {
  let broker: TestBroker;
  const clients: StompClient[] = [];
  const connect = async (
    options: Parameters<TestBroker['connect']>[0] = {},
  ): Promise<StompClient> => {
    const client = await broker.connect(options);
    clients.push(client);
    return client;
  };
  const durables = async (topic: string): Promise<number | undefined> => {
    const all = await broker.server.runtime.engine.admin.listDestinations();
    return all.find((d) => d.kind === 'topic' && `/topic/${d.name}` === topic)
      ?.durableSubscriptionCount;
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_topics');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('gives non-durable subscribers only the messages sent while they are subscribed', async () => {
    const topic = `/topic/${uniqueName('news')}`;
    const producer = await connect();
    await producer.send(topic, 'before anyone', { persistent: true });
    const a = await connect();
    const b = await connect();
    const inboxA = new Inbox();
    const inboxB = new Inbox();
    const idA = await a.subscribe(topic, inboxA.handler);
    await b.subscribe(topic, inboxB.handler);
    await producer.send(topic, 'one', { persistent: true });
    await producer.send(topic, 'two');
    // Both subscribers get every message; "before anyone" would have come first.
    expect((await inboxA.take(2)).map((m) => m.body.toString())).toEqual(['one', 'two']);
    expect((await inboxB.take(2)).map((m) => m.body.toString())).toEqual(['one', 'two']);

    await a.unsubscribe(idA);
    await producer.send(topic, 'while A is away');
    await inboxB.until('while A is away');
    await a.subscribe(topic, inboxA.handler, { id: 'again' });
    await producer.send(topic, 'three');
    await inboxA.until('three');
    expect(inboxA.bodies).toEqual(['one', 'two', 'three']);
    await inboxB.until('three');
    expect(inboxB.bodies).toEqual(['one', 'two', 'while A is away', 'three']);
  });

  it('keeps messages for a durable subscription while its subscriber is away', async () => {
    const topic = `/topic/${uniqueName('orders')}`;
    const clientId = uniqueName('durable-client');
    const producer = await connect();

    const first = await connect({ clientId });
    const inbox1 = new Inbox();
    await first.subscribe(topic, inbox1.handler, {
      id: 'd1',
      'activemq.subscriptionName': 'audit',
      ack: 'client-individual',
    });
    await producer.send(topic, 'seen live', { persistent: true });
    const [live] = await inbox1.take(1);
    expect(live?.body.toString()).toBe('seen live');
    await live!.ack();
    await first.disconnect();
    expect(await durables(topic)).toBe(1);

    await producer.send(topic, 'away 1', { persistent: true });
    await producer.send(topic, 'away 2', { persistent: true });

    const second = await connect({ clientId });
    const inbox2 = new Inbox();
    await second.subscribe(topic, inbox2.handler, {
      id: 'd2',
      'activemq.subscriptionName': 'audit',
      ack: 'client-individual',
    });
    const kept = await inbox2.take(2);
    expect(kept.map((m) => m.body.toString())).toEqual(['away 1', 'away 2']);
    expect(kept.map((m) => m.headers['redelivered'])).toEqual([undefined, undefined]);
    for (const m of kept) await m.ack();

    // UNSUBSCRIBE naming the durable subscription ends it: nothing is kept for it any more.
    await second.unsubscribe('d2', { 'activemq.subscriptionName': 'audit' });
    expect(await durables(topic)).toBe(0);
    await second.disconnect();
    await producer.send(topic, 'after removal', { persistent: true });

    const third = await connect({ clientId });
    const inbox3 = new Inbox();
    await third.subscribe(topic, inbox3.handler, {
      id: 'd3',
      'activemq.subscriptionName': 'audit',
    });
    await producer.send(topic, 'fresh', { persistent: true });
    const [firstAfter] = await inbox3.take(1);
    expect(firstAfter?.body.toString()).toBe('fresh');
  });

  it('removes an inactive durable subscription with UNSUBSCRIBE from a later connection', async () => {
    const topic = `/topic/${uniqueName('billing')}`;
    const clientId = uniqueName('durable-client');
    const subscriber = await connect({ clientId });
    await subscriber.subscribe(topic, () => undefined, {
      id: 'x',
      'activemq.subscriptionName': 'ledger',
    });
    await subscriber.disconnect();
    expect(await durables(topic)).toBe(1);

    const later = await connect({ clientId });
    await later.unsubscribe('ledger', { 'activemq.subscriptionName': 'ledger' });
    expect(await durables(topic)).toBe(0);
  });

  it('refuses a durable subscription without a client-id', async () => {
    const topic = `/topic/${uniqueName('anon')}`;
    const client = await connect();
    await expect(
      client.subscribe(topic, () => undefined, { 'activemq.subscriptionName': 'nameless' }),
    ).rejects.toMatchObject({ headers: { message: expect.stringContaining('client-id') } });
  });
});
