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
import { toCrdrError, unavailable } from '@crdr/errors';
import { sql, type Database, type Kysely } from '@crdr/store';
import {
  chunkCount,
  decodeEvent,
  isEventChunk,
  maxWholeEventBytes,
  replicationMessageId,
  replicationStreamName,
  replicationSubject,
  splitEvent,
} from '@crdr/replication';
import {
  attributeNames,
  contextFromRecord,
  endSpan,
  getTracer,
  injectTraceContext,
  isTracingEnabled,
  latencyProbe,
  startSpan,
  type Logger,
} from '@crdr/telemetry';
import type { CommittedEvent } from '../pg/store-writer.js';
import { readOutbox } from '../pg/outbox.js';
import { StreamSequences } from './stream-sequences.js';

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

/** Where the replication stream stands: its last whole event and its last message. */
interface StreamPosition {
  readonly lastEventSeq: bigint;
  readonly lastStreamSeq: bigint;
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
 * An event longer than the NATS server's max payload goes out as consecutive parts (see
 * `EventChunk`), so no event, whatever its size, holds up the log. Published events leave the
 * outbox.
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
  /** Which event each stream message completes, for the replicas' acknowledgements. */
  const sequences = new StreamSequences();
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
    const floors: number[] = [];
    for await (const consumer of manager.consumers.list(stream)) {
      floors.push(consumer.ack_floor.stream_seq);
      const acknowledgedSeq = sequences.eventSeqAt(BigInt(consumer.ack_floor.stream_seq));
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
    const ackFloor = Math.min(Number.MAX_SAFE_INTEGER, ...floors);
    sequences.forgetBefore(BigInt(ackFloor));
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
   * Where the stream stands: the last event it holds whole (which may be ahead of the recorded
   * published_seq after a crash) and its last stream sequence. A last message that is a part
   * of an event, not its last, is what a relay stopped halfway left: that event is published
   * again whole, after it.
   */
  async function streamPosition(manager: JetStreamManager): Promise<StreamPosition> {
    const info = await manager.streams.info(stream);
    let position: StreamPosition;
    if (info.state.messages === 0) {
      position = { lastEventSeq: 0n, lastStreamSeq: BigInt(info.state.last_seq) };
    } else {
      const last = await manager.streams.getMessage(stream, { last_by_subj: subject });
      const event = decodeEvent(last.data);
      const partial = isEventChunk(event) && event.eventChunk.index + 1 < event.eventChunk.count;
      const lastEventSeq = BigInt(event.sequence) - (partial ? 1n : 0n);
      position = { lastEventSeq, lastStreamSeq: BigInt(last.seq) };
    }
    sequences.found(position.lastStreamSeq, position.lastEventSeq);
    return position;
  }

  type OutgoingEvent = Awaited<ReturnType<typeof nextEvents>>['rows'][number];

  /** Events handed over by the store writer after their commit, in sequence. */
  let handedOver: CommittedEvent[] = [];
  let handedOverBytes = 0;
  const maxHandedOver = 50_000;
  /** When the oldest unpublished handed-over events arrived (the latency probe only). */
  let offeredAtMs = 0;
  const maxHandedOverBytes = 64 * 1024 * 1024;
  const forgetHandedOver = (): void => {
    handedOver = [];
    handedOverBytes = 0;
  };
  const takeHandedOver = (count: number): CommittedEvent[] => {
    const taken = handedOver.slice(0, count);
    handedOver = handedOver.slice(count);
    for (const event of taken) handedOverBytes -= event.payload.length;
    return taken;
  };

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
    if (start > 0) takeHandedOver(start);
    if (handedOver.length > 0 && handedOver[0]!.seq === after + 1n) {
      return { rows: takeHandedOver(batchSize), more: false };
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

  /** The server's max payload, which bounds one message of the log (1 MiB by default). */
  const maxPayloadBytes = (): number => nc?.info?.max_payload ?? 1024 * 1024;

  /**
   * Publishes `rows` after `from`, in order, each expecting the stream's last message to be the
   * one before it; an event longer than one message goes out in parts. A window of publishes is
   * in flight at a time, bounded in count and bytes, so an event of many megabytes is never
   * buffered whole a second time. Stops at the first refusal; returns where the stream stands.
   */
  async function publishRows(
    js: JetStreamClient,
    rows: readonly OutgoingEvent[],
    from: StreamPosition,
    maxPayload: number,
  ): Promise<{ position: StreamPosition; failure?: unknown }> {
    const wholeMax = maxWholeEventBytes(maxPayload);
    const maxInFlightBytes = Math.max(8 * 1024 * 1024, 4 * maxPayload);
    const tracing = isTracingEnabled();
    let position = from;
    let streamSeq = from.lastStreamSeq;
    let failure: unknown;
    const window: Array<{ ack: Promise<PubAck>; bytes: number; then?: () => void }> = [];
    let windowBytes = 0;
    const settleOldest = async (): Promise<void> => {
      const entry = window.shift()!;
      windowBytes -= entry.bytes;
      try {
        await unlessDisconnected(entry.ack);
        if (failure === undefined) entry.then?.();
      } catch (error) {
        failure ??= error;
      }
    };
    const send = async (
      payload: Uint8Array,
      msgID: string,
      traced: OutgoingEvent | undefined,
      then?: (at: bigint) => void,
    ): Promise<void> => {
      const at = ++streamSeq;
      const options = { msgID, expect: { lastSequence: Number(at - 1n) } };
      const ack =
        !tracing || traced?.traceContext === undefined
          ? js.publish(subject, payload, options)
          : publishTraced(js, traced.seq, payload, traced.traceContext, options);
      // Settled in order below; one refused early must not go unhandled meanwhile.
      ack.catch(() => undefined);
      window.push({ ack, bytes: payload.length, ...(then ? { then: () => then(at) } : {}) });
      windowBytes += payload.length;
      while (window.length > batchSize || windowBytes > maxInFlightBytes) await settleOldest();
    };
    const completed = (row: OutgoingEvent, at: bigint): void => {
      position = { lastEventSeq: row.seq, lastStreamSeq: at };
      if (createdAt.size < 200_000) createdAt.set(row.seq, row.createdAtMs);
    };
    for (const row of rows) {
      if (failure !== undefined) break;
      if (row.payload.length <= wholeMax) {
        await send(row.payload, replicationMessageId(row.seq), row, (at) => completed(row, at));
        continue;
      }
      const attempt = streamSeq + 1n;
      const count = chunkCount(row.payload.length, maxPayload);
      const envelope = { sequence: row.seq, createdAtMs: row.createdAtMs, attempt };
      let index = 0;
      for (const part of splitEvent(row.payload, envelope, maxPayload)) {
        if (failure !== undefined) break;
        const last = index === count - 1;
        // The parts of each attempt have their own ids: a retried publish of one is dropped.
        const msgID = `${replicationMessageId(row.seq)}.${attempt}.${index}`;
        await send(part, msgID, last ? row : undefined, (at) => {
          if (!last) return;
          sequences.published(row.seq, attempt, at);
          completed(row, at);
        });
        index++;
      }
    }
    while (window.length > 0) await settleOldest();
    return failure === undefined ? { position } : { position, failure };
  }

  async function run(): Promise<void> {
    let backoffMs = 200;
    let position: StreamPosition | undefined;
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
          if (latencyProbe.enabled) latencyProbe.count('relay: statements');
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
          const outcome = await publishRows(js, rows, position, maxPayloadBytes());
          if (outcome.failure !== undefined) {
            position = undefined;
            forgetHandedOver();
            throw toCrdrError(outcome.failure);
          }
          position = outcome.position;
          published = position.lastEventSeq;
          if (latencyProbe.enabled && offeredAtMs > 0) {
            latencyProbe.record('relay: handed over→published', performance.now() - offeredAtMs);
            offeredAtMs = 0;
          }
          status = { connected: true, publishedSeq: published, publishedAtMs: Date.now() };
        }
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
          if (latencyProbe.enabled) latencyProbe.count('relay: statements', 2);
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
      // Past the bounds (a relay far behind, or NATS away) the outbox is read back instead.
      const bytes = events.reduce((sum, e) => sum + e.payload.length, 0);
      if (
        handedOver.length + events.length > maxHandedOver ||
        handedOverBytes + bytes > maxHandedOverBytes
      ) {
        forgetHandedOver();
      } else {
        handedOver.push(...events);
        handedOverBytes += bytes;
      }
      if (latencyProbe.enabled && offeredAtMs === 0) offeredAtMs = performance.now();
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
