/**
 * `pnpm bench:broker [--messages N] [--size BYTES] [--producers P] [--inflight K] [--consumers C] [--backlog N]`
 *
 * Starts a real broker process on a fresh database and measures, with receipts on every SEND:
 * produce msg/s and receipt latency at P producers x K SENDs in flight, the drain rate with
 * client-individual acks, the broker's RSS, and receipt latency at 1 producer x 1 in flight.
 * With --backlog N it first fills one queue with N persistent messages and measures RSS and the
 * consume rate over that backlog against an empty queue's. A last run drains the same number of
 * messages through consumers with a JMS selector (which selects every one of them), to show what
 * evaluating a selector costs, and another through message groups (JMSXGroupID, 64 groups), to show
 * what a queue with groups pays; a queue without them takes the plain path. Prints figures;
 * asserts nothing.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connectStomp, type StompClient } from '@crdr/stomp';
import { dropDatabase, ensureDatabase } from '@crdr/store';
import { hostPort, startServiceProcess, type ServiceProcess } from '@crdr/testing';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    size: { type: 'string', default: '1024' },
    producers: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '64' },
    consumers: { type: 'string', default: '4' },
    backlog: { type: 'string', default: '0' },
    'latency-messages': { type: 'string', default: '3000' },
    'keep-db': { type: 'boolean', default: false },
  },
  strict: true,
});
const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
};
const messages = num('messages');
const size = num('size');
const producers = Math.max(1, num('producers'));
const inflight = Math.max(1, num('inflight'));
const consumers = Math.max(1, num('consumers'));
const backlog = num('backlog');

const pgBase = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbUrl = pgBase.replace(/\/[^/]*$/, `/bench_broker_${randomBytes(4).toString('hex')}`);
const body = randomBytes(size).toString('base64').slice(0, size);

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connect(broker: ServiceProcess): Promise<StompClient> {
  const { host, port } = hostPort(broker.endpoints['stomp']!);
  return connectStomp({ host, port, login: 'admin', passcode: 'admin', heartBeat: [0, 0] });
}

async function produce(
  broker: ServiceProcess,
  queue: string,
  total: number,
  clients: number,
  window: number,
  headers: Record<string, string> | ((i: number) => Record<string, string>) = {},
) {
  const headersOf = typeof headers === 'function' ? headers : () => headers;
  const conns = await Promise.all(Array.from({ length: clients }, () => connect(broker)));
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    conns.map(async (client) => {
      const lane = async (): Promise<void> => {
        while (next < total) {
          const i = next++;
          const t0 = performance.now();
          await client.send(queue, body, { persistent: 'true', ...headersOf(i) });
          latencies[i] = performance.now() - t0;
          done++;
        }
      };
      await Promise.all(Array.from({ length: window }, lane));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(conns.map((c) => c.disconnect()));
  latencies.sort();
  return {
    rate: done / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    seconds,
  };
}

async function drain(
  broker: ServiceProcess,
  queue: string,
  total: number,
  clients: number,
  selector?: string,
) {
  const conns = await Promise.all(Array.from({ length: clients }, () => connect(broker)));
  let received = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    for (const client of conns) {
      void client.subscribe(
        queue,
        (message) => {
          void message.ack({ receipt: false });
          if (++received === total) resolve();
        },
        {
          ack: 'client-individual',
          'activemq.prefetchSize': 1000,
          ...(selector === undefined ? {} : { selector }),
        },
      );
    }
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(conns.map((c) => c.disconnect()));
  return { rate: total / seconds, seconds };
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  await ensureDatabase(dbUrl);
  const broker = await startServiceProcess({
    entry: 'services/broker/src/main.ts',
    env: {
      BROKER_DB_URL: dbUrl,
      BROKER_STOMP_PORT: '0',
      BROKER_WS_PORT: '0',
      BROKER_GRPC_PORT: '0',
      LOG_LEVEL: 'warn',
      BROKER_PRINT_DEBUG: '1',
    },
    // BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the broker.
    nodeArgs: (process.env['BENCH_BROKER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
  });
  console.log(
    `broker pid ${broker.pid}; ${fmt(size)} B persistent messages, a receipt on every SEND`,
  );
  try {
    const idle = rssMb(broker.pid);
    console.log(`broker RSS at start: ${fmt(idle.rss, 1)} MB`);

    const p = await produce(broker, '/queue/bench', messages, producers, inflight);
    console.log(
      `produce ${producers}x${inflight}: ${fmt(messages)} msgs in ${fmt(p.seconds, 2)} s = ${fmt(p.rate)} msg/s; receipt p50 ${fmt(p.p50, 2)} ms, p99 ${fmt(p.p99, 2)} ms`,
    );
    const c = await drain(broker, '/queue/bench', messages, consumers);
    console.log(`consume (${consumers} consumers, client-individual acks): ${fmt(c.rate)} msg/s`);
    const afterLoad = rssMb(broker.pid);
    console.log(
      `broker RSS after load: ${fmt(afterLoad.rss, 1)} MB (peak ${fmt(afterLoad.peak, 1)} MB)`,
    );

    const latencyMessages = num('latency-messages');
    const l = await produce(broker, '/queue/latency', latencyMessages, 1, 1);
    console.log(
      `produce 1x1: ${fmt(l.rate)} msg/s; receipt p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms`,
    );
    await drain(broker, '/queue/latency', latencyMessages, 1);

    await produce(broker, '/queue/bench-selector', messages, producers, inflight, {
      color: 'red',
      weight: '2500',
    });
    const s = await drain(
      broker,
      '/queue/bench-selector',
      messages,
      consumers,
      "convert_string_expressions:color = 'red' AND weight > 100",
    );
    console.log(
      `consume with a selector on each consumer: ${fmt(s.rate)} msg/s (${fmt((s.rate / c.rate) * 100, 1)}% of the rate without)`,
    );

    await produce(broker, '/queue/bench-groups', messages, producers, inflight, (i) => ({
      JMSXGroupID: `group-${i % 64}`,
    }));
    const g = await drain(broker, '/queue/bench-groups', messages, consumers);
    console.log(
      `consume with message groups (64 JMSXGroupIDs): ${fmt(g.rate)} msg/s (${fmt((g.rate / c.rate) * 100, 1)}% of the rate without)`,
    );

    if (backlog > 0) {
      const sample = Math.min(backlog, Math.max(messages, 100_000));
      const f = await produce(broker, '/queue/backlog', backlog, producers, inflight);
      console.log(`backlog: ${fmt(backlog)} messages queued at ${fmt(f.rate)} msg/s`);
      const filled = rssMb(broker.pid);
      console.log(
        `broker RSS with the backlog queued: ${fmt(filled.rss, 1)} MB (peak ${fmt(filled.peak, 1)} MB)`,
      );
      const empty = await (async () => {
        await produce(broker, '/queue/empty', sample, producers, inflight);
        return drain(broker, '/queue/empty', sample, consumers);
      })();
      const deep = await drain(broker, '/queue/backlog', sample, consumers);
      const drained = rssMb(broker.pid);
      console.log(
        `consume ${fmt(sample)} from a ${fmt(backlog)}-message backlog: ${fmt(deep.rate)} msg/s vs ${fmt(empty.rate)} msg/s from a queue holding only them (${fmt((deep.rate / empty.rate) * 100, 1)}%)`,
      );
      console.log(
        `broker RSS after consuming from the backlog: ${fmt(drained.rss, 1)} MB (peak ${fmt(drained.peak, 1)} MB)`,
      );
    }
  } finally {
    if (process.env['SHOW_BROKER_LOGS'])
      console.log(
        broker
          .logs()
          .split('\n')
          .filter((l) => l.startsWith('flush'))
          .join('\n'),
      );
    await broker.kill('SIGTERM');
    if (values['keep-db'] !== true) await dropDatabase(dbUrl);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
