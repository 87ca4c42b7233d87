/**
 * `pnpm bench:breakdown [--messages N] [--warmup N] [--size BYTES] [--mode standalone|replicated|both]`
 *
 * Where the time of one SEND goes with one message in flight (1 producer, a receipt on every
 * SEND, 1 KiB persistent): the broker runs with CRDR_LATENCY_PROBE set, so it timestamps each
 * stage of the SEND (socket data, parsed, handler, writer queue, flush, statement, Postgres,
 * receipt, socket write); the replicator (replicated mode) times its applies and the relay its
 * publishes. Beside the stages it prints, per message, figures that hold on a loaded machine:
 * CPU time of each process (utime+stime from /proc), Postgres commits, read/write system calls
 * and event-loop sleeps (voluntary context switches of the broker's main thread). The client's
 * receipt time minus the broker's own stages is what the two sockets and the client cost.
 * Prints figures; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'nats';
import { connectStomp } from '@crdr/stomp';
import { createClient, loadProto } from '@crdr/proto';
import { ensureReplicationConsumer, replicationStreamName } from '@crdr/replication';
import { createPool, dropDatabase, ensureDatabase } from '@crdr/store';
import {
  hostPort,
  startNatsServer,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
} from '@crdr/testing';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '1000' },
    size: { type: 'string', default: '1024' },
    mode: { type: 'string', default: 'both' },
  },
  strict: true,
});
const messages = Number(values.messages);
const warmup = Number(values.warmup);
const body = randomBytes(Number(values.size)).toString('base64').slice(0, Number(values.size));
const pgBase = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux

/** What a process's latency probe (@crdr/telemetry's latencyProbe) writes. */
interface ProbeSummary {
  readonly dumps: number;
  readonly traces: number;
  readonly series: Record<string, { count: number; p50: number; mean: number; p99: number }>;
  readonly counters: Record<string, number>;
}

interface ProcStats {
  cpuMs: number;
  syscalls: number;
  sleeps: number;
}

function procStats(pid: number | undefined): ProcStats {
  if (pid === undefined) return { cpuMs: 0, syscalls: 0, sleeps: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const num = (key: string): number => Number(new RegExp(`${key}: (\\d+)`).exec(io)?.[1] ?? 0);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const sleeps = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs, syscalls: num('syscr') + num('syscw'), sleeps };
  } catch {
    return { cpuMs: 0, syscalls: 0, sleeps: 0 };
  }
}

/** CPU of the Postgres backends serving these databases, and their commits. */
async function pgStats(
  pool: ReturnType<typeof createPool>,
  dbs: string[],
): Promise<{ cpuMs: number; commits: number }> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
    [dbs],
  );
  const cpuMs = rows.reduce((sum, r) => sum + procStats(r.pid).cpuMs, 0);
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const commits = await pool.query<{ n: string }>(
    'SELECT sum(xact_commit)::text AS n FROM pg_stat_database WHERE datname = ANY($1)',
    [dbs],
  );
  return { cpuMs, commits: Number(commits.rows[0]?.n ?? 0) };
}

/** Asks the probes to write their summaries (and start over); waits for them. */
async function dumpProbes(probes: Array<{ pid: number; file: string }>): Promise<ProbeSummary[]> {
  const before = probes.map((p) => readProbe(p.file)?.dumps ?? 0);
  for (const p of probes) process.kill(p.pid, 'SIGUSR2');
  const out: ProbeSummary[] = [];
  for (const [i, p] of probes.entries()) {
    await waitFor(() => (readProbe(p.file)?.dumps ?? 0) > before[i]!, `probe of ${p.pid}`);
    out.push(readProbe(p.file)!);
  }
  return out;
}

function readProbe(file: string): ProbeSummary | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProbeSummary;
  } catch {
    return undefined;
  }
}

interface Setup {
  broker: ServiceProcess;
  others: Array<{ name: string; pid: number | undefined }>;
  probes: Array<{ pid: number; file: string }>;
  dbs: string[];
  settle: () => Promise<void>;
  stop: () => Promise<void>;
}

const probeFile = (name: string): string =>
  join(tmpdir(), `crdr-probe-${name}-${randomBytes(4).toString('hex')}.json`);

async function standalone(): Promise<Setup> {
  const db = pgBase.replace(/\/[^/]*$/, `/bench_breakdown_${randomBytes(4).toString('hex')}`);
  await ensureDatabase(db);
  const file = probeFile('broker');
  const broker = await startServiceProcess({
    entry: 'services/broker/src/main.ts',
    args: ['--stomp-port', '0', '--ws-port', '0', '--grpc-port', '0', '--db-url', db],
    env: { LOG_LEVEL: 'warn', CRDR_LATENCY_PROBE: file },
  });
  return {
    broker,
    others: [],
    probes: [{ pid: broker.pid, file }],
    dbs: [new URL(db).pathname.slice(1)],
    settle: async () => undefined,
    stop: async () => {
      await broker.kill('SIGTERM');
      await dropDatabase(db);
      rmSync(file, { force: true });
    },
  };
}

async function replicated(): Promise<Setup> {
  const suffix = randomBytes(4).toString('hex');
  const primaryDb = pgBase.replace(/\/[^/]*$/, `/bench_breakdown_a_${suffix}`);
  const replicaDb = pgBase.replace(/\/[^/]*$/, `/bench_breakdown_b_${suffix}`);
  await ensureDatabase(primaryDb);
  await ensureDatabase(replicaDb);
  const nats = await startNatsServer({ serverName: 'breakdown-region-a' });
  const brokerFile = probeFile('broker');
  const replicatorFile = probeFile('replicator');
  const broker = await startServiceProcess({
    entry: 'services/broker/src/main.ts',
    args: ['--stomp-port', '0', '--ws-port', '0', '--grpc-port', '0', '--db-url', primaryDb],
    env: {
      BROKER_ID: 'breakdown-primary',
      BROKER_NATS_URL: nats.url,
      LOG_LEVEL: 'warn',
      CRDR_LATENCY_PROBE: brokerFile,
    },
  });
  const admin = createClient(
    loadProto().crdr.broker.v1.BrokerAdminService,
    broker.endpoints['grpc']!.replace('grpc://', ''),
    { credentials: { username: 'admin', password: 'admin' } },
  );
  await admin.setRole({ role: 'PRIMARY', epoch: '1', dataReplicationMode: 'CRDR' });
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  const stream = replicationStreamName('breakdown-primary');
  await waitFor(
    async () => (await jsm.streams.info(stream).catch(() => undefined)) !== undefined,
    'the stream',
  );
  await ensureReplicationConsumer(jsm, 'breakdown-primary', 'breakdown-replica');
  await nc.close();
  const replicator = await startServiceProcess({
    entry: 'services/replicator/src/main.ts',
    env: {
      REPLICATOR_PRIMARY_BROKER_ID: 'breakdown-primary',
      REPLICATOR_REPLICA_BROKER_ID: 'breakdown-replica',
      REPLICATOR_DB_URL: replicaDb,
      REPLICATOR_NATS_URL: nats.url,
      LOG_LEVEL: 'warn',
      CRDR_LATENCY_PROBE: replicatorFile,
    },
  });
  const status = createClient(
    loadProto().crdr.replicator.v1.ReplicatorService,
    replicator.endpoints['grpc']!.replace('grpc://', ''),
  );
  return {
    broker,
    others: [
      { name: 'replicator', pid: replicator.pid },
      { name: 'nats-server', pid: nats.pid },
    ],
    probes: [
      { pid: broker.pid, file: brokerFile },
      { pid: replicator.pid, file: replicatorFile },
    ],
    dbs: [primaryDb, replicaDb].map((u) => new URL(u).pathname.slice(1)),
    settle: async () => {
      const target = (await admin.getReplicationStatus({})).lastSequence;
      await status.waitForSequence({ sequence: target, timeoutMs: 60_000 }, { deadlineMs: 65_000 });
    },
    stop: async () => {
      await replicator.kill('SIGTERM');
      await broker.kill('SIGTERM');
      await nats.stop();
      await dropDatabase(primaryDb);
      await dropDatabase(replicaDb);
      rmSync(brokerFile, { force: true });
      rmSync(replicatorFile, { force: true });
    },
  };
}

async function measure(name: string, setup: Setup): Promise<void> {
  const pool = createPool(pgBase);
  const client = await connectStomp({
    ...hostPort(setup.broker.endpoints['stomp']!),
    login: 'admin',
    passcode: 'admin',
    heartBeat: [0, 0],
  });
  try {
    for (let i = 0; i < warmup; i++)
      await client.send('/queue/breakdown', body, { persistent: 'true' });
    await setup.settle();
    await sleep(1500); // lets the relay record what it published, outside the measured run
    await dumpProbes(setup.probes);
    const procs = [{ name: 'broker', pid: setup.broker.pid }, ...setup.others];
    const before = procs.map((p) => procStats(p.pid));
    const pgBefore = await pgStats(pool, setup.dbs);
    const latencies = new Float64Array(messages);
    const started = performance.now();
    for (let i = 0; i < messages; i++) {
      const t0 = performance.now();
      await client.send('/queue/breakdown', body, { persistent: 'true' });
      latencies[i] = performance.now() - t0;
    }
    const seconds = (performance.now() - started) / 1000;
    await setup.settle();
    const after = procs.map((p) => procStats(p.pid));
    const pgAfter = await pgStats(pool, setup.dbs);
    const [brokerProbe, replicatorProbe] = await dumpProbes(setup.probes);
    latencies.sort();
    const mean = latencies.reduce((a, b) => a + b, 0) / messages;
    const p50 = latencies[Math.floor(messages / 2)]!;

    console.log(`\n== ${name}: ${fmt(messages)} SENDs, 1 producer, 1 in flight ==`);
    console.log(
      `client: ${fmt(messages / seconds)} msg/s wall clock; receipt p50 ${fmt(p50, 3)} ms, mean ${fmt(mean, 3)} ms`,
    );
    console.log('broker stages (ms)                          p50     mean      p99');
    let brokerMean = 0;
    for (const [stage, s] of Object.entries(brokerProbe!.series)) {
      if (!stage.includes('→') || stage.startsWith('relay')) continue;
      brokerMean += s.mean;
      console.log(
        `  ${stage.padEnd(40)} ${fmt(s.p50, 3).padStart(7)} ${fmt(s.mean, 3).padStart(8)} ${fmt(s.p99, 3).padStart(8)}${s.count !== brokerProbe!.traces ? `  (${s.count}×)` : ''}`,
      );
    }
    console.log(
      `  ${'sum of the stages (mean)'.padEnd(40)} ${''.padStart(7)} ${fmt(brokerMean, 3).padStart(8)}`,
    );
    console.log(
      `  ${'client and sockets, both ways (mean)'.padEnd(40)} ${''.padStart(7)} ${fmt(mean - brokerMean, 3).padStart(8)}`,
    );
    for (const probe of [brokerProbe, replicatorProbe]) {
      if (probe === undefined) continue;
      for (const [series, s] of Object.entries(probe.series)) {
        if (series.includes('→') && !series.startsWith('relay')) continue;
        console.log(
          `  ${series.padEnd(40)} ${fmt(s.p50, 3).padStart(7)} ${fmt(s.mean, 3).padStart(8)} ${fmt(s.p99, 3).padStart(8)}  (${s.count}×)`,
        );
      }
      for (const [counter, n] of Object.entries(probe.counters))
        console.log(`  ${counter}: ${fmt(n / messages, 2)} per message`);
    }
    console.log('per message (from /proc and pg_stat_database; reliable under load):');
    for (const [i, p] of procs.entries()) {
      const d = (k: keyof ProcStats): number => (after[i]![k] - before[i]![k]) / messages;
      console.log(
        `  ${p.name.padEnd(12)} CPU ${fmt(d('cpuMs') * 1000).padStart(5)} µs, read+write syscalls ${fmt(d('syscalls'), 2)}, main-thread sleeps ${fmt(d('sleeps'), 2)}`,
      );
    }
    console.log(
      `  postgres     CPU ${fmt(((pgAfter.cpuMs - pgBefore.cpuMs) / messages) * 1000).padStart(5)} µs (backends), commits ${fmt((pgAfter.commits - pgBefore.commits) / messages, 2)}`,
    );
  } finally {
    client.destroy();
    await pool.end();
  }
}

async function main(): Promise<void> {
  const mode = values.mode;
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  for (const [name, start] of [
    ['standalone (pnpm broker)', standalone],
    ['replication on (broker + relay, NATS, replicator)', replicated],
  ] as const) {
    if (mode === 'standalone' && start === replicated) continue;
    if (mode === 'replicated' && start === standalone) continue;
    const setup = await start();
    try {
      await measure(name, setup);
    } finally {
      await setup.stop();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
