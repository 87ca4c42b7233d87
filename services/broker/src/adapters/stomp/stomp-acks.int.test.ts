import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient, StompVersion } from '@crdr/stomp';
import {
  Inbox,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  waitForAsync,
  type TestBroker,
} from './broker.test-helper.js';

const maxRedeliveries = 6;

describe('STOMP acknowledgements', () => {
  let broker: TestBroker;
  const clients: StompClient[] = [];
  const connect = async (
    options: Parameters<TestBroker['connect']>[0] = {},
  ): Promise<StompClient> => {
    const client = await broker.connect(options);
    clients.push(client);
    return client;
  };
  const sendAll = async (queue: string, bodies: readonly string[]): Promise<void> => {
    const producer = await connect();
    for (const body of bodies) await producer.send(queue, body, { persistent: true });
  };
  const emptied = (queue: string): Promise<void> =>
    waitForAsync(async () => (await queueSize(broker, queue)) === 0, 5000, `${queue} to be empty`);

  beforeAll(async () => {
    broker = await startTestBroker('stomp_acks', {
      BROKER_MAX_REDELIVERIES: String(maxRedeliveries),
    });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('removes a message on delivery in auto mode', async () => {
    const queue = `/queue/${uniqueName('auto')}`;
    await sendAll(queue, ['a1', 'a2']);
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { ack: 'auto' });
    expect((await inbox.take(2)).map((m) => m.body.toString())).toEqual(['a1', 'a2']);
    await emptied(queue);
    // Nothing comes back when the consumer leaves.
    await consumer.disconnect();
    await sendAll(queue, ['a3']);
    const next = await connect();
    const inbox2 = new Inbox();
    await next.subscribe(queue, inbox2.handler);
    expect((await inbox2.take(1)).map((m) => m.body.toString())).toEqual(['a3']);
  });

  it('acknowledges cumulatively in client mode: acking the third acks the first three', async () => {
    const queue = `/queue/${uniqueName('client')}`;
    await sendAll(queue, ['c1', 'c2', 'c3', 'c4', 'c5']);
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { ack: 'client' });
    const messages = await inbox.take(5);
    await messages[2]!.ack();
    await waitForAsync(
      async () => (await queueSize(broker, queue)) === 2,
      5000,
      'two messages left',
    );
    await consumer.disconnect();
    // The two not acknowledged come back, flagged as redelivered.
    const next = await connect();
    const inbox2 = new Inbox();
    await next.subscribe(queue, inbox2.handler, { ack: 'client' });
    const again = await inbox2.take(2);
    expect(again.map((m) => m.body.toString())).toEqual(['c4', 'c5']);
    expect(again.map((m) => m.headers['redelivered'])).toEqual(['true', 'true']);
    await again[1]!.ack();
    await emptied(queue);
  });

  it.each<[StompVersion]>([['1.0'], ['1.1']])(
    'acknowledges cumulatively by message-id in STOMP %s',
    async (version) => {
      const queue = `/queue/${uniqueName(`client-${version}`)}`;
      await sendAll(queue, ['k1', 'k2', 'k3', 'k4']);
      const consumer = await connect({ version });
      const inbox = new Inbox();
      await consumer.subscribe(queue, inbox.handler, { ack: 'client' });
      const messages = await inbox.take(4);
      await messages[2]!.ack();
      await waitForAsync(
        async () => (await queueSize(broker, queue)) === 1,
        5000,
        'one message left',
      );
      // The first was settled by the cumulative ack: naming it again is an error.
      await expect(messages[0]!.ack()).rejects.toMatchObject({
        headers: {
          message: `no unacknowledged message has message-id "${messages[0]!.headers['message-id']}"`,
        },
      });
    },
  );

  it('acknowledges one message at a time in client-individual mode', async () => {
    const queue = `/queue/${uniqueName('individual')}`;
    await sendAll(queue, ['i1', 'i2', 'i3']);
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { ack: 'client-individual' });
    const messages = await inbox.take(3);
    await messages[1]!.ack();
    await waitForAsync(
      async () => (await queueSize(broker, queue)) === 2,
      5000,
      'two messages left',
    );
    await consumer.disconnect();
    const next = await connect();
    const inbox2 = new Inbox();
    await next.subscribe(queue, inbox2.handler, { ack: 'client-individual' });
    const again = await inbox2.take(2);
    expect(again.map((m) => m.body.toString())).toEqual(['i1', 'i3']);
  });

  // ActiveMQ 5.17: a NACKed message goes to ActiveMQ.DLQ at once and is not redelivered.
  it('moves a NACKed message to ActiveMQ.DLQ at once, without redelivering it', async () => {
    const queue = `/queue/${uniqueName('poison')}`;
    await sendAll(queue, ['poison', 'healthy']);
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, {
      ack: 'client-individual',
      'activemq.prefetchSize': 1,
    });
    const [poison] = await inbox.take(1);
    expect(poison?.body.toString()).toBe('poison');
    await poison!.nack();
    const [, healthy] = await inbox.take(2);
    expect(healthy?.body.toString()).toBe('healthy');
    expect(healthy?.headers['redelivered']).toBeUndefined();
    await healthy!.ack();
    await emptied(queue);
    expect(inbox.messages.map((m) => m.body.toString())).toEqual(['poison', 'healthy']);

    const dlq = await connect();
    const dead = new Inbox();
    await dlq.subscribe('/queue/ActiveMQ.DLQ', dead.handler, { ack: 'client-individual' });
    const found = await dead.until('poison');
    const message = found[found.length - 1]!;
    expect(message.headers['original-destination']).toBe(queue);
    expect(message.headers['destination']).toBe('/queue/ActiveMQ.DLQ');
    expect(message.headers['message-id']).toBe(poison?.headers['message-id']);
    await message.ack();
  });

  it('refuses an ACK or NACK of a message delivered to another connection', async () => {
    const queue = `/queue/${uniqueName('owner')}`;
    await sendAll(queue, ['mine']);
    const owner = await connect();
    const inbox = new Inbox();
    await owner.subscribe(queue, inbox.handler, { ack: 'client-individual' });
    const [message] = await inbox.take(1);
    const ackId = message!.headers['ack']!;
    for (const command of ['ACK', 'NACK'] as const) {
      const intruder = await connect();
      intruder.sendFrame(command, { id: ackId });
      await waitFor(() => intruder.receiveErrors().length > 0, 5000, `an ERROR for the ${command}`);
      expect(intruder.receiveErrors().map((e) => e.headers['message'])).toEqual([
        `no unacknowledged message has ack id "${ackId}"`,
      ]);
    }
    // Still the owner's to acknowledge.
    expect(await queueSize(broker, queue)).toBe(1);
    expect(inbox.messages).toHaveLength(1);
    await message!.ack();
    await emptied(queue);
  });

  it('redelivers the unacknowledged messages of a consumer that disconnects to another consumer', async () => {
    const queue = `/queue/${uniqueName('handover')}`;
    await sendAll(queue, ['h1', 'h2', 'h3']);
    const leaving = await connect();
    const inbox = new Inbox();
    await leaving.subscribe(queue, inbox.handler, { ack: 'client-individual' });
    const taken = await inbox.take(3);
    await taken[0]!.ack();

    const staying = await connect();
    const inbox2 = new Inbox();
    await staying.subscribe(queue, inbox2.handler, { ack: 'client-individual' });
    leaving.destroy();
    const again = await inbox2.take(2);
    expect(again.map((m) => m.body.toString())).toEqual(['h2', 'h3']);
    expect(again.map((m) => m.headers['redelivered'])).toEqual(['true', 'true']);
    for (const m of again) await m.ack();
    await emptied(queue);
  });
});
