import { Client, type IFrame, type IMessage } from '@stomp/stompjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  host,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  waitForAsync,
  type TestBroker,
} from './broker.test-helper.js';

// The destination features of issue 13 that ActiveMQ 5.x clients use: temporary destinations
// with reply-to (request-reply), exclusive consumers, message groups, and durable topic
// subscriptions under every header name ActiveMQ reads. Driven with @stomp/stompjs.

const deadlineMs = 30_000;

describe('STOMP destinations as ActiveMQ 5.x has them', () => {
  let broker: TestBroker;
  const clients: Client[] = [];

  beforeAll(async () => {
    broker = await startTestBroker('stomp_destinations');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.deactivate()));
    await broker?.close();
  });

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

  async function subscribe(
    client: Client,
    destination: string,
    headers: Record<string, string> = {},
  ): Promise<{ received: IMessage[]; unsubscribe: (headers?: Record<string, string>) => void }> {
    const received: IMessage[] = [];
    const receipt = `s-${uniqueName('sub')}`;
    const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
    const subscription = client.subscribe(destination, (m) => received.push(m), {
      ...headers,
      receipt,
    });
    await done;
    return { received, unsubscribe: (h) => subscription.unsubscribe(h) };
  }

  const bodies = (messages: readonly IMessage[]): string[] => messages.map((m) => m.body);
  const count = (messages: readonly IMessage[], n: number, what: string): Promise<void> =>
    waitFor(
      () => messages.length >= n,
      deadlineMs,
      `${n} ${what} (got ${JSON.stringify(bodies(messages))})`,
    );

  describe('temporary destinations with reply-to', () => {
    it('answers a request on the requester’s /temp-queue/, named /remote-temp-queue/ID:... to others', async () => {
      const service = `/queue/${uniqueName('service')}`;
      const requester = await stompjs();
      const responder = await stompjs();
      const replies = await subscribe(requester.client, '/temp-queue/replies');
      const requests = await subscribe(responder.client, service);
      await publish(requester.client, service, 'ping', { 'reply-to': '/temp-queue/replies' });
      await count(requests.received, 1, 'request');
      const replyTo = requests.received[0]!.headers['reply-to']!;
      // ActiveMQ's LegacyFrameTranslator: other connections see the broker-wide name.
      expect(replyTo).toMatch(/^\/remote-temp-queue\/ID:.+:\d+$/);
      await publish(responder.client, replyTo, 'pong', { 'correlation-id': 'c1' });
      await count(replies.received, 1, 'reply');
      const reply = replies.received[0]!;
      expect(reply.body).toBe('pong');
      // Its creator sees its own name for it.
      expect(reply.headers['destination']).toBe('/temp-queue/replies');
      expect(reply.headers['correlation-id']).toBe('c1');
      // Not among the broker's destinations, which are the replicated ones.
      const listed = await broker.server.runtime.engine.admin.listDestinations();
      expect(listed.some((d) => d.name.startsWith('ID:'))).toBe(false);

      // Deleted with its connection: a late reply is refused, saying why.
      await requester.client.deactivate();
      await waitForAsync(
        async () => {
          const other = await stompjs();
          other.client.publish({ destination: replyTo, body: 'too late' });
          await waitFor(
            () => other.errors.length > 0 || !other.client.connected,
            deadlineMs,
            'an answer to the late reply',
          );
          return other.errors.some((e) => e.headers['message']?.includes('does not exist'));
        },
        deadlineMs,
        'a reply to the closed connection’s temporary queue refused',
      );
    });

    it('gives each connection its own /temp-queue/NAME and /temp-topic/NAME', async () => {
      const a = await stompjs();
      const b = await stompjs();
      const onA = await subscribe(a.client, '/temp-queue/inbox');
      const onB = await subscribe(b.client, '/temp-queue/inbox');
      const topicA = await subscribe(a.client, '/temp-topic/events');
      await publish(a.client, '/temp-queue/inbox', 'for a');
      await publish(b.client, '/temp-queue/inbox', 'for b');
      await publish(a.client, '/temp-topic/events', 'event');
      await count(onA.received, 1, 'message on a');
      await count(onB.received, 1, 'message on b');
      await count(topicA.received, 1, 'event on a');
      expect(bodies(onA.received)).toEqual(['for a']);
      expect(bodies(onB.received)).toEqual(['for b']);
      expect(topicA.received[0]!.headers['destination']).toBe('/temp-topic/events');
    });
  });

  describe('exclusive consumers', () => {
    it('sends everything to the first exclusive consumer; the next exclusive one takes over', async () => {
      const queue = `/queue/${uniqueName('excl')}`;
      const producer = await stompjs();
      const plain = await stompjs();
      const first = await stompjs();
      const second = await stompjs();
      const onPlain = await subscribe(plain.client, queue);
      const onFirst = await subscribe(first.client, queue, { 'activemq.exclusive': 'true' });
      const onSecond = await subscribe(second.client, queue, { 'activemq.exclusive': 'true' });
      for (let i = 0; i < 10; i++) await publish(producer.client, queue, `a${i}`);
      await count(onFirst.received, 10, 'messages on the exclusive consumer');
      expect(bodies(onFirst.received)).toEqual([...Array(10).keys()].map((i) => `a${i}`));

      await first.client.deactivate();
      for (let i = 0; i < 5; i++) await publish(producer.client, queue, `b${i}`);
      await count(onSecond.received, 5, 'messages on the next exclusive consumer');
      expect(bodies(onSecond.received)).toEqual([...Array(5).keys()].map((i) => `b${i}`));
      expect(onPlain.received).toEqual([]);

      // With no exclusive consumer left, the others share the queue again.
      await second.client.deactivate();
      await publish(producer.client, queue, 'shared');
      await count(onPlain.received, 1, 'message on the remaining consumer');
    });
  });

  describe('message groups', () => {
    it('keeps each JMSXGroupID on one consumer, in order, and reassigns it when that consumer goes', async () => {
      const queue = `/queue/${uniqueName('groups')}`;
      const producer = await stompjs();
      const a = await stompjs();
      const b = await stompjs();
      const onA = await subscribe(a.client, queue, { ack: 'client-individual' });
      const onB = await subscribe(b.client, queue, { ack: 'client-individual' });
      const groups = ['g1', 'g2', 'g3', 'g4'];
      for (let i = 0; i < 20; i++) {
        const group = groups[i % groups.length]!;
        await publish(producer.client, queue, `${group}-${i}`, { JMSXGroupID: group });
      }
      await waitFor(
        () => onA.received.length + onB.received.length === 20,
        deadlineMs,
        'all 20 grouped messages delivered',
      );
      const groupsOf = (messages: readonly IMessage[]): Set<string> =>
        new Set(messages.map((m) => m.headers['JMSXGroupID']!));
      const onlyA = groupsOf(onA.received);
      const onlyB = groupsOf(onB.received);
      expect([...onlyA].filter((g) => onlyB.has(g))).toEqual([]);
      expect(onlyA.size).toBeGreaterThan(0);
      expect(onlyB.size).toBeGreaterThan(0);
      for (const messages of [onA.received, onB.received]) {
        for (const group of groups) {
          const seqs = messages
            .filter((m) => m.headers['JMSXGroupID'] === group)
            .map((m) => Number(m.body.split('-')[1]));
          expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        }
      }

      // a leaves with its messages unacknowledged: they and its groups go to b.
      const ackedOnB = onB.received.length;
      for (const m of onB.received) m.ack();
      await a.client.deactivate();
      for (const group of onlyA)
        await publish(producer.client, queue, `${group}-after`, { JMSXGroupID: group });
      await count(onB.received, 20 + onlyA.size, 'redelivered and new messages on b');
      expect(onB.received.slice(-onlyA.size).map((m) => m.body)).toEqual(
        [...onlyA].map((g) => `${g}-after`),
      );
      for (const m of onB.received.slice(ackedOnB)) m.ack();
      await waitForAsync(
        async () => (await queueSize(broker, queue)) === 0,
        deadlineMs,
        'the queue emptied',
      );
    });
  });

  describe('durable topic subscriptions', () => {
    it('keeps filtering by its selector while away across a restart; another selector replaces it', async () => {
      const clientId = uniqueName('sel-client');
      const topic = `/topic/${uniqueName('dsel')}`;
      const name = topic.slice('/topic/'.length);
      const reds = { 'activemq.subscriptionName': 'reds', selector: "color = 'red'" };
      const first = await stompjs({ 'client-id': clientId });
      await subscribe(first.client, topic, reds);
      await first.client.deactivate();
      await broker.restart();
      const producer = await stompjs();
      await publish(producer.client, topic, 'blue', { color: 'blue' });
      await publish(producer.client, topic, 'red', { color: 'red' });
      const held = async (): Promise<number | undefined> =>
        (await broker.server.runtime.engine.admin.listDestinations()).find(
          (d) => d.kind === 'topic' && d.name === name,
        )?.queueSize;
      expect(await held()).toBe(1);

      // ActiveMQ's hasDurableSubChanged: a new selector makes a new, empty subscription.
      const again = await stompjs({ 'client-id': clientId });
      const blues = await subscribe(again.client, topic, {
        'activemq.subscriptionName': 'reds',
        selector: "color = 'blue'",
      });
      expect(await held()).toBe(0);
      await publish(producer.client, topic, 'blue again', { color: 'blue' });
      await count(blues.received, 1, 'message selected by the new selector');
      expect(bodies(blues.received)).toEqual(['blue again']);
    });

    for (const header of ['activemq.subscriptionName', 'durable-subscription-name']) {
      it(`keeps messages while away and is removed by UNSUBSCRIBE, named by ${header}`, async () => {
        const clientId = uniqueName('client');
        const topic = `/topic/${uniqueName('durable')}`;
        const name = topic.slice('/topic/'.length);
        const named = { [header]: 'sub1' };
        const first = await stompjs({ 'client-id': clientId });
        await subscribe(first.client, topic, named);
        await first.client.deactivate();
        const producer = await stompjs();
        await publish(producer.client, topic, 'while away');
        const durables = async (): Promise<number | undefined> =>
          (await broker.server.runtime.engine.admin.listDestinations()).find(
            (d) => d.kind === 'topic' && d.name === name,
          )?.durableSubscriptionCount;
        expect(await durables()).toBe(1);

        const again = await stompjs({ 'client-id': clientId });
        const back = await subscribe(again.client, topic, named);
        await count(back.received, 1, 'message kept while away');
        expect(back.received[0]!.body).toBe('while away');
        back.unsubscribe(named);
        await waitForAsync(async () => (await durables()) === 0, deadlineMs, 'removed');
      });
    }
  });
});
