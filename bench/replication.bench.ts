/**
 * `pnpm bench:replication [--seconds S] [--rate R] [--size BYTES] [--burst N] [--warmup N] [--snapshot N]`
 *
 * Two Regions on this machine: a NATS JetStream server, a primary broker (CRDR on, relaying to
 * that NATS) and a replicator applying the log to a replica store in another database. Prints,
 * with replication on: the bench:broker producer figures (4 producers x 64 SENDs in flight, a
 * receipt on each), ReplicationLag p50/p99 (TP - TC of the last applied event while events are
 * pending, sampled every 20 ms, as docs/architecture.md defines it) at a steady R msg/s, and the
 * highest steady rate at which the lag stays bounded. A warm-up of N messages, not counted,
 * comes first, so the figures are of compiled code. With --snapshot N, replication is turned on
 * only after N messages are stored, and the first line says how long the snapshot held writes.
 * Prints figures; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { connectStomp, type StompClient } from '@crdr/stomp';
import { createClient, loadProto } from '@crdr/proto';
import { ensureReplicationConsumer, replicationStreamName } from '@crdr/replication';
import { dropDatabase, ensureDatabase } from '@crdr/store';
import { hostPort, startNatsServer, startServiceProcess, waitFor } from '@crdr/testing';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '5000' },
    size: { type: 'string', default: '1024' },
    burst: { type: 'string', default: '50000' },
    warmup: { type: 'string', default: '20000' },
    snapshot: { type: 'string', default: '0' },
  },
  strict: true,
});
const seconds = Number(values.seconds);
const steadyRate = Number(values.rate);
const size = Number(values.size);
const burst = Number(values.burst);
const warmup = Number(values.warmup);
const snapshot = Number(values.snapshot);
const body = randomBytes(size).toString('base64').slice(0, size);
const pgBase = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(4).toString('hex');
const primaryDb = pgBase.replace(/\/[^/]*$/, `/bench_repl_a_${suffix}`);
const replicaDb = pgBase.replace(/\/[^/]*$/, `/bench_repl_b_${suffix}`);
const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** A STOMP connection as the broker's admin, without heart-beats. */
function connectAdmin(stompEndpoint: string): Promise<StompClient> {
  return connectStomp({
    ...hostPort(stompEndpoint),
    login: 'admin',
    passcode: 'admin',
    heartBeat: [0, 0],
  });
}

/**
 * Fills a queue with `snapshot` messages while replication is off, then turns it on (which
 * writes the snapshot the replica starts from) under a producer sending one message at a time:
 * how long the SEND waited that waited longest says how long the snapshot held writes.
 */
async function snapshotPause(
  stompEndpoint: string,
  turnOn: () => Promise<unknown>,
): Promise<string> {
  const client = await connectAdmin(stompEndpoint);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < snapshot) {
        next++;
        await client.send('/queue/backlog', body, { persistent: 'true' });
      }
    }),
  );
  let stop = false;
  let longest = 0;
  let sent = 0;
  const producer = (async () => {
    while (!stop) {
      const s = performance.now();
      await client.send('/queue/during-snapshot', body, { persistent: 'true' });
      longest = Math.max(longest, performance.now() - s);
      sent++;
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  longest = 0;
  const t0 = performance.now();
  await turnOn();
  const turnOnMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await producer;
  client.destroy();
  return `snapshot of ${fmt(snapshot)} messages: SetRole(CRDR) took ${fmt(turnOnMs)} ms; the longest SEND receipt meanwhile ${fmt(longest)} ms (${fmt(sent)} sent)`;
}

async function main(): Promise<void> {
  await ensureDatabase(primaryDb);
  await ensureDatabase(replicaDb);
  const nats = await startNatsServer({ serverName: 'bench-region-a' });
  const primary = await startServiceProcess({
    entry: 'services/broker/src/main.ts',
    args: [
      '--stomp-port',
      '0',
      '--ws-port',
      '0',
      '--grpc-port',
      '0',
      '--db-url',
      primaryDb,
      '--broker-id',
      'bench-primary',
    ],
    env: { BROKER_NATS_URL: nats.url, LOG_LEVEL: 'warn' },
    // BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the primary broker.
    nodeArgs: (process.env['BENCH_BROKER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
  });
  let replicator: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  try {
    const admin = createClient(
      loadProto().crdr.broker.v1.BrokerAdminService,
      primary.endpoints['grpc']!.replace('grpc://', ''),
      { credentials: { username: 'admin', password: 'admin' } },
    );
    let snapshotFigures: string | undefined;
    if (snapshot > 0) {
      snapshotFigures = await snapshotPause(primary.endpoints['stomp']!, () =>
        admin.setRole({ role: 'PRIMARY', epoch: '1', dataReplicationMode: 'CRDR' }),
      );
    } else {
      await admin.setRole({ role: 'PRIMARY', epoch: '1', dataReplicationMode: 'CRDR' });
    }
    const nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    const stream = replicationStreamName('bench-primary');
    await waitFor(
      async () => (await jsm.streams.info(stream).catch(() => undefined)) !== undefined,
      'the stream',
    );
    await ensureReplicationConsumer(jsm, 'bench-primary', 'bench-replica');
    replicator = await startServiceProcess({
      entry: 'services/replicator/src/main.ts',
      env: {
        REPLICATOR_PRIMARY_BROKER_ID: 'bench-primary',
        REPLICATOR_REPLICA_BROKER_ID: 'bench-replica',
        REPLICATOR_DB_URL: replicaDb,
        REPLICATOR_NATS_URL: nats.url,
        LOG_LEVEL: 'warn',
      },
      // BENCH_REPLICATOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the replicator.
      nodeArgs: (process.env['BENCH_REPLICATOR_NODE_ARGS'] ?? '')
        .split(' ')
        .filter((a) => a !== ''),
    });
    const status = createClient(
      loadProto().crdr.replicator.v1.ReplicatorService,
      replicator.endpoints['grpc']!.replace('grpc://', ''),
    );
    const lastWritten = async (): Promise<bigint> =>
      BigInt((await admin.getReplicationStatus({})).lastSequence);
    const waitApplied = async (): Promise<number> => {
      const t0 = performance.now();
      const target = await lastWritten();
      await status.waitForSequence(
        { sequence: target.toString(), timeoutMs: 120_000 },
        { deadlineMs: 125_000 },
      );
      return performance.now() - t0;
    };

    if (snapshotFigures !== undefined) {
      const catchUp = await waitApplied();
      console.log(
        `${snapshotFigures}; the replica, started after it, held it all ${fmt(catchUp)} ms later`,
      );
    }
    const stomp = primary.endpoints['stomp']!;
    const clients: StompClient[] = await Promise.all(
      Array.from({ length: 4 }, () => connectAdmin(stomp)),
    );
    const drain = await connectAdmin(stomp);
    await drain.subscribe('/queue/bench', (m) => void m.ack({ receipt: false }), {
      ack: 'client-individual',
      'activemq.prefetchSize': 1000,
    });

    if (process.env['BENCH_TRACE'] !== undefined) {
      const timer = setInterval(() => {
        Promise.all([admin.getReplicationStatus({}), status.getStatus({})]).then(
          ([p, r]) =>
            console.log(
              `  written ${p.lastSequence} published ${p.publishedSequence} applied ${r.appliedSequence} pending ${r.pendingCount} ${r.state} ${r.error}`,
            ),
          (error: unknown) => console.log(`  status unavailable: ${(error as Error).message}`),
        );
      }, 500);
      timer.unref();
    }
    // 4 producers x 64 SENDs in flight, a receipt on each.
    const produce = async (count: number): Promise<{ secs: number; latencies: number[] }> => {
      const latencies: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        clients.map((c) =>
          Promise.all(
            Array.from({ length: 64 }, async () => {
              while (next < count) {
                next++;
                const s = performance.now();
                await c.send('/queue/bench', body, { persistent: 'true' });
                latencies.push(performance.now() - s);
              }
            }),
          ),
        ),
      );
      return { secs: (performance.now() - t0) / 1000, latencies: latencies.sort((a, b) => a - b) };
    };
    // 0. Warm-up, not measured: the services' code is compiled and optimized by the JIT.
    if (warmup > 0) {
      const w = await produce(warmup);
      await waitApplied();
      console.log(
        `warm-up: ${fmt(warmup)} messages at ${fmt(warmup / w.secs)} msg/s (not counted)`,
      );
    }
    // 1. Producer figures with replication on.
    {
      const { secs, latencies } = await produce(burst);
      const catchUp = await waitApplied();
      console.log(
        `produce 4x64 with replication on: ${fmt(burst / secs)} msg/s; receipt p50 ${fmt(pct(latencies, 50), 2)} ms, p99 ${fmt(pct(latencies, 99), 2)} ms; replica caught up ${fmt(catchUp)} ms after the last receipt`,
      );
    }

    // Paced load at `rate` msg/s for `secs`, sampling ReplicationLag every 20 ms.
    const paced = async (rate: number, secs: number) => {
      const samples: number[] = [];
      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          const s = await status.getStatus({});
          const pending = Number(s.pendingCount) > 0;
          samples.push(pending ? Date.now() - Number(s.lastCreatedAtMs) : 0);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const start = performance.now();
      let sent = 0;
      const inflight = new Set<Promise<void>>();
      while (performance.now() - start < secs * 1000) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate);
        while (sent < due && inflight.size < 512) {
          const p: Promise<void> = clients[sent % clients.length]!.send('/queue/bench', body, {
            persistent: 'true',
          }).then(() => {
            inflight.delete(p);
          });
          inflight.add(p);
          sent++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await Promise.all(inflight);
      const achieved = sent / ((performance.now() - start) / 1000);
      const catchUp = await waitApplied();
      stop = true;
      await sampler;
      samples.sort((a, b) => a - b);
      return {
        achieved,
        p50: pct(samples, 50),
        p99: pct(samples, 99),
        max: samples[samples.length - 1] ?? 0,
        catchUp,
      };
    };

    // 2. ReplicationLag at the steady rate.
    const steady = await paced(steadyRate, seconds);
    console.log(
      `steady ${fmt(steady.achieved)} msg/s for ${seconds} s: ReplicationLag p50 ${fmt(steady.p50)} ms, p99 ${fmt(steady.p99)} ms, max ${fmt(steady.max)} ms`,
    );

    // 3. The highest steady rate at which the lag stays bounded (under 1 s at p99, caught up within 1 s).
    let best = 0;
    for (const rate of [6000, 7000, 8000, 9000, 10000, 12000]) {
      const r = await paced(rate, 8);
      const bounded = r.p99 < 1000 && r.catchUp < 1000 && r.achieved > rate * 0.95;
      console.log(
        `  ${fmt(rate)} msg/s asked, ${fmt(r.achieved)} achieved: lag p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, caught up in ${fmt(r.catchUp)} ms -> ${bounded ? 'bounded' : 'not bounded'}`,
      );
      if (!bounded) break;
      best = rate;
    }
    console.log(
      `highest steady rate with bounded lag: ${best > 0 ? `${fmt(best)} msg/s` : `below 6,000 msg/s`}`,
    );
    await Promise.all(clients.map((c) => c.disconnect()));
    await drain.disconnect();
    admin.close();
    status.close();
    await nc.close();
  } finally {
    await replicator?.kill('SIGTERM');
    await primary.kill('SIGTERM');
    await nats.stop();
    await nats.cleanup?.();
    await dropDatabase(primaryDb);
    await dropDatabase(replicaDb);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
