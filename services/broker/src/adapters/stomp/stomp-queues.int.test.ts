import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { Client, type IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { StompClient } from '@crdr/stomp';
import {
  Inbox,
  host,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  waitForAsync,
  type TestBroker,
} from './broker.test-helper.js';

/** The part of stompit (CommonJS, untyped) these tests use. */
interface StompitMessage {
  readonly headers: Readonly<Record<string, string>>;
  readString(encoding: 'utf-8', callback: (error: Error | null, body?: string) => void): void;
}
interface StompitClient {
  send(headers: Record<string, string>, options?: { onReceipt?: () => void }): Writable;
  subscribe(
    headers: Record<string, string>,
    onMessage: (error: Error | null, message: StompitMessage) => void,
  ): { unsubscribe(): void };
  ack(message: StompitMessage): void;
  disconnect(callback?: (error: Error | null) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
interface Stompit {
  connect(
    options: { host: string; port: number; connectHeaders: Record<string, string> },
    callback: (error: Error | null, client: StompitClient) => void,
  ): void;
}
const stompit = createRequire(import.meta.url)('stompit') as Stompit;

function stompitConnect(port: number): Promise<StompitClient> {
  return new Promise((resolve, reject) =>
    stompit.connect(
      {
        host,
        port,
        connectHeaders: { host: '/', login: 'admin', passcode: 'admin', 'heart-beat': '0,0' },
      },
      (error, client) => (error === null ? resolve(client) : reject(error)),
    ),
  );
}

describe('STOMP queues', () => {
  let broker: TestBroker;
  const clients: StompClient[] = [];
  const connect = async (
    options: Parameters<TestBroker['connect']>[0] = {},
  ): Promise<StompClient> => {
    const client = await broker.connect(options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_queues');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  it('delivers point-to-point with stompit over TCP', async () => {
    const queue = `/queue/${uniqueName('stompit')}`;
    const producer = await stompitConnect(broker.stompPort);
    const consumer = await stompitConnect(broker.stompPort);
    try {
      await new Promise<void>((resolve) => {
        const frame = producer.send(
          { destination: queue, persistent: 'true', 'x-app': 'one' },
          { onReceipt: resolve },
        );
        frame.end('hello from stompit');
      });
      const received = await new Promise<{
        headers: Readonly<Record<string, string>>;
        body: string;
      }>((resolve, reject) => {
        consumer.subscribe({ destination: queue, ack: 'client-individual' }, (error, message) => {
          if (error !== null) return reject(error);
          message.readString('utf-8', (readError, body) => {
            if (readError !== null) return reject(readError);
            consumer.ack(message);
            resolve({ headers: message.headers, body: body ?? '' });
          });
        });
      });
      expect(received.body).toBe('hello from stompit');
      expect(received.headers['destination']).toBe(queue);
      expect(received.headers['x-app']).toBe('one');
      expect(received.headers['persistent']).toBe('true');
      expect(received.headers['message-id']).toMatch(/^ID:/);
      // The ACK went through: nothing is left for another consumer.
      await waitForAsync(
        async () => (await queueSize(broker, queue)) === 0,
        5000,
        'the queue to be empty',
      );
    } finally {
      await new Promise((resolve) => producer.disconnect(resolve));
      await new Promise((resolve) => consumer.disconnect(resolve));
    }
  });

  it('delivers point-to-point with @stomp/stompjs over WebSocket, negotiating v12.stomp', async () => {
    const queue = `/queue/${uniqueName('stompjs')}`;
    const sockets: WebSocket[] = [];
    const client = new Client({
      webSocketFactory: () => {
        const ws = new WebSocket(`ws://${host}:${broker.wsPort}`, ['v12.stomp']);
        sockets.push(ws);
        return ws;
      },
      connectHeaders: { login: 'admin', passcode: 'admin' },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => undefined,
    });
    const connected = new Promise<void>((resolve, reject) => {
      client.onConnect = () => resolve();
      client.onStompError = (frame) => reject(new Error(frame.headers['message']));
      client.onWebSocketError = () => reject(new Error('WebSocket error'));
    });
    client.activate();
    try {
      await connected;
      expect(sockets[0]?.protocol).toBe('v12.stomp');
      expect(client.connectedVersion).toBe('1.2');
      const received: IMessage[] = [];
      client.subscribe(queue, (message) => received.push(message), { ack: 'auto' });
      const receipt = new Promise<void>((resolve) =>
        client.watchForReceipt('sent-1', () => resolve()),
      );
      client.publish({
        destination: queue,
        body: 'hello over websocket',
        headers: { persistent: 'true', receipt: 'sent-1' },
      });
      await receipt;
      await waitFor(() => received.length === 1, 5000, 'the message over WebSocket');
      expect(received[0]?.body).toBe('hello over websocket');
      expect(received[0]?.headers['destination']).toBe(queue);
      // A TCP client sees what a WebSocket client sends, and the other way round.
      const tcp = await connect();
      await tcp.send(queue, 'from tcp');
      await waitFor(() => received.length === 2, 5000, 'the message from TCP');
      expect(received[1]?.body).toBe('from tcp');
    } finally {
      await client.deactivate();
    }
  });

  it('delivers FIFO within a priority and higher priorities first', async () => {
    const queue = `/queue/${uniqueName('priority')}`;
    const producer = await connect();
    const sent: Array<[string, number]> = [
      ['a4', 4],
      ['b9', 9],
      ['c0', 0],
      ['d9', 9],
      ['e4', 4],
      ['f0', 0],
      ['g7', 7],
      ['h4', 4],
    ];
    for (const [body, priority] of sent)
      await producer.send(queue, body, { priority, persistent: true });
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    const messages = await inbox.take(sent.length);
    expect(messages.map((m) => m.body.toString())).toEqual([
      'b9',
      'd9',
      'g7',
      'a4',
      'e4',
      'h4',
      'c0',
      'f0',
    ]);
    expect(messages.map((m) => m.headers['priority'])).toEqual([
      '9',
      '9',
      '7',
      '4',
      '4',
      '4',
      '0',
      '0',
    ]);
  });

  it('orders non-persistent messages the same way', async () => {
    const queue = `/queue/${uniqueName('priority-np')}`;
    const producer = await connect();
    for (const [body, priority] of [
      ['x1', 1],
      ['y8', 8],
      ['x2', 1],
      ['y9', 9],
    ] as const) {
      await producer.send(queue, body, { priority });
    }
    const consumer = await connect();
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler);
    expect((await inbox.take(4)).map((m) => m.body.toString())).toEqual(['y9', 'y8', 'x1', 'x2']);
  });

  it('shares a queue between competing consumers, each message to exactly one', async () => {
    const queue = `/queue/${uniqueName('competing')}`;
    const first = await connect();
    const second = await connect();
    const inboxA = new Inbox();
    const inboxB = new Inbox();
    await first.subscribe(queue, inboxA.handler);
    await second.subscribe(queue, inboxB.handler);
    const producer = await connect();
    const bodies = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await Promise.all(bodies.map((body) => producer.send(queue, body, { persistent: true })));
    await waitFor(
      () => inboxA.messages.length + inboxB.messages.length >= bodies.length,
      5000,
      'all messages',
    );
    const all = [...inboxA.bodies, ...inboxB.bodies];
    expect(all).toHaveLength(bodies.length);
    expect(new Set(all)).toEqual(new Set(bodies));
    expect(inboxA.messages.length).toBeGreaterThan(0);
    expect(inboxB.messages.length).toBeGreaterThan(0);
    // Each consumer sees its share in send order.
    const order = (xs: string[]): number[] => xs.map((b) => Number(b.slice(1)));
    expect(order(inboxA.bodies)).toEqual([...order(inboxA.bodies)].sort((x, y) => x - y));
    expect(order(inboxB.bodies)).toEqual([...order(inboxB.bodies)].sort((x, y) => x - y));
  });

  it('limits unacknowledged deliveries to activemq.prefetchSize per consumer', async () => {
    const queue = `/queue/${uniqueName('prefetch')}`;
    const producer = await connect();
    for (const body of ['p1', 'p2', 'p3']) await producer.send(queue, body, { persistent: true });
    const first = await connect();
    const inboxA = new Inbox();
    await first.subscribe(queue, inboxA.handler, {
      ack: 'client-individual',
      'activemq.prefetchSize': 1,
    });
    const [p1] = await inboxA.take(1);
    expect(p1?.body.toString()).toBe('p1');
    // Had the first consumer taken more than one, the second would find nothing.
    const second = await connect();
    const inboxB = new Inbox();
    await second.subscribe(queue, inboxB.handler, {
      ack: 'client-individual',
      'activemq.prefetchSize': 1,
    });
    const [p2] = await inboxB.take(1);
    expect(p2?.body.toString()).toBe('p2');
    expect(inboxA.bodies).toEqual(['p1']);
    expect(await queueSize(broker, queue)).toBe(3);
    // Acknowledging frees the credit: the first consumer gets the last message.
    await p1!.ack();
    await inboxA.take(2);
    expect(inboxA.bodies).toEqual(['p1', 'p3']);
    expect(inboxB.bodies).toEqual(['p2']);
    await inboxA.messages[1]!.ack();
    await p2!.ack();
    await waitForAsync(
      async () => (await queueSize(broker, queue)) === 0,
      5000,
      'the queue to be empty',
    );
  });
});
