/**
 * `pnpm bench:promotion [--rate R]`
 *
 * Two Regions on this machine through their control planes (local provisioner, TLS NATS per
 * Region, real brokers and replicators): a CRDR pair, a steady STOMP producer at R msg/s
 * (default 1,000, from 4 connections; a receipt on every SEND, several in flight) and a consumer, both following
 * whichever broker accepts them. Prints:
 *   - switchover RTO: from the Promote call until the new primary accepts a STOMP CONNECT and
 *     has delivered every message confirmed before the call; lost and duplicated counts (by the
 *     producer's sequence number, on the consumer side);
 *   - failover RTO with every process of region-a killed (kill -9): from the Promote call until
 *     the new primary accepts a STOMP CONNECT and confirms a SEND; lost counts (messages the old
 *     primary confirmed that never reached the replica: asynchronous replication).
 * Prints figures; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectStomp, type StompClient, type StompMessage } from '@crdr/stomp';
import { hostPort } from '@crdr/testing';
import {
  appUser,
  createPair,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegion,
} from '../test/support/promotion-regions.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '1000' } },
  strict: true,
});
const rate = Number(values.rate);
const queue = '/queue/PromotionBench';

async function tryConnect(endpoint: string): Promise<StompClient | undefined> {
  try {
    return await connectStomp({
      ...hostPort(endpoint),
      login: appUser.username,
      passcode: appUser.password,
      connectTimeoutMs: 1_000,
    });
  } catch {
    return undefined;
  }
}

async function connectFirst(endpoints: () => readonly string[]): Promise<StompClient> {
  for (;;) {
    for (const endpoint of endpoints()) {
      const client = await tryConnect(endpoint);
      if (client !== undefined) return client;
    }
    await sleep(10);
  }
}

/** A paced producer (R msg/s, in ticks of 10 ms, each tick's SENDs in flight at once). */
function startLoad(endpoints: () => readonly string[]) {
  let stopped = false;
  let consumerStopped = false;
  const confirmedAt = new Map<number, number>();
  const delivered = new Map<number, number>();
  const acked = new Set<number>();
  let duplicated = 0;
  let seq = 0;
  const startedAt = Date.now();
  let stoppedAt = startedAt;
  const producers = 4;
  const produce = async () => {
    let client: StompClient | undefined;
    const perTick = Math.max(1, Math.round(rate / producers / 100));
    let next = Date.now();
    while (!stopped) {
      client ??= await connectFirst(endpoints);
      const batch = Array.from({ length: perTick }, () => ++seq);
      const c = client;
      const results = await Promise.allSettled(
        batch.map((n) =>
          c.send(queue, `m-${n}`, { persistent: 'true', 'app-seq': n }, { receipt: true }),
        ),
      );
      const now = Date.now();
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') confirmedAt.set(batch[i]!, now);
      });
      if (results.some((r) => r.status === 'rejected')) {
        c.destroy();
        client = undefined;
        continue;
      }
      next += 10;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else next = Date.now();
    }
    await client?.disconnect().catch(() => client?.destroy());
  };
  const producer = Promise.all(Array.from({ length: producers }, produce));
  const consumer = (async () => {
    while (!consumerStopped) {
      const client = await connectFirst(endpoints);
      try {
        await client.subscribe(
          queue,
          (m: StompMessage) => {
            const n = Number(m.headers['app-seq']);
            if (acked.has(n)) duplicated += 1;
            if (!delivered.has(n)) delivered.set(n, Date.now());
            m.ack({ receipt: true }).then(
              () => acked.add(n),
              () => undefined,
            );
          },
          { ack: 'client-individual', 'activemq.prefetchSize': 500 },
        );
      } catch {
        client.destroy();
        continue;
      }
      while (
        !consumerStopped &&
        !(await Promise.race([client.closed.then(() => true), sleep(50).then(() => false)]))
      ) {
        // Until the broker closes it or the bench ends.
      }
      if (consumerStopped) await client.disconnect().catch(() => client.destroy());
    }
  })();
  return {
    confirmedAt,
    delivered,
    confirmedBefore: (t: number) => [...confirmedAt].filter(([, at]) => at <= t).map(([n]) => n),
    async stop() {
      stopped = true;
      await producer;
      stoppedAt = Date.now();
      const deadline = Date.now() + 20_000;
      while ([...confirmedAt.keys()].some((n) => !delivered.has(n)) && Date.now() < deadline) {
        await sleep(50);
      }
      await sleep(300);
      consumerStopped = true;
      await consumer;
      return {
        rate: Math.round((confirmedAt.size * 1000) / (stoppedAt - startedAt)),
        confirmed: confirmedAt.size,
        lost: [...confirmedAt.keys()].filter((n) => !delivered.has(n)).length,
        duplicated,
      };
    },
  };
}

async function acceptsConnect(endpoints: readonly string[]): Promise<boolean> {
  for (const endpoint of endpoints) {
    const client = await tryConnect(endpoint);
    if (client !== undefined) {
      client.destroy();
      return true;
    }
  }
  return false;
}

async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

const describeBoth = async (a: PromotionRegion, aId: string, b: PromotionRegion, bId: string) => [
  ...stompEndpoints(await a.describe(aId)),
  ...stompEndpoints(await b.describe(bId)),
];

async function main(): Promise<void> {
  console.log(`starting two Regions (the machine is shared: figures vary with its load)…`);
  const regions = await startPromotionRegions('bench_promo');
  try {
    const { primaryId, replicaId } = await createPair(regions, 'bench');
    let endpoints = await describeBoth(regions.a, primaryId, regions.b, replicaId);

    // Switchover a → b under the steady load.
    const load = startLoad(() => endpoints);
    await sleep(5_000);
    const newPrimary = stompEndpoints(await regions.b.describe(replicaId));
    const t0 = Date.now();
    await regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' });
    await waitUntil(() => acceptsConnect(newPrimary));
    const tConnect = Date.now();
    const before = load.confirmedBefore(t0);
    await waitUntil(() => before.every((n) => load.delivered.has(n)));
    const tServed = Math.max(...before.map((n) => load.delivered.get(n)!));
    await sleep(3_000);
    const switchover = await load.stop();
    console.log(
      `switchover RTO: ${Math.max(tConnect, tServed) - t0} ms ` +
        `(CONNECT accepted after ${tConnect - t0} ms, every earlier message served after ${Math.max(0, tServed - t0)} ms)` +
        ` at ${rate} msg/s asked (${switchover.rate} msg/s achieved); ${switchover.confirmed} confirmed, lost ${switchover.lost}, duplicated ${switchover.duplicated}`,
    );

    // Fail back (a switchover from region-a), then a failover to b with region-a killed.
    await regions.a.client.promote({ brokerId: primaryId, mode: 'SWITCHOVER' });
    await regions.a.waitForBroker(
      primaryId,
      (d) => d.dataReplicationMetadata?.replicationStatus === 'PROMOTED',
      'fail-back',
    );
    await regions.b.waitForBroker(
      replicaId,
      (d) => d.dataReplicationMetadata?.replicationStatus === 'REPLICATING',
      'fail-back',
    );
    endpoints = await describeBoth(regions.a, primaryId, regions.b, replicaId);
    const second = startLoad(() => endpoints);
    await sleep(5_000);
    const target = stompEndpoints(await regions.b.describe(replicaId));
    await regions.a.killAll();
    const t1 = Date.now();
    await regions.b.client.promote({ brokerId: replicaId, mode: 'FAILOVER' });
    let tAccepted = 0;
    await waitUntil(async () => {
      for (const endpoint of target) {
        const client = await tryConnect(endpoint);
        if (client === undefined) continue;
        try {
          await client.send(
            queue,
            'rto-probe',
            { persistent: 'true', 'app-seq': -1 },
            { receipt: true },
          );
          tAccepted = Date.now();
          return true;
        } catch {
          return false;
        } finally {
          client.destroy();
        }
      }
      return false;
    });
    endpoints = target;
    await sleep(3_000);
    const failover = await second.stop();
    console.log(
      `failover RTO (region-a killed): ${tAccepted - t1} ms until the new primary accepted a CONNECT and confirmed a SEND` +
        ` at ${rate} msg/s asked (${failover.rate} msg/s achieved); ${failover.confirmed} confirmed, lost ${failover.lost} (confirmed by the old primary, not replicated before the kill), duplicated ${failover.duplicated}`,
    );
  } finally {
    await regions.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
