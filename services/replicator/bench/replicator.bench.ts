/**
 * How fast the replicator applies the replication log:
 * `pnpm --filter @crdr/replicator bench [backlog|mixed|live]`.
 *
 * 1. backlog: BENCH_EVENTS (40,000) events written to the stream while the (connected) replicator
 *    is paused, each a 1 KiB message sent to one queue (one row per event, as the broker's
 *    group commit writes them); events/s = events / time from resume to the last one applied.
 * 2. mixed: the same, every other event acknowledging the message sent just before it.
 * 3. live: a producer in another process publishes BENCH_RATE (8,000) events/s for
 *    BENCH_SECONDS (10) while the replicator follows; ReplicationLag (TP - TC of the last
 *    applied event, sampled every 5 ms) p50/p99/max, with and without the first second.
 *
 * Each also prints the CPU per event of the replicator process and of its Postgres backend.
 * BENCH_PROFILE=file.cpuprofile profiles the replicator while it applies; BENCH_TRACE=1 prints
 * the lag samples above 60 ms. Against the local Postgres (PG_URL) and NATS (NATS_URL).
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { connect, headers, RetentionPolicy, StorageType } from 'nats';
import {
  encodeEvent,
  replicationMessageId,
  replicationStreamName,
  replicationSubject,
} from '@crdr/replication';
import {
  createDb,
  createPool,
  migrateToLatest,
  sql,
  type Database,
  type Kysely,
} from '@crdr/store';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, waitFor } from '@crdr/testing';
import { loadConfig } from '../src/config.js';
import { createServer } from '../src/server.js';

const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const backlog = Number(process.env['BENCH_EVENTS'] ?? 40_000);
const liveRate = Number(process.env['BENCH_RATE'] ?? 8_000);
const liveSeconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const batch = process.env['REPLICATOR_BATCH_MAX_EVENTS'] ?? '500';
const body = Buffer.alloc(1024, 0x61);

type Kind = 'send' | 'mixed';

function eventBytes(primary: string, sequence: number, kind: Kind): Uint8Array {
  const seq = String(sequence);
  const change =
    kind === 'mixed' && sequence % 2 === 0
      ? { messageAcknowledged: { keys: [{ storeId: 1, priority: 4, seq: String(sequence - 1) }] } }
      : {
          messageSent: {
            rows: [
              {
                storeId: 1,
                priority: 4,
                seq,
                messageId: `ID:bench-${seq}`,
                destination: '/queue/bench',
                headers: { persistent: 'true', 'content-type': 'text/plain' },
                body,
                expiresAtMs: '0',
                enqueuedAtMs: String(Date.now()),
                redeliveryCount: 0,
              },
            ],
          },
        };
  return encodeEvent({
    sequence: seq,
    epoch: '1',
    createdAtMs: String(Date.now()),
    brokerId: primary,
    ...(sequence === 1
      ? {
          destinationCreated: {
            destinationId: 1,
            kind: 'queue',
            name: 'bench',
            createdAtMs: '1',
            queueStoreId: 1,
          },
        }
      : change),
  });
}

/** CPU ticks (1/100 s) used so far by the replicator's Postgres backends (same machine). */
async function postgresBackendTicks(db: Kysely<Database>, url: string): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  const pids = await sql<{ pid: number }>`
    SELECT pid FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'crdr-replicator'`.execute(
    db,
  );
  let ticks = 0;
  for (const { pid } of pids.rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Not on this machine, or gone.
    }
  }
  return ticks;
}

/** The live producer, in its own process so that it does not share the replicator's thread. */
async function produce(primary: string, rate: number, seconds: number): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const js = await nc.jetstreamManager();
  const subject = replicationSubject(primary);
  const sliceMs = 10;
  const perSlice = Math.round((rate * sliceMs) / 1000);
  let published = 0;
  process.send?.({ started: true });
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < perSlice; i++) {
      published++;
      // A core publish with the message id header: JetStream stores it all the same, and the
      // producer stays cheap enough to hold the rate on this machine.
      const h = headers();
      h.set('Nats-Msg-Id', replicationMessageId(BigInt(published)));
      nc.publish(subject, eventBytes(primary, published, 'send'), { headers: h });
    }
    next += sliceMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await nc.flush();
  await js.streams.info(replicationStreamName(primary)).catch(() => undefined);
  await nc.close();
  process.send?.({ published });
}

async function scenario(name: string, kind: Kind, live: boolean): Promise<void> {
  const tag = Math.random().toString(16).slice(2, 10);
  const ids = { primary: `bench-p-${tag}`, replica: `bench-r-${tag}` };
  const nc = await connect({ servers: natsUrl });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const stream = replicationStreamName(ids.primary);
  const subject = replicationSubject(ids.primary);
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
  });
  const database = await createTestDatabase('replicator_bench');
  const db = createDb(createPool(database.url, { max: 2 }));
  await migrateToLatest(db);

  let published = 0;
  const publish = async (count: number) => {
    const acks: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      published++;
      acks.push(
        js.publish(subject, eventBytes(ids.primary, published, kind), {
          msgID: replicationMessageId(BigInt(published)),
        }),
      );
    }
    await Promise.all(acks);
  };

  const config = loadConfig({
    REPLICATOR_PRIMARY_BROKER_ID: ids.primary,
    REPLICATOR_REPLICA_BROKER_ID: ids.replica,
    REPLICATOR_DB_URL: database.url,
    REPLICATOR_NATS_URL: natsUrl,
    REPLICATOR_BATCH_MAX_EVENTS: batch,
    LOG_LEVEL: 'warn',
  });
  const server = createServer({
    config,
    log: createLogger({ service: 'replicator', level: 'warn', destination: process.stderr }),
  });
  const profiler = process.env['BENCH_PROFILE'] === undefined ? undefined : new Session();
  if (profiler !== undefined) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  // Started, connected and paused before the backlog is written: what is measured is the
  // apply, not the start-up (migrations, proto loading) nor the publishing.
  await server.start();
  await waitFor(() => server.status().state === 'RUNNING', 'replicator running', 30_000);
  if (!live) {
    await server.loop.pause();
    for (let done = 0; done < backlog; done += 1000) await publish(Math.min(1000, backlog - done));
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  server.loop.resume();

  let producerDoneAt = 0;
  let producerStartedAt = 0;
  /** Lags sampled after the first second of production (JIT, caches and pools warm). */
  const steadyLags: number[] = [];
  const lags: number[] = [];
  const trace: string[] = [];
  let lastApplied = 0n;
  const sampler = setInterval(() => {
    const s = server.status();
    if (s.appliedSequence !== lastApplied) {
      lastApplied = s.appliedSequence;
      lags.push(s.lastAppliedAtMs - s.lastCreatedAtMs);
      if (producerStartedAt > 0 && performance.now() > producerStartedAt + 1000) {
        steadyLags.push(s.lastAppliedAtMs - s.lastCreatedAtMs);
      }
      if (process.env['BENCH_TRACE'] !== undefined)
        trace.push(
          `${(performance.now() - started).toFixed(0)}:${s.lastAppliedAtMs - s.lastCreatedAtMs}`,
        );
    }
  }, 5);

  if (live) {
    const child = fork(fileURLToPath(import.meta.url), [
      'produce',
      ids.primary,
      String(liveRate),
      String(liveSeconds),
    ]);
    published = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: { started?: boolean; published?: number }) => {
        if (m.started === true) producerStartedAt = performance.now();
        if (m.published !== undefined) resolve(m.published);
      });
      child.once('exit', (code) => reject(new Error(`producer exited with ${code}`)));
    });
    producerDoneAt = performance.now();
  }
  const target = BigInt(live ? published : backlog);
  await waitFor(() => server.status().appliedSequence >= target, 'all applied', 600_000, 2);
  const appliedAt = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const backendTicks = await postgresBackendTicks(db, database.url);
  const seconds = (appliedAt - started) / 1000;
  clearInterval(sampler);
  if (profiler !== undefined) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(process.env['BENCH_PROFILE']!, JSON.stringify(profile));
    profiler.disconnect();
  }
  const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages`.execute(db);
  await server.stop();
  await db.destroy();
  await jsm.streams.delete(stream);
  await nc.close();
  await database.drop();

  if (trace.length > 0) console.log(trace.filter((t) => Number(t.split(':')[1]) > 60).join(' '));
  lags.sort((a, b) => a - b);
  steadyLags.sort((a, b) => a - b);
  const pctOf = (values: number[], p: number) =>
    values[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
  const pct = (p: number) => pctOf(lags, p);
  if (live) {
    const producedRate = published / liveSeconds;
    console.log(
      `${name}: ${published} events produced at ${producedRate.toFixed(0)}/s for ${liveSeconds} s; ` +
        `ReplicationLag (TP-TC of each applied batch) p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms; ` +
        `after the first second: p50 ${pctOf(steadyLags, 50)} ms, p99 ${pctOf(steadyLags, 99)} ms, max ${pctOf(steadyLags, 100)} ms; ` +
        `all applied ${(appliedAt - producerDoneAt).toFixed(0)} ms after the producer's last event; ${rows.rows[0]!.n} rows`,
    );
  } else {
    console.log(
      `${name}: ${backlog} events applied in ${seconds.toFixed(2)} s = ${(backlog / seconds).toFixed(0)} events/s ` +
        `(batch ${batch}); ${rows.rows[0]!.n} rows`,
    );
  }
  const events = live ? published : backlog;
  const nodeUs = (cpu.user + cpu.system) / events;
  const pgUs = (backendTicks * 10_000) / events;
  console.log(
    `  CPU per event: replicator process ${nodeUs.toFixed(0)} us, its Postgres backend ${pgUs.toFixed(0)} us ` +
      `(= ${(1e6 / (nodeUs + pgUs)).toFixed(0)} events/s per core for the two; NATS server not counted)`,
  );
}

const which = process.argv[2] ?? 'all';
if (which === 'produce') {
  await produce(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
  process.exit(0);
}
if (which === 'all' || which === 'backlog') await scenario('backlog, 1 KiB sends', 'send', false);
if (which === 'all' || which === 'mixed') await scenario('backlog, sends + acks', 'mixed', false);
if (which === 'all' || which === 'live') await scenario(`live at ${liveRate}/s`, 'send', true);
