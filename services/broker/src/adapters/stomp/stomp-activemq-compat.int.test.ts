import { Client, type IFrame, type IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  RawStompConnection,
  host,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  waitForAsync,
  type TestBroker,
} from './broker.test-helper.js';

// What ActiveMQ 5.x clients rely on where STOMP leaves a choice open (issue 13): destination
// names with "/", composite destinations, wildcard subscriptions, JMS selectors, NACK to
// ActiveMQ.DLQ, heart-beats as the spec negotiates them, and an unescaped ERROR before CONNECTED.
// Driven with @stomp/stompjs (over WebSocket) and raw frames where the bytes matter.

const deadlineMs = 30_000;

describe('STOMP as ActiveMQ 5.x clients expect it', () => {
  let broker: TestBroker;
  const clients: Client[] = [];
  const raws: RawStompConnection[] = [];

  beforeAll(async () => {
    broker = await startTestBroker('stomp_amq_compat');
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await Promise.allSettled(clients.map((c) => c.deactivate()));
    await broker?.close();
  });

  /** A connected @stomp/stompjs client; errors are collected, not thrown. */
  async function stompjs(
    connectHeaders: Record<string, string> = {},
  ): Promise<{ client: Client; errors: IFrame[] }> {
    const errors: IFrame[] = [];
    const client = new Client({
      webSocketFactory: () => new WebSocket(`ws://${host}:${broker.wsPort}`, ['v12.stomp']),
      connectHeaders: { login: 'admin', passcode: 'admin', ...connectHeaders },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => undefined,
    });
    clients.push(client);
    const connected = new Promise<void>((resolve, reject) => {
      client.onConnect = () => resolve();
      client.onWebSocketError = () => reject(new Error('WebSocket error'));
    });
    client.onStompError = (frame) => errors.push(frame);
    client.activate();
    await connected;
    return { client, errors };
  }

  /** Publishes with a receipt and waits for it: the message is in the broker. */
  async function publish(
    client: Client,
    destination: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    const receipt = `r-${uniqueName('send')}`;
    const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
    client.publish({ destination, body, headers: { persistent: 'true', ...headers, receipt } });
    await done;
  }

  /** Subscribes with a receipt, so that the subscription exists when this returns. */
  async function subscribe(
    client: Client,
    destination: string,
    headers: Record<string, string> = {},
  ): Promise<IMessage[]> {
    const received: IMessage[] = [];
    const receipt = `s-${uniqueName('sub')}`;
    const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
    client.subscribe(destination, (m) => received.push(m), { ...headers, receipt });
    await done;
    return received;
  }

  const bodies = (messages: readonly IMessage[]): string[] => messages.map((m) => m.body);
  const until = (messages: readonly IMessage[], body: string): Promise<void> =>
    waitFor(
      () => messages.some((m) => m.body === body),
      deadlineMs,
      `message "${body}" (got ${JSON.stringify(bodies(messages))})`,
    );

  describe('destination names', () => {
    it('accepts a name with "/" inside, its physical name being what follows /queue/', async () => {
      const { client } = await stompjs();
      const name = `test/ruby/stomp/${uniqueName('x')}`;
      const queue = `/queue/${name}`;
      await publish(client, queue, 'with slashes');
      const all = await broker.server.runtime.engine.admin.listDestinations();
      expect(all.find((d) => d.kind === 'queue' && d.name === name)?.queueSize).toBe(1);
      const received = await subscribe(client, queue, { ack: 'auto' });
      await until(received, 'with slashes');
      expect(received[0]?.headers['destination']).toBe(queue);
    });

    it('sends one copy to each part of a composite destination', async () => {
      const { client } = await stompjs();
      const a = `/queue/${uniqueName('comp-a')}`;
      const t = `/topic/${uniqueName('comp-t')}`;
      const onTopic = await subscribe(client, t);
      await publish(client, `${a},${t}`, 'to both');
      await until(onTopic, 'to both');
      expect(onTopic[0]?.headers['destination']).toBe(t);
      expect(await queueSize(broker, a)).toBe(1);
      const onQueue = await subscribe(client, a);
      await until(onQueue, 'to both');
      expect(onQueue[0]?.headers['destination']).toBe(a);
      expect(onQueue[0]?.headers['message-id']).toBe(onTopic[0]?.headers['message-id']);
    });

    it('subscribes to a composite destination', async () => {
      const { client } = await stompjs();
      const a = `/queue/${uniqueName('csub-a')}`;
      const b = `/queue/${uniqueName('csub-b')}`;
      const received = await subscribe(client, `${a},${b}`);
      await publish(client, a, 'from a');
      await publish(client, b, 'from b');
      await until(received, 'from a');
      await until(received, 'from b');
      expect(received.map((m) => m.headers['destination']).sort()).toEqual([a, b].sort());
    });
  });

  describe('wildcards', () => {
    it('matches topics with * (one part) and > (the rest, none included), including topics created later', async () => {
      const { client } = await stompjs();
      const root = uniqueName('wild').replace(/\./g, '_');
      await publish(client, `/topic/${root}.early.x`, 'creates the topic');
      const star = await subscribe(client, `/topic/${root}.*.x`);
      const rest = await subscribe(client, `/topic/${root}.>`);
      // Created after the subscriptions: they follow it.
      await publish(client, `/topic/${root}.late.x`, 'late');
      await publish(client, `/topic/${root}.early.x`, 'early');
      await publish(client, `/topic/${root}.a.b.c`, 'deep');
      await publish(client, `/topic/${root}`, 'root itself');
      await publish(client, `/topic/${root}.end.x`, 'end');
      await until(star, 'end');
      await until(rest, 'end');
      expect(bodies(star)).toEqual(['late', 'early', 'end']);
      // > matches the rest, none included: the root itself too (ActiveMQ 5.17).
      expect(bodies(rest)).toEqual(['late', 'early', 'deep', 'root itself', 'end']);
      expect(star[0]?.headers['destination']).toBe(`/topic/${root}.late.x`);
    });

    it('consumes from every matching queue, including queues created later', async () => {
      const { client } = await stompjs();
      const root = uniqueName('wq').replace(/\./g, '_');
      await publish(client, `/queue/${root}.one`, 'one');
      const received = await subscribe(client, `/queue/${root}.*`, { ack: 'client-individual' });
      await until(received, 'one');
      await publish(client, `/queue/${root}.two`, 'two');
      await until(received, 'two');
      for (const message of received) message.ack();
      await waitForAsync(
        async () =>
          (await queueSize(broker, `/queue/${root}.one`)) === 0 &&
          (await queueSize(broker, `/queue/${root}.two`)) === 0,
        deadlineMs,
        'both queues emptied by the acknowledgements',
      );
    });

    it('refuses a wildcard on SEND', async () => {
      const { client, errors } = await stompjs();
      client.publish({ destination: '/topic/a.*', body: 'nowhere' });
      await waitFor(() => errors.length > 0, deadlineMs, 'an ERROR frame');
      expect(errors[0]?.headers['message']).toContain('only on SUBSCRIBE');
    });
  });

  describe('selectors', () => {
    it('delivers to a topic subscriber only what its selector selects', async () => {
      const { client } = await stompjs();
      const topic = `/topic/${uniqueName('sel')}`;
      const red = await subscribe(client, topic, { selector: "color = 'red'" });
      const cheap = await subscribe(client, topic, {
        selector: "convert_string_expressions:price BETWEEN 1 AND 10 AND JMSType LIKE 'fr%'",
      });
      await publish(client, topic, 'red', { color: 'red', price: '50', type: 'fruit' });
      await publish(client, topic, 'blue', { color: 'blue', price: '5', type: 'fruit' });
      await publish(client, topic, 'last', { color: 'red', price: '3', type: 'fresh' });
      await until(red, 'last');
      await until(cheap, 'last');
      expect(bodies(red)).toEqual(['red', 'last']);
      expect(bodies(cheap)).toEqual(['blue', 'last']);
    });

    it('leaves on a queue what no consumer selects, for a consumer that does', async () => {
      const { client } = await stompjs();
      const queue = `/queue/${uniqueName('selq')}`;
      await publish(client, queue, 'low', { level: 'low' });
      await publish(client, queue, 'high', { level: 'high' });
      await publish(client, queue, 'high2', { level: 'high' });
      const high = await subscribe(client, queue, { selector: "level IN ('high')" });
      await until(high, 'high2');
      expect(bodies(high)).toEqual(['high', 'high2']);
      await waitForAsync(
        async () => (await queueSize(broker, queue)) === 1,
        deadlineMs,
        'the low message left on the queue',
      );
      const rest = await subscribe(client, queue, { selector: 'level IS NOT NULL' });
      await until(rest, 'low');
    });

    it('keeps in a durable subscription only what its selector selects, while away too', async () => {
      const clientId = uniqueName('durable-client');
      const topic = `/topic/${uniqueName('dsel')}`;
      const subscriptionName = 'reds';
      const headers = { 'activemq.subscriptionName': subscriptionName, selector: "color = 'red'" };
      const first = await stompjs({ 'client-id': clientId });
      await subscribe(first.client, topic, headers);
      await first.client.deactivate();
      const { client: producer } = await stompjs();
      await publish(producer, topic, 'blue away', { color: 'blue' });
      await publish(producer, topic, 'red away', { color: 'red' });
      const all = await broker.server.runtime.engine.admin.listDestinations();
      const name = topic.slice('/topic/'.length);
      expect(all.find((d) => d.kind === 'topic' && d.name === name)?.queueSize).toBe(1);
      const again = await stompjs({ 'client-id': clientId });
      const received = await subscribe(again.client, topic, headers);
      await publish(producer, topic, 'blue back', { color: 'blue' });
      await publish(producer, topic, 'red back', { color: 'red' });
      await until(received, 'red back');
      expect(bodies(received)).toEqual(['red away', 'red back']);
    });

    it('refuses a selector that does not parse, saying why', async () => {
      const { client, errors } = await stompjs();
      client.subscribe(`/queue/${uniqueName('bad')}`, () => undefined, {
        selector: "color = 'red",
      });
      await waitFor(() => errors.length > 0, deadlineMs, 'an ERROR frame');
      expect(errors[0]?.headers['message']).toBe(
        `invalid selector "color = 'red": the string starting at position 9 is not closed`,
      );
    });
  });

  it('moves a NACKed message to ActiveMQ.DLQ at once (ActiveMQ 5.17)', async () => {
    const { client } = await stompjs();
    const queue = `/queue/${uniqueName('nack')}`;
    await publish(client, queue, 'refused');
    const received = await subscribe(client, queue, { ack: 'client-individual' });
    await until(received, 'refused');
    const dlq = await subscribe(client, '/queue/ActiveMQ.DLQ', {
      ack: 'client-individual',
      selector: `JMSMessageID = '${received[0]!.headers['message-id']}'`,
    });
    received[0]!.nack();
    await until(dlq, 'refused');
    expect(dlq[0]?.headers['original-destination']).toBe(queue);
    dlq[0]!.ack();
    await publish(client, queue, 'next');
    await until(received, 'next');
    // Never redelivered to the queue's consumer.
    expect(bodies(received)).toEqual(['refused', 'next']);
  });

  describe('frames', () => {
    it('answers heart-beat:0,500 so that the broker sends every 500 ms', async () => {
      const connection = await RawStompConnection.connect(broker.stompPort, {
        'heart-beat': '0,500',
      });
      raws.push(connection);
      expect(connection.frames[0]?.headers['heart-beat']).toBe('500,0');
      await waitFor(() => connection.heartbeats >= 3, deadlineMs, 'three heart-beats');
    });

    it('clamps an absurd heart-beat request to 100 ms', async () => {
      const connection = await RawStompConnection.connect(broker.stompPort, {
        'heart-beat': '0,1',
      });
      raws.push(connection);
      expect(connection.frames[0]?.headers['heart-beat']).toBe('100,0');
    });

    it('does not escape an ERROR frame sent before CONNECTED (STOMP 1.0 rules)', async () => {
      const connection = await RawStompConnection.open(broker.stompPort);
      raws.push(connection);
      connection.write(
        'CONNECT\naccept-version:1.2\nhost:/\nlogin:nobody\npasscode:wrong\nreceipt:r:1\n\n\0',
      );
      const error = await connection.next('ERROR', deadlineMs);
      // Decoded as STOMP 1.2 by the test's parser, an escaped ":" would read back as ":" too;
      // the raw header proves it: "r:1" was written, not "r\c1".
      expect(error.headers['receipt-id']).toBe('r:1');
      expect(connection.rawText).toContain('receipt-id:r:1\n');
      expect(connection.rawText).not.toContain('\\c');
    });
  });
});
