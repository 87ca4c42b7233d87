import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient } from '@crdr/stomp';
import {
  Inbox,
  queueSize,
  startTestBroker,
  uniqueName,
  waitForAsync,
  type TestBroker,
} from './broker.test-helper.js';

describe('STOMP transactions', () => {
  let broker: TestBroker;
  const clients: StompClient[] = [];
  const connect = async (): Promise<StompClient> => {
    const client = await broker.connect();
    clients.push(client);
    return client;
  };
  /** A subscribed consumer and a producer on a fresh queue. */
  const setUp = async (stem: string, ack = 'auto') => {
    const queue = `/queue/${uniqueName(stem)}`;
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { ack });
    const producer = await connect();
    return { queue, consumer, inbox, producer };
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_tx');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('shows nothing of a transaction until COMMIT, then all its sends in order', async () => {
    const { queue, inbox, producer } = await setUp('commit');
    await producer.begin('tx-1');
    await producer.send(queue, 'tx 1', { transaction: 'tx-1', persistent: true });
    await producer.send(queue, 'tx 2', { transaction: 'tx-1', persistent: true });
    // A message sent after the transactional ones, outside it, overtakes them.
    await producer.send(queue, 'outside', { persistent: true });
    await inbox.until('outside');
    expect(inbox.bodies).toEqual(['outside']);
    expect(await queueSize(broker, queue)).toBe(0);
    await producer.commit('tx-1');
    await inbox.until('tx 2');
    expect(inbox.bodies).toEqual(['outside', 'tx 1', 'tx 2']);
  });

  it('discards the sends of an aborted transaction', async () => {
    const { queue, inbox, producer } = await setUp('abort');
    await producer.begin('tx-2');
    await producer.send(queue, 'doomed 1', { transaction: 'tx-2', persistent: true });
    await producer.send(queue, 'doomed 2', { transaction: 'tx-2' });
    await producer.abort('tx-2');
    await producer.send(queue, 'after abort', { persistent: true });
    await inbox.until('after abort');
    expect(inbox.bodies).toEqual(['after abort']);
    // The transaction is gone: committing it now is an error.
    await expect(producer.commit('tx-2')).rejects.toMatchObject({
      headers: { message: expect.stringContaining('"tx-2" is not open') },
    });
  });

  it('keeps a message acknowledged in an aborted transaction unacknowledged on its consumer, as ActiveMQ', async () => {
    const { queue, inbox, producer, consumer } = await setUp('ack-abort', 'client-individual');
    await producer.send(queue, 'work', { persistent: true });
    const [first] = await inbox.take(1);
    await consumer.begin('tx-3');
    await first!.ack({ transaction: 'tx-3' });
    expect(await queueSize(broker, queue)).toBe(1);
    await consumer.abort('tx-3');
    // Not redelivered (ActiveMQ 5.17, checked by the differential suite): the next message
    // comes, and nothing before it.
    await producer.send(queue, 'next', { persistent: true });
    const upToNext = await inbox.until('next');
    expect(upToNext.map((m) => m.body.toString())).toEqual(['work', 'next']);
    expect(await queueSize(broker, queue)).toBe(2);
    // Acknowledged again, in a committed transaction, it is gone.
    await consumer.begin('tx-4');
    await first!.ack({ transaction: 'tx-4' });
    await inbox.messages[1]!.ack({ transaction: 'tx-4' });
    await consumer.commit('tx-4');
    await waitForAsync(
      async () => (await queueSize(broker, queue)) === 0,
      5000,
      'the queue to be empty',
    );
  });

  it('commits sends and acks together', async () => {
    const { queue: input, inbox, consumer, producer } = await setUp('in', 'client-individual');
    const output = `/queue/${uniqueName('out')}`;
    await producer.send(input, 'request', { persistent: true });
    const [request] = await inbox.take(1);
    await consumer.begin('tx-5');
    await consumer.send(output, 'reply', { transaction: 'tx-5', persistent: true });
    await request!.ack({ transaction: 'tx-5' });
    // Not even the destination exists before the commit.
    expect(await queueSize(broker, output)).toBeUndefined();
    await consumer.commit('tx-5');
    expect(await queueSize(broker, input)).toBe(0);
    expect(await queueSize(broker, output)).toBe(1);
  });

  it('aborts an open transaction when its connection ends', async () => {
    const {
      queue,
      inbox,
      producer,
      consumer: consumer1,
    } = await setUp('disconnect', 'client-individual');
    await producer.send(queue, 'to be acked', { persistent: true });
    const [message] = await inbox.take(1);

    const doomed = await connect();
    await doomed.begin('tx-6');
    await doomed.send(queue, 'never', { transaction: 'tx-6', persistent: true });
    await doomed.disconnect();

    // The consumer's own transaction: its ack is undone when the connection drops.
    const consumer2 = await connect();
    const inbox2 = new Inbox();
    await consumer2.subscribe(queue, inbox2.handler, { ack: 'client-individual' });
    await consumer1.begin('tx-7');
    await message!.ack({ transaction: 'tx-7' });
    consumer1.destroy();
    const [again] = await inbox2.take(1);
    expect(again?.body.toString()).toBe('to be acked');
    expect(again?.headers['redelivered']).toBe('true');
    await producer.send(queue, 'sentinel', { persistent: true });
    await inbox2.until('sentinel');
    expect(inbox2.bodies).toEqual(['to be acked', 'sentinel']);
    expect(inbox.bodies).toEqual(['to be acked']);
  });
});
