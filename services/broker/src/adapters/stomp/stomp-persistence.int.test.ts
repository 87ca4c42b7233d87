import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient } from '@crdr/stomp';
import { Inbox, startTestBroker, uniqueName, type TestBroker } from './broker.test-helper.js';

/** Restarts are clean: `stop()`, then a new server object on the same database. */
describe('STOMP persistence across a restart', () => {
  let broker: TestBroker;
  const clients: StompClient[] = [];
  const connect = async (
    options: Parameters<TestBroker['connect']>[0] = {},
  ): Promise<StompClient> => {
    const client = await broker.connect(options);
    clients.push(client);
    return client;
  };
  const restart = async (): Promise<void> => {
    await broker.restart();
    // Every connection ended with the old server.
    await Promise.all(clients.splice(0).map((c) => c.closed));
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_persist');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('keeps receipted persistent messages and loses non-persistent ones', async () => {
    const queue = `/queue/${uniqueName('durable')}`;
    const live = `/queue/${uniqueName('live')}`;
    const producer = await connect();
    const consumer = await connect();
    const liveInbox = new Inbox();
    await consumer.subscribe(live, liveInbox.handler);
    // A non-persistent message is delivered like any other...
    await producer.send(live, 'volatile but delivered', { persistent: false });
    const [delivered] = await liveInbox.take(1);
    expect(delivered?.headers['persistent']).toBe('false');

    await producer.send(queue, 'p1', { persistent: true });
    await producer.send(queue, 'n1', { persistent: false });
    await producer.send(queue, 'p2', { persistent: true, priority: 7 });
    await producer.send(queue, 'n2');
    await producer.send(queue, 'p3', { persistent: true, 'x-kept': 'a:b' });
    await restart();

    // ...but one still queued is gone after the restart.
    const reader = await connect();
    const inbox = new Inbox();
    await reader.subscribe(queue, inbox.handler, { ack: 'client-individual' });
    await (await connect()).send(queue, 'sentinel', { persistent: true, priority: 0 });
    await inbox.until('sentinel');
    expect(inbox.bodies).toEqual(['p2', 'p1', 'p3', 'sentinel']);
    expect(inbox.messages.map((m) => m.headers['redelivered'])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(inbox.messages[2]!.headers['x-kept']).toBe('a:b');
    expect(inbox.messages[0]!.headers['priority']).toBe('7');
    for (const m of inbox.messages) await m.ack();
  });

  it('redelivers flagged the messages delivered but unacknowledged before the restart, and only those', async () => {
    const queue = `/queue/${uniqueName('inflight')}`;
    const producer = await connect();
    for (const body of ['d1', 'd2', 'd3', 'd4', 'd5'])
      await producer.send(queue, body, { persistent: true });
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, {
      ack: 'client-individual',
      'activemq.prefetchSize': 3,
    });
    const taken = await inbox.take(3);
    expect(taken.map((m) => m.body.toString())).toEqual(['d1', 'd2', 'd3']);
    // Acknowledging d2 frees one credit: d4 is delivered too; d5 never is.
    await taken[1]!.ack();
    await inbox.until('d4');
    expect(inbox.bodies).toEqual(['d1', 'd2', 'd3', 'd4']);
    await restart();

    const reader = await connect();
    const again = new Inbox();
    await reader.subscribe(queue, again.handler, { ack: 'client-individual' });
    const messages = await again.take(4);
    expect(messages.map((m) => m.body.toString())).toEqual(['d1', 'd3', 'd4', 'd5']);
    expect(messages.map((m) => m.headers['redelivered'])).toEqual([
      'true',
      'true',
      'true',
      undefined,
    ]);
    for (const m of messages) await m.ack();
  });

  it('keeps a durable subscription and its messages', async () => {
    const topic = `/topic/${uniqueName('events')}`;
    const clientId = uniqueName('persistent-client');
    const subscriber = await connect({ clientId });
    await subscriber.subscribe(topic, () => undefined, {
      id: 's',
      'activemq.subscriptionName': 'keeper',
    });
    await subscriber.disconnect();
    const producer = await connect();
    await producer.send(topic, 'e1', { persistent: true });
    await producer.send(topic, 'e2', { persistent: true });
    await restart();

    const back = await connect({ clientId });
    const inbox = new Inbox();
    await back.subscribe(topic, inbox.handler, { id: 's', 'activemq.subscriptionName': 'keeper' });
    expect((await inbox.take(2)).map((m) => m.body.toString())).toEqual(['e1', 'e2']);
  });
});
