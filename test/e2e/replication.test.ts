import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StompClient, StompMessage } from '@crdr/stomp';
import { waitFor } from '@crdr/testing';
import { sampleLag } from '../support/lag-sampler.js';
import { startReplicationLoad } from '../support/replication-load.js';
import { probeReplicaRefusal } from '../support/replica-refusal.js';
import { startTwoRegions, type SettledDigests, type TwoRegions } from '../support/two-regions.js';

// Replication end to end (issue 3): two Regions as real processes (see two-regions.ts). The
// steps run in order on one pair: refusal before anything, snapshot of data written before
// replication was turned on, then ~10 s of mixed load, then lag 0 and identical digests.

const MAX_REDELIVERIES = 2;
const LOAD_MS = 10_000;

let regions: TwoRegions;

beforeAll(async () => {
  regions = await startTwoRegions({
    name: 'e2e-repl',
    primaryEnv: { BROKER_MAX_REDELIVERIES: String(MAX_REDELIVERIES) },
  });
});

afterAll(async () => {
  await regions?.stop();
});

async function expectReplicaRefuses(when: string): Promise<void> {
  const refusal = await probeReplicaRefusal(regions);
  expect(refusal.stompError, `${when}: STOMP CONNECT refused, naming the primary`).toMatch(
    new RegExp(`${regions.ids.primary}.*region-a`),
  );
  expect(refusal.grpcCode, `${when}: gRPC Send refused`).toBe('FailedPrecondition');
  expect(refusal.grpcMessage).toContain(regions.ids.primary);
}

function expectSameState(digests: SettledDigests): void {
  const { primary, replica } = digests;
  expect(replica.sequence).toBe(primary.sequence);
  expect({
    destinations: replica.destinations,
    durableSubscriptions: replica.durableSubscriptions,
    messages: replica.messages,
    users: replica.users,
  }).toEqual({
    destinations: primary.destinations,
    durableSubscriptions: primary.durableSubscriptions,
    messages: primary.messages,
    users: primary.users,
  });
  expect(replica.digest, 'replica digest = primary digest').toBe(primary.digest);
}

/** Receives one message of `queue` without acknowledging it, then drops the connection. */
async function deliverOnceUnacked(client: StompClient, queue: string): Promise<void> {
  const got: StompMessage[] = [];
  await client.subscribe(queue, (m) => got.push(m), {
    ack: 'client-individual',
    'activemq.prefetchSize': 1,
  });
  await waitFor(() => got.length > 0, `a delivery from ${queue}`);
  await client.disconnect();
}

describe('cross-Region replication, end to end', () => {
  it('the replica refuses STOMP and gRPC clients from the start, naming its primary', async () => {
    await expectReplicaRefuses('at the start');
  });

  it('data written before replication is turned on arrives through the snapshot', async () => {
    const client = await regions.connectPrimary();
    for (let i = 0; i < 200; i++) {
      await client.send(
        '/queue/seed.backlog',
        `seed ${i} ${'x'.repeat(i % 50)}`,
        { persistent: true, priority: i % 10, 'x-seed': i },
        { receipt: i % 50 === 49 },
      );
    }
    // A durable subscriber away, with messages kept for it.
    const subscriber = await regions.connectPrimary({ clientId: 'seed-subscriber' });
    await subscriber.subscribe('/topic/seed.news', () => undefined, {
      'activemq.subscriptionName': 'seed-news',
      ack: 'client-individual',
      'activemq.prefetchSize': 1,
    });
    await subscriber.disconnect();
    for (let i = 0; i < 20; i++)
      await client.send('/topic/seed.news', `news ${i}`, { persistent: true }, { receipt: true });
    // A message already delivered once (its delivery count is part of the state).
    await client.send('/queue/seed.redelivered', 'once', { persistent: true }, { receipt: true });
    await deliverOnceUnacked(await regions.connectPrimary(), '/queue/seed.redelivered');
    // An expired message, moved to the DLQ by the expiry sweep.
    await client.send(
      '/queue/seed.expiring',
      'gone soon',
      { persistent: true, expires: Date.now() + 100 },
      { receipt: true },
    );
    await client.disconnect();
    await regions.regionA.admin.createUser({
      username: 'seed-app',
      password: 'seed-app-password',
      groups: ['apps'],
      consoleAccess: false,
      replicationUser: false,
    });
    await waitFor(
      async () => {
        const { destinations } = await regions.regionA.admin.listDestinations({});
        return destinations.some((d) => d.name === 'ActiveMQ.DLQ' && d.queueSize === '1');
      },
      'the expired message in the DLQ',
      5_000,
    );

    const before = await regions.digests();
    expect(Number(before.primary.messages)).toBeGreaterThanOrEqual(222);
    expect(before.replica.digest, 'nothing replicated yet').not.toBe(before.primary.digest);
    expect(before.replica.messages).toBe('0');

    const startedMs = performance.now();
    await regions.enableReplication();
    const lag = await regions.waitForLagZero();
    const snapshotMs = performance.now() - startedMs;
    const digests = await regions.settledDigests();
    console.info(
      `snapshot: ${digests.primary.messages} messages, ${digests.primary.destinations} destinations, ` +
        `${digests.primary.durableSubscriptions} durable subscriptions, ${digests.primary.users} users ` +
        `replicated in ${Math.round(snapshotMs)} ms (SetRole to lag 0, replicator start included); ` +
        `log at sequence ${lag.sequence}`,
    );
    expectSameState(digests);
    expect(Number(digests.replica.messages)).toBeGreaterThanOrEqual(222);
    expect(digests.replica.durableSubscriptions).toBeGreaterThanOrEqual(1);
    expect(digests.replica.users).toBeGreaterThanOrEqual(2);
    await expectReplicaRefuses('after the snapshot');
  });

  it('under ~10 s of mixed load the replica converges to the same state, and refuses clients throughout', async () => {
    const load = startReplicationLoad({
      connect: (options) => regions.connectPrimary(options),
      admin: regions.regionA.admin,
      prefix: 'e2e',
    });
    const lagSampler = sampleLag(regions);
    const loadStartedMs = performance.now();
    await sleep(LOAD_MS / 2);
    await expectReplicaRefuses('during the load');
    const midway = await regions.digests();
    await sleep(LOAD_MS / 2);
    // The load runs on until it did what it claims (checked below), however busy the machine:
    // its size is a floor of work, never a figure reached within a fixed time.
    const f = load.figures;
    await waitFor(
      () =>
        f.sent > 500 &&
        f.acked > 100 &&
        f.committed > 5 &&
        f.aborted > 2 &&
        f.transactionalAcks > 5 &&
        f.nacked > MAX_REDELIVERIES * 5 &&
        f.expiringSent > 20 &&
        f.topicSent > 50 &&
        f.durableAcked > 20 &&
        f.durablesRemoved > 0,
      "the load's minimum of work",
      120_000,
      250,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(f)}`, { cause: error });
    });
    const figures = await load.stop();
    const loadMs = performance.now() - loadStartedMs;
    const lag = await lagSampler.stop();

    console.info(
      `load for ${Math.round(loadMs)} ms: ${JSON.stringify({ ...figures, errors: figures.errors.length })}`,
    );
    console.info(
      `lag under load (${lag.samples} samples): ReplicationLag TP−TC p50 ${lag.replicationLagMs.p50} ms, ` +
        `p99 ${lag.replicationLagMs.p99} ms, max ${lag.replicationLagMs.max} ms; events behind p50 ` +
        `${lag.eventsBehind.p50}, p99 ${lag.eventsBehind.p99}, max ${lag.eventsBehind.max}`,
    );
    expect(figures.errors, 'load errors').toEqual([]);
    // The lag was sampled while the load ran; pnpm bench:replication measures it properly, and
    // the digests below fail the test when replication stops keeping up.
    expect(lag.samples).toBeGreaterThan(10);
    // The load did what it claims, or the comparison below would prove less than it says.
    expect(figures.sent).toBeGreaterThan(500);
    expect(figures.acked).toBeGreaterThan(100);
    expect(figures.committed).toBeGreaterThan(5);
    expect(figures.aborted).toBeGreaterThan(2);
    expect(figures.transactionalAcks).toBeGreaterThan(5);
    expect(figures.nacked).toBeGreaterThan(MAX_REDELIVERIES * 5);
    expect(figures.expiringSent).toBeGreaterThan(20);
    expect(figures.topicSent).toBeGreaterThan(50);
    expect(figures.durableAcked).toBeGreaterThan(20);
    expect(figures.durablesRemoved).toBeGreaterThan(0);
    expect(figures.adminChanges).toBeGreaterThan(0);
    // The replica was not idle while the load ran: it applied events during it.
    expect(BigInt(midway.replica.sequence)).toBeGreaterThan(0n);

    const lastSequence = await regions.waitForQuietPrimary();
    const lagZero = await regions.waitForLagZero();
    const digests = await regions.settledDigests();
    console.info(
      `after the load: log at sequence ${lastSequence}; lag 0 reached ${Math.round(lagZero.tookMs)} ms ` +
        `after the primary went quiet; ${digests.primary.messages} messages, ` +
        `${digests.primary.destinations} destinations, ${digests.primary.durableSubscriptions} ` +
        `durable subscriptions, ${digests.primary.users} users`,
    );
    expectSameState(digests);
    expect(Number(digests.replica.messages)).toBeGreaterThan(500);
    expect(digests.replica.durableSubscriptions).toBeGreaterThanOrEqual(3);

    // What the load left in the DLQ (nacked, expired) is there on the primary,
    // so the equal digests cover DLQ moves and expiries.
    const { destinations } = await regions.regionA.admin.listDestinations({});
    const dlq = destinations.find((d) => d.name === 'ActiveMQ.DLQ');
    expect(Number(dlq?.queueSize ?? 0)).toBeGreaterThan(20);

    // The primary sees the replica's consumer acknowledge the whole log.
    const { consumer } = regions.ids;
    let status = await regions.regionA.admin.getReplicationStatus({});
    await waitFor(
      async () => {
        status = await regions.regionA.admin.getReplicationStatus({});
        const replica = status.replicas.find((r) => r.consumer === consumer);
        return replica !== undefined && replica.acknowledgedSequence === status.lastSequence;
      },
      "the replica's acknowledged sequence reaching the primary's last sequence",
      10_000,
      100,
    ).catch(() => undefined); // the assertions below say what is wrong
    const acknowledgement = status.replicas.find((r) => r.consumer === consumer);
    expect(status.role).toBe('PRIMARY');
    expect(status.dataReplicationMode).toBe('CRDR');
    expect(status.publishedSequence).toBe(status.lastSequence);
    expect(acknowledgement?.acknowledgedSequence).toBe(status.lastSequence);
    expect(acknowledgement?.pendingCount).toBe('0');
    expect(Number(acknowledgement?.acknowledgedAtMs)).toBeGreaterThan(0);

    await expectReplicaRefuses('at the end');
  });
});
