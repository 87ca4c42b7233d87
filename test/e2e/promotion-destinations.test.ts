import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStomp, type StompClient, type StompMessage } from '@crdr/stomp';
import { hostPort, waitFor } from '@crdr/testing';
import type { DescribedBroker } from '../support/control-plane.js';
import {
  appUser,
  createPair,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegions,
} from '../support/promotion-regions.js';

// Issue 13, end to end on a CRDR pair: a durable topic subscription (ActiveMQ's client-id and
// activemq.subscriptionName) with messages pending, and a queue with messages waiting for an
// exclusive consumer, replicate; after a switchover the new primary has the subscription and its
// messages, and an exclusive consumer set up there gets the whole queue while a plain consumer
// of it gets nothing. Exclusivity and group owners are the connections' (not replicated, as in
// ActiveMQ): the consumers subscribe again on the new primary.

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;
const clients: StompClient[] = [];

const role = (b: DescribedBroker) => b.dataReplicationMetadata?.dataReplicationRole;
const status = (b: DescribedBroker) => b.dataReplicationMetadata?.replicationStatus;

async function connect(broker: DescribedBroker, clientId?: string): Promise<StompClient> {
  const [endpoint] = stompEndpoints(broker);
  const client = await connectStomp({
    ...hostPort(endpoint!),
    login: appUser.username,
    passcode: appUser.password,
    connectTimeoutMs: 10_000,
    ...(clientId === undefined ? {} : { clientId }),
  });
  clients.push(client);
  return client;
}

/** Connects to whichever instance of the broker serves (the other refuses until it does). */
async function connectServing(broker: DescribedBroker, clientId?: string): Promise<StompClient> {
  let client: StompClient | undefined;
  let last: unknown;
  await waitFor(
    async () => {
      for (const endpoint of stompEndpoints(broker)) {
        try {
          client = await connectStomp({
            ...hostPort(endpoint),
            login: appUser.username,
            passcode: appUser.password,
            connectTimeoutMs: 10_000,
            ...(clientId === undefined ? {} : { clientId }),
          });
          clients.push(client);
          return true;
        } catch (error) {
          last = error;
        }
      }
      return false;
    },
    'an instance that accepts the app user',
    60_000,
    200,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${String(last)}`, { cause: error });
  });
  return client!;
}

beforeAll(async () => {
  regions = await startPromotionRegions('promodest');
  ({ primaryId, replicaId } = await createPair(regions, 'desk'));
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await regions?.stop();
});

describe('ActiveMQ destination features across a switchover', () => {
  it('a durable subscription with pending messages and an exclusive-consumer queue work on the new primary', async () => {
    const topic = '/topic/Prices';
    const queue = '/queue/Work';
    const a0 = await regions.a.describe(primaryId);

    const subscriber = await connectServing(a0, 'desk-client');
    const durableHeaders = { 'activemq.subscriptionName': 'desk', selector: "color = 'red'" };
    const subscriptionId = await subscriber.subscribe(topic, () => undefined, durableHeaders);
    await subscriber.unsubscribe(subscriptionId);
    await subscriber.disconnect();

    const producer = await connectServing(a0);
    for (let i = 0; i < 5; i++)
      await producer.send(
        topic,
        `price-${i}`,
        { persistent: 'true', color: 'red' },
        { receipt: true },
      );
    for (let i = 0; i < 6; i++)
      await producer.send(queue, `work-${i}`, { persistent: 'true' }, { receipt: true });
    await producer.disconnect();

    await regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' });
    const b1 = await regions.b.waitForBroker(
      replicaId,
      (d) => role(d) === 'PRIMARY' && status(d) === 'PROMOTED' && d.brokerState === 'RUNNING',
      'PRIMARY, PROMOTED and RUNNING',
    );

    // An exclusive consumer and then a plain one on the queue: the exclusive one gets it all.
    const exclusive = await connect(b1);
    const exclusiveGot: string[] = [];
    await exclusive.subscribe(queue, (m: StompMessage) => exclusiveGot.push(m.body.toString()), {
      ack: 'auto',
      'activemq.exclusive': 'true',
    });
    const plain = await connect(b1);
    const plainGot: string[] = [];
    await plain.subscribe(queue, (m: StompMessage) => plainGot.push(m.body.toString()), {
      ack: 'auto',
    });

    // The subscriber is still away: the new primary filters by the replicated selector.
    const topicProducer = await connect(b1);
    await topicProducer.send(
      topic,
      'blue',
      { persistent: 'true', color: 'blue' },
      { receipt: true },
    );
    await topicProducer.send(
      topic,
      'price-5',
      { persistent: 'true', color: 'red' },
      { receipt: true },
    );
    const durable = await connect(b1, 'desk-client');
    const prices: string[] = [];
    await durable.subscribe(
      topic,
      (m: StompMessage) => prices.push(m.body.toString()),
      durableHeaders,
    );
    await waitFor(() => prices.length >= 6, 'the 6 pending messages of the durable subscription');
    expect(prices).toEqual([0, 1, 2, 3, 4, 5].map((i) => `price-${i}`));

    const moreProducer = await connect(b1);
    for (let i = 6; i < 10; i++)
      await moreProducer.send(queue, `work-${i}`, { persistent: 'true' }, { receipt: true });
    await waitFor(
      () => exclusiveGot.length + plainGot.length >= 10,
      'the 10 queued messages delivered',
    );
    expect(plainGot).toEqual([]);
    expect(exclusiveGot).toEqual([...Array(10).keys()].map((i) => `work-${i}`));
  });
});
