import { setTimeout as sleep } from 'node:timers/promises';
import {
  Events,
  RetentionPolicy,
  StorageType,
  connect,
  headers as natsHeaders,
  nanos,
  type ConnectionOptions,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type PubAck,
} from 'nats';
import { unavailable } from '@crdr/errors';
import { sql, type Database, type Kysely } from '@crdr/store';
import {
  decodeEvent,
  replicationMessageId,
  replicationStreamName,
  replicationSubject,
} from '@crdr/replication';
import {
  attributeNames,
  contextFromRecord,
  endSpan,
  getTracer,
  injectTraceContext,
  isTracingEnabled,
  startSpan,
  type Logger,
} from '@crdr/telemetry';
import type { CommittedEvent } from '../pg/store-writer.js';
import { readOutbox } from '../pg/outbox.js';

export interface ReplicationRelayOptions {
  readonly db: Kysely<Database>;
  readonly brokerId: string;
  /** The broker's own Region's NATS. */
  readonly nats: ConnectionOptions;
  readonly log: Logger;
  /** Whether this instance should publish now (serving primary with CRDR on). */
  readonly active: () => boolean;
  /** Events read and published per round. */
  readonly batchSize?: number;
  /** How often the outbox is checked when no commit signalled new events. */
  readonly pollMs?: number;
  /** How long the stream keeps events. */
  readonly maxAgeMs?: number;
}

export interface RelayStatus {
  readonly connected: boolean;
  readonly publishedSeq: bigint;
  readonly publishedAtMs: number;
}

/** One replica's acknowledgement of the log, as seen from the primary. */
export interface ReplicaAcknowledgement {
  readonly consumer: string;
  readonly acknowledgedSeq: bigint;
  /** TC of the acknowledged event (0 when not known here). */
  readonly acknowledgedCreatedAtMs: number;
  /** TA: when this relay saw the acknowledgement advance to it. */
  readonly acknowledgedAtMs: number;
  readonly pending: number;
}

export interface ReplicationRelay {
  start(): void;
  /** What each replica's consumer has acknowledged, refreshed about every half second. */
  readonly replicas: readonly ReplicaAcknowledgement[];
  /** New events committed: publish them now. */
  kick(): void;
  /** Events just committed, in sequence: published from memory without reading them back. */
  offer(events: readonly CommittedEvent[]): void;
  stop(): Promise<void>;
  readonly status: RelayStatus;
}

/**
 * Publishes the outbox (`replication_events`) to the broker's JetStream stream, in sequence.
 * Each event's JetStream message id is its sequence, so a publish retried after a crash is
 * dropped as a duplicate; each publish also expects the stream's previous message to be the
 * previous event, so the stream's order is the log's order even when a publish fails halfway.
 * Published events leave the outbox.
 */
const relayTracer = getTracer('crdr-broker-relay');

export function createReplicationRelay(options: ReplicationRelayOptions): ReplicationRelay {
  const { db, brokerId, log } = options;
  const stream = replicationStreamName(brokerId);
  const subject = replicationSubject(brokerId);
  const batchSize = options.batchSize ?? 1000;
  const pollMs = options.pollMs ?? 1000;
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  let kicked = false;
  let loop: Promise<void> | undefined;
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  let status: RelayStatus = { connected: false, publishedSeq: 0n, publishedAtMs: 0 };
  /** Stream sequence minus event sequence, once known. */
  let streamOffset = 0n;
  let streamGeneration: bigint | undefined;
  // TC of recently published events, to pair with the acknowledgements that follow.
  const createdAt = new Map<bigint, number>();
  let replicas: ReplicaAcknowledgement[] = [];
  let lastAckPollMs = 0;
  /** Settles when the connection to NATS drops: the publishes in flight will get no answer. */
  let disconnected: Promise<void> = new Promise(() => undefined);
  let reconnected = new AbortController();
  let onDisconnect: () => void = () => undefined;
  const armDisconnect = (): void => {
    disconnected = new Promise((resolve) => (onDisconnect = resolve));
  };
  /**
   * A request sent before NATS went away is never answered: rather than wait for its timeout
   * (seconds), give up on it when the connection drops, and start over once it is back.
   */
  const unlessDisconnected = <T>(request: Promise<T>): Promise<T> =>
    Promise.race([
      request,
      disconnected.then(() => {
        throw unavailable('the connection to NATS dropped while a request was in flight');
      }),
    ]);

  async function pollAcknowledgements(manager: JetStreamManager): Promise<void> {
    const now = Date.now();
    if (now - lastAckPollMs < 500) return;
    lastAckPollMs = now;
    const next: ReplicaAcknowledgement[] = [];
    for await (const consumer of manager.consumers.list(stream)) {
      const acknowledgedSeq = BigInt(consumer.ack_floor.stream_seq) - streamOffset;
      const previous = replicas.find((r) => r.consumer === consumer.name);
      const advanced = previous === undefined || previous.acknowledgedSeq !== acknowledgedSeq;
      next.push({
        consumer: consumer.name,
        acknowledgedSeq,
        acknowledgedCreatedAtMs:
          createdAt.get(acknowledgedSeq) ?? previous?.acknowledgedCreatedAtMs ?? 0,
        acknowledgedAtMs: advanced ? now : previous.acknowledgedAtMs,
        pending: consumer.num_pending + consumer.num_ack_pending,
      });
    }
    replicas = next;
    // Forget TCs no replica still needs.
    const floor = next.reduce(
      (min, r) => (r.acknowledgedSeq < min ? r.acknowledgedSeq : min),
      status.publishedSeq,
    );
    for (const seq of createdAt.keys()) {
      if (seq < floor) createdAt.delete(seq);
      else break;
    }
  }

  const waitForWork = async (): Promise<void> => {
    if (kicked) {
      kicked = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
    kicked = false;
  };

  async function ensureConnected(): Promise<{ js: JetStreamClient; jsm: JetStreamManager }> {
    if (nc === undefined || nc.isClosed()) {
      nc = await connect({
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        ...options.nats,
        name: `relay-${brokerId}`,
      });
      jsm = await nc.jetstreamManager();
      streamGeneration = undefined;
      armDisconnect();
      const connection = nc;
      void (async () => {
        for await (const s of connection.status()) {
          if (s.type === Events.Disconnect) onDisconnect();
          else if (s.type === Events.Reconnect) {
            armDisconnect();
            // Publish again now, not when the backoff of the attempts made meanwhile ends.
            reconnected.abort();
            reconnected = new AbortController();
          }
        }
      })().catch(() => undefined);
    }
    return { js: nc.jetstream(), jsm: jsm! };
  }

  /**
   * Makes sure the stream is the one of the log's current generation: turning replication on
   * again starts a new log from sequence 1, so an older generation's stream is replaced.
   */
  async function ensureStream(manager: JetStreamManager, generation: bigint): Promise<void> {
    if (streamGeneration === generation) return;
    const description = `crdr replication log of broker ${brokerId}, generation ${generation}`;
    const existing = await manager.streams.info(stream).catch(() => undefined);
    if (existing !== undefined && existing.config.description !== description) {
      await manager.streams.delete(stream);
      log.info(
        { stream, generation: String(generation) },
        'replication stream of an older log removed',
      );
    }
    if (existing === undefined || existing.config.description !== description) {
      await manager.streams.add({
        name: stream,
        description,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(120_000),
        max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3600 * 1000),
      });
      log.info({ stream, subject, generation: String(generation) }, 'replication stream created');
    }
    streamGeneration = generation;
  }

  /**
   * Where the stream stands: the last event sequence it holds (which may be ahead of the
   * recorded published_seq after a crash) and the offset between stream and event sequences.
   */
  async function streamPosition(
    manager: JetStreamManager,
  ): Promise<{ lastEventSeq: bigint; offset: bigint }> {
    const info = await manager.streams.info(stream);
    if (info.state.messages === 0) return { lastEventSeq: 0n, offset: BigInt(info.state.last_seq) };
    const last = await manager.streams.getMessage(stream, { last_by_subj: subject });
    const event = decodeEvent(last.data);
    const lastEventSeq = BigInt(event.sequence);
    return { lastEventSeq, offset: BigInt(last.seq) - lastEventSeq };
  }

  /** Events handed over by the store writer after their commit, in sequence. */
  let handedOver: CommittedEvent[] = [];
  const maxHandedOver = 50_000;

  /**
   * The next events to publish: from memory when they follow on, else read back; `more` when a
   * read back stopped short of the batch to stay within its budgets (read on at once).
   */
  async function nextEvents(after: bigint): Promise<{
    rows: Array<{
      seq: bigint;
      createdAtMs: number;
      payload: Uint8Array;
      traceContext?: Readonly<Record<string, string>>;
    }>;
    more: boolean;
  }> {
    let start = 0;
    while (start < handedOver.length && handedOver[start]!.seq <= after) start++;
    if (start > 0) handedOver = handedOver.slice(start);
    if (handedOver.length > 0 && handedOver[0]!.seq === after + 1n) {
      const taken = handedOver.slice(0, batchSize);
      handedOver = handedOver.slice(taken.length);
      return { rows: taken, more: false };
    }
    const { events, truncated } = await readOutbox(db, after, batchSize);
    return { rows: events, more: truncated };
  }

  /**
   * Publishes an event that carries a SEND's trace context inside a span of that trace, whose
   * context travels in the message's NATS headers to the replicator.
   */
  async function publishTraced(
    js: JetStreamClient,
    seq: bigint,
    payload: Uint8Array,
    traceContext: Readonly<Record<string, string>>,
    options: { msgID: string; expect: { lastSequence: number } },
  ): Promise<PubAck> {
    const parent = contextFromRecord(traceContext);
    const started = startSpan(relayTracer, 'replication.publish', {
      kind: 'producer',
      attributes: {
        [attributeNames.brokerId]: brokerId,
        [attributeNames.sequence]: String(seq),
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
      },
      ...(parent === undefined ? {} : { parent }),
    });
    if (started === undefined) return js.publish(subject, payload, options);
    const headers = natsHeaders();
    injectTraceContext(headers, started.context);
    try {
      const ack = await js.publish(subject, payload, { ...options, headers });
      endSpan(started.span);
      return ack;
    } catch (error) {
      endSpan(started.span, error);
      throw error;
    }
  }

  async function run(): Promise<void> {
    let backoffMs = 200;
    let position: { lastEventSeq: bigint; offset: bigint } | undefined;
    let published = 0n;
    let recordedSeq = 0n;
    let recordedAtMs = 0;
    let generationCheckedAtMs = 0;
    while (!abort.signal.aborted) {
      if (!options.active()) {
        position = undefined;
        await waitForWork();
        continue;
      }
      try {
        const { js, jsm: manager } = await ensureConnected();
        status = { ...status, connected: true };
        if (position === undefined || Date.now() - generationCheckedAtMs > 1000) {
          const { generation } = await db
            .selectFrom('replication_log')
            .select('generation')
            .executeTakeFirstOrThrow();
          generationCheckedAtMs = Date.now();
          if (generation !== streamGeneration) position = undefined;
          await unlessDisconnected(ensureStream(manager, generation));
        }
        if (position === undefined) {
          position = await unlessDisconnected(streamPosition(manager));
          const recorded = await db
            .selectFrom('replication_published')
            .selectAll()
            .executeTakeFirstOrThrow();
          recordedSeq = recorded.published_seq;
          published = recordedSeq > position.lastEventSeq ? recordedSeq : position.lastEventSeq;
        }
        const { rows, more } = await nextEvents(published);
        if (rows.length > 0) {
          const offset = position.offset;
          const tracing = isTracingEnabled();
          const acks = rows.map((row) => {
            const options = {
              msgID: replicationMessageId(row.seq),
              expect: { lastSequence: Number(row.seq - 1n + offset) },
            };
            if (!tracing || row.traceContext === undefined)
              return js.publish(subject, row.payload, options);
            return publishTraced(js, row.seq, row.payload, row.traceContext, options);
          });
          const results = await unlessDisconnected(Promise.allSettled(acks));
          for (let i = 0; i < results.length; i++) {
            const r = results[i]!;
            if (r.status === 'rejected') {
              position = undefined;
              handedOver = [];
              throw r.reason;
            }
            published = rows[i]!.seq;
            if (createdAt.size < 200_000) createdAt.set(published, rows[i]!.createdAtMs);
          }
          position = { lastEventSeq: published, offset };
          status = { connected: true, publishedSeq: published, publishedAtMs: Date.now() };
        }
        streamOffset = position.offset;
        // What was published is recorded, and leaves the outbox, a few times a second.
        const idle = rows.length < batchSize && !more;
        if (published > recordedSeq && (idle || Date.now() - recordedAtMs > 250)) {
          recordedAtMs = Date.now();
          await db
            .updateTable('replication_published')
            .set({ published_seq: published, published_at_ms: BigInt(recordedAtMs) })
            .where('published_seq', '<', published)
            .execute();
          await sql`DELETE FROM replication_events WHERE seq <= ${published.toString()}::int8`.execute(
            db,
          );
          recordedSeq = published;
        }
        await unlessDisconnected(pollAcknowledgements(manager));
        backoffMs = 200;
        if (idle) await waitForWork();
      } catch (error) {
        if (abort.signal.aborted) return;
        position = undefined;
        status = { ...status, connected: nc !== undefined && !nc.isClosed() };
        log.warn({ err: error, stream }, 'replication relay: publish failed; retrying');
        const again = reconnected.signal;
        await sleep(backoffMs + Math.random() * backoffMs, undefined, {
          signal: AbortSignal.any([abort.signal, again]),
        }).catch(() => undefined);
        backoffMs = again.aborted ? 200 : Math.min(backoffMs * 2, 5000);
      }
    }
  }

  return {
    start() {
      loop ??= run();
    },
    kick() {
      kicked = true;
      wake?.();
    },
    offer(events) {
      // Past the bound (a relay far behind, or NATS away) the outbox is read back instead.
      if (handedOver.length + events.length > maxHandedOver) handedOver = [];
      else handedOver.push(...events);
      kicked = true;
      wake?.();
    },
    async stop() {
      abort.abort();
      wake?.();
      await loop;
      await nc?.drain().catch(() => undefined);
    },
    get status() {
      return status;
    },
    get replicas() {
      return replicas;
    },
  };
}
