import { unavailable } from '@crdr/errors';
import type { replicationV1 } from '@crdr/proto';
import { encodeEvent, type ReplicationEvent } from '@crdr/replication';
import { latencyProbe } from '@crdr/telemetry';
import { withoutBodies } from './outbox.js';
import {
  advanceDispatchMarksSql,
  deleteMessagesSql,
  insertMessagesSql,
  packBodies,
  recordRedeliveryCountsSql,
  sql,
  type Database,
  type Kysely,
  type RawBuilder,
  type Transaction,
} from '@crdr/store';

/** A message row to insert; the writer assigns `seq` in commit order. */
export interface NewMessage {
  readonly storeId: number;
  readonly priority: number;
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly expiresAtMs: number;
  readonly enqueuedAtMs: number;
  readonly redeliveryCount: number;
  seq?: bigint;
}

export interface MessageKey {
  readonly storeId: number;
  readonly priority: number;
  readonly seq: bigint;
}

export interface ScheduledRow {
  readonly messageId: string;
  readonly destination: string;
  readonly priority: number;
  readonly persistent: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly expiresAtMs: number;
  readonly deliverAtMs: number;
  readonly createdAtMs: number;
}

/**
 * One atomic unit of change. Units submitted while a flush runs are committed together in the
 * next one (group commit): the lever that makes a receipt on every SEND affordable.
 */
export interface WriteBatch {
  readonly inserts?: readonly NewMessage[];
  readonly deletes?: readonly MessageKey[];
  readonly redeliveries?: ReadonlyArray<MessageKey & { readonly count: number }>;
  readonly hwm?: ReadonlyArray<{ readonly storeId: number; readonly seq: bigint }>;
  readonly scheduledInserts?: readonly ScheduledRow[];
  readonly scheduledDeletes?: readonly bigint[];
  /** Runs synchronously right after the commit, in commit order, before any later unit's. */
  readonly onCommitted?: () => void;
  /**
   * The replication event this unit becomes; inferred from its contents when absent (inserts:
   * sent, deletes: acknowledged, both: a committed transaction, ...). `none`: not replicated.
   */
  readonly kind?: BatchKind;
  /** Why a message moved to the dead letter queue. */
  readonly cause?: string;
  /** W3C trace context of the operation, carried in its replication event. */
  readonly traceContext?: Readonly<Record<string, string>>;
}

export type BatchKind =
  | 'sent'
  | 'acknowledged'
  | 'redelivered'
  | 'dead-lettered'
  | 'expired'
  | 'committed'
  | 'dispatch-mark'
  | 'none';

/** A replicable change of a `run`, without the envelope the writer adds. */
export type ReplicatedChange = Omit<
  ReplicationEvent,
  'version' | 'sequence' | 'epoch' | 'createdAtMs' | 'brokerId' | 'traceContext' | 'change'
>;

/** While set, every change is written with its replication event (CRDR primary). */
export interface ReplicationTarget {
  readonly brokerId: string;
  readonly epoch: bigint;
}

export interface LeaseFence {
  readonly name: string;
  readonly holder: string;
  readonly token: bigint;
}

export interface StoreWriterOptions {
  readonly db: Kysely<Database>;
  /** The last message seq already used in the store. */
  readonly lastSeq: bigint;
  /** Runs first in every `run` transaction; throws to refuse the write (the lease fence). */
  readonly guard?: (trx: Transaction<Database>) => Promise<void>;
  /**
   * The lease row every flush must still find, checked inside the flush's own statement; none:
   * this instance does not hold the lease and nothing may be written.
   */
  readonly fence?: () => LeaseFence | undefined;
  /** Rows per flush at most; more units wait for the next flush. */
  readonly maxRowsPerFlush?: number;
  /** The last replication event sequence already written. */
  readonly lastEventSeq?: bigint;
  /** Where events go while replication is on; undefined: no events are written. */
  readonly replication?: () => ReplicationTarget | undefined;
  /** Told after each commit that wrote events, with the last sequence written. */
  readonly onEventsCommitted?: (lastSeq: bigint, events: readonly CommittedEvent[]) => void;
  readonly now?: () => number;
}

/** A replication event as committed to the outbox, handed to the relay without a read back. */
export interface CommittedEvent {
  readonly seq: bigint;
  readonly createdAtMs: number;
  readonly payload: Buffer;
  /** The W3C trace context the event carries, for the relay's span (set only while tracing). */
  readonly traceContext?: Readonly<Record<string, string>>;
}

export interface EmitOptions {
  /**
   * The change's messages come without their bodies, which the messages table holds (a
   * snapshot): the outbox stores the event so, and the relay fills them in when it publishes.
   */
  readonly bodiesInStore?: boolean;
}

export interface RunOptions {
  /**
   * Starts a new replication log in this run: sequences restart at 1 and the events emitted
   * go to this target, whatever the current one is (replication being turned on).
   */
  readonly newLog?: ReplicationTarget;
}

export interface StoreWriter {
  write(batch: WriteBatch): Promise<void>;
  /**
   * Runs `work` in its own transaction, serialized with every write, then `apply(result)`
   * synchronously in commit order. `nextSeq` hands out message seqs inside it.
   */
  run<T>(
    work: (
      trx: Transaction<Database>,
      nextSeq: () => bigint,
      emit: (change: ReplicatedChange, options?: EmitOptions) => void,
      /** Writes the events emitted so far now, so a long run does not hold them all. */
      flushEvents: () => Promise<void>,
    ) => Promise<T>,
    apply?: (result: T) => void,
    runOptions?: RunOptions,
  ): Promise<T>;
  /** The highest seq handed out so far. */
  readonly lastSeq: bigint;
  /** The last replication event sequence committed. */
  readonly lastEventSeq: bigint;
  /**
   * A seq for a message that never reaches Postgres (non-persistent), so it sorts among the
   * persistent ones of its store.
   */
  reserveSeq(): bigint;
  readonly pending: number;
  close(): Promise<void>;
}

interface PendingWrite {
  readonly kind: 'write';
  readonly batch: WriteBatch;
  readonly rows: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface PendingRun {
  readonly kind: 'run';
  execute(): Promise<void>;
}

export function createStoreWriter(options: StoreWriterOptions): StoreWriter {
  const { db, guard } = options;
  const maxRows = options.maxRowsPerFlush ?? 2000;
  let lastSeq = options.lastSeq;
  let lastEventSeq = options.lastEventSeq ?? 0n;
  const now = options.now ?? Date.now;
  const queue: Array<PendingWrite | PendingRun> = [];
  let running: Promise<void> | undefined;
  let closed = false;

  const nextSeq = (): bigint => ++lastSeq;

  function kick(): void {
    running ??= loop().finally(() => {
      running = undefined;
      if (queue.length > 0) kick();
    });
  }

  async function loop(): Promise<void> {
    while (queue.length > 0) {
      const head = queue[0]!;
      if (head.kind === 'run') {
        queue.shift();
        await head.execute();
        continue;
      }
      const group: PendingWrite[] = [];
      let rows = 0;
      while (queue.length > 0 && queue[0]!.kind === 'write') {
        const next = queue[0] as PendingWrite;
        if (group.length > 0 && rows + next.rows > maxRows) break;
        queue.shift();
        group.push(next);
        rows += next.rows;
      }
      await flush(group);
    }
  }

  async function flush(group: readonly PendingWrite[]): Promise<void> {
    if (latencyProbe.enabled) latencyProbe.mark('flush start');
    const eventSeqBefore = lastEventSeq;
    const events = new EventLog(options.replication?.(), () => ++lastEventSeq, now());
    try {
      // One statement in autocommit: one round trip and one WAL flush for the whole group.
      const statement = buildFlush(
        group.map((g) => g.batch),
        nextSeq,
        options.fence,
        events,
      );
      if (statement !== undefined) {
        if (latencyProbe.enabled) latencyProbe.mark('statement built');
        const result = await statement.execute(db);
        if (latencyProbe.enabled) latencyProbe.mark('postgres answered');
        if (result.rows[0]?.held === 0) throw unavailable(leaseLostMessage);
      }
    } catch (error) {
      // Nothing committed: the sequences handed out are free again, so the log stays gap-free.
      lastEventSeq = eventSeqBefore;
      for (const pending of group) pending.reject(error);
      return;
    }
    for (const pending of group) {
      try {
        pending.batch.onCommitted?.();
      } finally {
        pending.resolve();
      }
    }
    if (latencyProbe.enabled) latencyProbe.mark('committed callbacks');
    if (lastEventSeq !== eventSeqBefore)
      options.onEventsCommitted?.(lastEventSeq, events.committed());
    if (latencyProbe.enabled) latencyProbe.mark('events handed to relay');
  }

  return {
    write(batch) {
      if (closed) return Promise.reject(new Error('store writer is closed'));
      return new Promise<void>((resolve, reject) => {
        const rows =
          (batch.inserts?.length ?? 0) +
          (batch.deletes?.length ?? 0) +
          (batch.redeliveries?.length ?? 0) +
          (batch.scheduledInserts?.length ?? 0) +
          1;
        if (latencyProbe.enabled) latencyProbe.mark('writer queued');
        queue.push({ kind: 'write', batch, rows, resolve, reject });
        kick();
      });
    },
    run(work, apply, runOptions = {}) {
      if (closed) return Promise.reject(new Error('store writer is closed'));
      return new Promise((resolve, reject) => {
        queue.push({
          kind: 'run',
          execute: async () => {
            let result: Awaited<ReturnType<typeof work>>;
            const eventSeqBefore = lastEventSeq;
            const committed: CommittedEvent[] = [];
            // Events written without their bodies cannot be handed over: the relay reads back.
            let handOver = true;
            try {
              result = await db.transaction().execute(async (trx) => {
                if (guard !== undefined) await guard(trx);
                if (runOptions.newLog !== undefined) lastEventSeq = 0n;
                const target = runOptions.newLog ?? options.replication?.();
                let events = new EventLog(target, () => ++lastEventSeq, now());
                const flushEvents = async (): Promise<void> => {
                  const write = events.statement(sql`true`);
                  if (write !== undefined) await sql`WITH ${write} SELECT 1`.execute(trx);
                  // A long run (a snapshot) is not handed over in memory: the relay reads it back.
                  handOver &&= events.complete;
                  if (handOver && committed.length < 1000) committed.push(...events.committed());
                  else committed.length = 0;
                  events = new EventLog(target, () => ++lastEventSeq, now());
                };
                const value = await work(
                  trx,
                  nextSeq,
                  (change, emitOptions) => events.add(change, undefined, emitOptions),
                  flushEvents,
                );
                await flushEvents();
                return value;
              });
            } catch (error) {
              lastEventSeq = eventSeqBefore;
              reject(asError(error));
              return;
            }
            if (lastEventSeq !== eventSeqBefore) {
              const complete =
                handOver && committed.length > 0 && committed[0]!.seq === eventSeqBefore + 1n;
              options.onEventsCommitted?.(lastEventSeq, complete ? committed : []);
            }
            try {
              apply?.(result);
              resolve(result);
            } catch (error) {
              reject(asError(error));
            }
          },
        });
        kick();
      });
    },
    get lastSeq() {
      return lastSeq;
    },
    get lastEventSeq() {
      return lastEventSeq;
    },
    reserveSeq: nextSeq,
    get pending() {
      return queue.length;
    },
    async close() {
      closed = true;
      while (running !== undefined) await running;
    },
  };
}

type StoredMessage = replicationV1.StoredMessage;

const asError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));

const leaseLostMessage = 'lease lost: another broker instance is active';

/**
 * Everything of a group of batches as one SQL statement: each change is a data-modifying CTE,
 * every one of them conditioned on the lease row (locked FOR KEY SHARE, so a takeover waits for
 * it), and the statement reports whether the lease was found. Seqs are handed out here, inside
 * the serial writer, so they grow in commit order.
 */
function buildFlush(
  batches: readonly WriteBatch[],
  nextSeq: () => bigint,
  fence: (() => LeaseFence | undefined) | undefined,
  events: EventLog,
): RawBuilder<{ held: number }> | undefined {
  const inserts: NewMessage[] = [];
  const deletes: MessageKey[] = [];
  const redeliveries: Array<MessageKey & { count: number }> = [];
  const hwm = new Map<number, bigint>();
  const scheduledInserts: ScheduledRow[] = [];
  const scheduledDeletes: bigint[] = [];
  for (const batch of batches) {
    if (batch.inserts) for (const m of batch.inserts) inserts.push(m);
    if (batch.deletes) for (const k of batch.deletes) deletes.push(k);
    if (batch.redeliveries) for (const r of batch.redeliveries) redeliveries.push(r);
    if (batch.hwm) {
      for (const h of batch.hwm) {
        const current = hwm.get(h.storeId);
        if (current === undefined || current < h.seq) hwm.set(h.storeId, h.seq);
      }
    }
    if (batch.scheduledInserts) for (const s of batch.scheduledInserts) scheduledInserts.push(s);
    if (batch.scheduledDeletes) for (const id of batch.scheduledDeletes) scheduledDeletes.push(id);
  }
  for (const m of inserts) m.seq = nextSeq();
  if (events.enabled) events.addBatches(batches);

  const ctes: RawBuilder<unknown>[] = [];
  let guard: RawBuilder<unknown> = sql`true`;
  if (fence !== undefined) {
    const f = fence();
    if (f === undefined) throw unavailable('lease not held: this broker instance is a standby');
    ctes.push(
      sql`lease AS (SELECT 1 FROM leases WHERE name = ${f.name} AND holder = ${f.holder} AND token = ${String(f.token)}::int8 FOR KEY SHARE)`,
    );
    guard = sql`EXISTS (SELECT FROM lease)`;
  }
  if (inserts.length > 0) ctes.push(sql`ins AS (${insertMessagesSql(inserts, guard)})`);
  if (deletes.length > 0) ctes.push(sql`del AS (${deleteMessagesSql(deletes, guard)})`);
  // A row may not be changed twice in one statement: a deleted message needs no count, and two
  // counts of one message in this flush are one, the higher (counts never go down).
  const deleted = new Set(deletes.map((k) => `${k.storeId}/${k.seq}`));
  const counted = new Map<string, MessageKey & { count: number }>();
  for (const r of redeliveries) {
    const id = `${r.storeId}/${r.seq}`;
    if (deleted.has(id)) continue;
    const seen = counted.get(id);
    if (seen === undefined || seen.count < r.count) counted.set(id, r);
  }
  if (counted.size > 0) {
    ctes.push(sql`redelivered AS (${recordRedeliveryCountsSql([...counted.values()], guard)})`);
  }
  if (hwm.size > 0) {
    const marks = [...hwm].map(([storeId, seq]) => ({ storeId, seq }));
    ctes.push(sql`marks AS (${advanceDispatchMarksSql(marks, guard)})`);
  }
  if (scheduledInserts.length > 0)
    ctes.push(sql`sched AS (${insertScheduledSql(scheduledInserts, guard)})`);
  if (scheduledDeletes.length > 0) {
    ctes.push(sql`unsched AS (
      DELETE FROM scheduled_messages WHERE id = ANY(${scheduledDeletes.map(String)}::int8[]) AND ${guard})`);
  }
  const eventWrites = events.statement(guard);
  if (eventWrites !== undefined) ctes.push(eventWrites);
  const changes = ctes.length - (fence === undefined ? 0 : 1);
  if (changes === 0) return undefined;
  const held = fence === undefined ? sql`1` : sql`(SELECT count(*) FROM lease)::int`;
  return sql<{ held: number }>`WITH ${sql.join(ctes, sql`, `)} SELECT ${held} AS held`;
}

function insertScheduledSql(
  rows: readonly ScheduledRow[],
  guard: RawBuilder<unknown>,
): RawBuilder<unknown> {
  const { blob, offsets, lengths } = packBodies(rows.map((m) => m.body));
  return sql`
    INSERT INTO scheduled_messages (message_id, destination, priority, persistent, headers, body,
                                    expires_at_ms, deliver_at_ms, created_at_ms)
    SELECT u.message_id, u.destination, u.priority, u.persistent, u.headers,
           substring(${blob}::bytea FROM u.body_offset FOR u.body_length),
           u.expires_at_ms, u.deliver_at_ms, u.created_at_ms
    FROM unnest(
      ${rows.map((m) => m.messageId)}::text[],
      ${rows.map((m) => m.destination)}::text[],
      ${rows.map((m) => m.priority)}::smallint[],
      ${rows.map((m) => m.persistent)}::boolean[],
      ${rows.map((m) => JSON.stringify(m.headers))}::jsonb[],
      ${offsets}::int[],
      ${lengths}::int[],
      ${rows.map((m) => (m.expiresAtMs > 0 ? String(m.expiresAtMs) : null))}::int8[],
      ${rows.map((m) => String(m.deliverAtMs))}::int8[],
      ${rows.map((m) => String(m.createdAtMs))}::int8[])
      AS u(message_id, destination, priority, persistent, headers, body_offset, body_length,
           expires_at_ms, deliver_at_ms, created_at_ms)
    WHERE ${guard}`;
}

/** The replication events of one transaction, numbered as they are added. */
class EventLog {
  readonly #target: ReplicationTarget | undefined;
  readonly #nextSeq: () => bigint;
  readonly #createdAtMs: number;
  readonly #seqs: bigint[] = [];
  readonly #payloads: Buffer[] = [];
  /** What the outbox stores: the payload, or the payload without its messages' bodies. */
  readonly #stored: Buffer[] = [];
  readonly #bodiesInStore: boolean[] = [];
  #complete = true;
  /** Trace contexts by index in `#seqs`; allocated only when an event carries one. */
  #traceContexts: Array<Readonly<Record<string, string>> | undefined> | undefined;

  constructor(target: ReplicationTarget | undefined, nextSeq: () => bigint, createdAtMs: number) {
    this.#target = target;
    this.#nextSeq = nextSeq;
    this.#createdAtMs = createdAtMs;
  }

  get enabled(): boolean {
    return this.#target !== undefined;
  }

  /** False once an event was added without its bodies: only the outbox has it, read back. */
  get complete(): boolean {
    return this.#complete;
  }

  add(
    change: ReplicatedChange,
    traceContext?: Readonly<Record<string, string>>,
    options: EmitOptions = {},
  ): void {
    const target = this.#target;
    if (target === undefined) return;
    const seq = this.#nextSeq();
    if (traceContext !== undefined) {
      this.#traceContexts ??= [];
      this.#traceContexts[this.#seqs.length] = traceContext;
    }
    this.#seqs.push(seq);
    const envelope = {
      sequence: seq.toString(),
      epoch: target.epoch.toString(),
      createdAtMs: String(this.#createdAtMs),
      brokerId: target.brokerId,
      ...(traceContext === undefined ? {} : { traceContext: { ...traceContext } }),
    };
    const payload = asBuffer(encodeEvent({ ...change, ...envelope }));
    this.#payloads.push(payload);
    if (options.bodiesInStore === true) {
      this.#complete = false;
      this.#stored.push(payload);
      this.#bodiesInStore.push(true);
      return;
    }
    const slim = withoutBodies(change);
    this.#stored.push(
      slim === undefined ? payload : asBuffer(encodeEvent({ ...slim, ...envelope })),
    );
    this.#bodiesInStore.push(slim !== undefined);
  }

  /**
   * One event per unit, except that consecutive units of a kind that commutes with itself
   * (sends, acknowledgements, redelivery counts, dispatch marks) become one event: a busy
   * flush then carries a handful of events instead of one per message, with the same outcome
   * on the replica since the units of one flush commit together.
   */
  addBatches(batches: readonly WriteBatch[]): void {
    let pending: ReplicatedChange | undefined;
    let pendingKey: MergeKey | undefined;
    const emit = (): void => {
      if (pending !== undefined) this.add(pending);
      pending = undefined;
      pendingKey = undefined;
    };
    for (const batch of batches) {
      const change = changeOf(batch);
      if (change === undefined) continue;
      const key = batch.traceContext === undefined ? mergeKeyOf(change) : undefined;
      if (key !== undefined && key === pendingKey && pending !== undefined) {
        mergeInto(pending, change, key);
        continue;
      }
      emit();
      if (key === undefined) {
        this.add(change, batch.traceContext);
      } else {
        pending = change;
        pendingKey = key;
      }
    }
    emit();
  }

  /** The events of this log, once committed. */
  committed(): CommittedEvent[] {
    const traces = this.#traceContexts;
    return this.#seqs.map((seq, i) => {
      const traceContext = traces?.[i];
      const event = { seq, createdAtMs: this.#createdAtMs, payload: this.#payloads[i]! };
      return traceContext === undefined ? event : { ...event, traceContext };
    });
  }

  /** The CTE that writes the events and moves the log's last sequence, or nothing. */
  statement(guard: RawBuilder<unknown>): RawBuilder<unknown> | undefined {
    if (this.#seqs.length === 0) return undefined;
    const { blob, offsets, lengths } = packBodies(this.#stored);
    const epoch = this.#target!.epoch.toString();
    const last = this.#seqs[this.#seqs.length - 1]!.toString();
    return sql`events AS (
      INSERT INTO replication_events (seq, epoch, created_at_ms, payload, bodies_in_store)
      SELECT u.seq, ${epoch}::int8, ${String(this.#createdAtMs)}::int8,
             substring(${blob}::bytea FROM u.payload_offset FOR u.payload_length), u.bodies_in_store
      FROM unnest(${this.#seqs.map(String)}::int8[], ${offsets}::int[], ${lengths}::int[],
                  ${this.#bodiesInStore}::boolean[])
        AS u(seq, payload_offset, payload_length, bodies_in_store)
      WHERE ${guard}), log AS (
      UPDATE replication_log SET last_seq = ${last}::int8 WHERE ${guard})`;
  }
}

const stored = (m: NewMessage): StoredMessage => ({
  storeId: m.storeId,
  priority: m.priority,
  seq: String(m.seq),
  messageId: m.messageId,
  destination: m.destination,
  headers: { ...m.headers },
  body: m.body,
  expiresAtMs: String(m.expiresAtMs),
  enqueuedAtMs: String(m.enqueuedAtMs),
  redeliveryCount: m.redeliveryCount,
});

const keyOf = (k: MessageKey): { storeId: number; priority: number; seq: string } => ({
  storeId: k.storeId,
  priority: k.priority,
  seq: k.seq.toString(),
});

/** The replication event of one unit of change, by its kind or, when unnamed, its contents. */
function changeOf(batch: WriteBatch): ReplicatedChange | undefined {
  const inserts = batch.inserts ?? [];
  const deletes = batch.deletes ?? [];
  const redeliveries = batch.redeliveries ?? [];
  const marks = batch.hwm ?? [];
  const kind: BatchKind =
    batch.kind ??
    (inserts.length > 0 && deletes.length > 0
      ? 'committed'
      : inserts.length > 0
        ? 'sent'
        : deletes.length > 0
          ? 'acknowledged'
          : redeliveries.length > 0
            ? 'redelivered'
            : marks.length > 0
              ? 'dispatch-mark'
              : 'none');
  switch (kind) {
    case 'none':
      return undefined;
    case 'sent':
      return inserts.length === 0 ? undefined : { messageSent: { rows: inserts.map(stored) } };
    case 'acknowledged':
      return deletes.length === 0
        ? undefined
        : { messageAcknowledged: { keys: deletes.map(keyOf) } };
    case 'redelivered':
      return {
        redeliveryCountChanged: {
          counts: redeliveries.map((r) => ({ key: keyOf(r), count: r.count })),
        },
      };
    case 'dead-lettered':
      return {
        movedToDeadLetterQueue: {
          from: keyOf(deletes[0]!),
          ...(inserts[0] === undefined ? {} : { to: stored(inserts[0]) }),
          cause: batch.cause ?? '',
        },
      };
    case 'expired':
      return {
        messageExpired: {
          key: keyOf(deletes[0]!),
          ...(inserts[0] === undefined ? {} : { deadLetter: stored(inserts[0]) }),
        },
      };
    case 'committed':
      return {
        transactionCommitted: { sent: inserts.map(stored), acknowledged: deletes.map(keyOf) },
      };
    case 'dispatch-mark':
      return {
        dispatchMarkAdvanced: {
          marks: marks.map((m) => ({ storeId: m.storeId, seq: m.seq.toString() })),
        },
      };
  }
}

type MergeKey =
  'messageSent' | 'messageAcknowledged' | 'redeliveryCountChanged' | 'dispatchMarkAdvanced';

function mergeKeyOf(change: ReplicatedChange): MergeKey | undefined {
  if (change.messageSent) return 'messageSent';
  if (change.messageAcknowledged) return 'messageAcknowledged';
  if (change.redeliveryCountChanged) return 'redeliveryCountChanged';
  if (change.dispatchMarkAdvanced) return 'dispatchMarkAdvanced';
  return undefined;
}

/** Appends `next`'s rows to `into` (both of kind `key`); `into` is a fresh object of this flush. */
function mergeInto(into: ReplicatedChange, next: ReplicatedChange, key: MergeKey): void {
  switch (key) {
    case 'messageSent':
      (into.messageSent!.rows as unknown[]).push(...(next.messageSent!.rows ?? []));
      return;
    case 'messageAcknowledged':
      (into.messageAcknowledged!.keys as unknown[]).push(...(next.messageAcknowledged!.keys ?? []));
      return;
    case 'redeliveryCountChanged':
      (into.redeliveryCountChanged!.counts as unknown[]).push(
        ...(next.redeliveryCountChanged!.counts ?? []),
      );
      return;
    case 'dispatchMarkAdvanced':
      (into.dispatchMarkAdvanced!.marks as unknown[]).push(
        ...(next.dispatchMarkAdvanced!.marks ?? []),
      );
      return;
  }
}

/** The encoded bytes as a Buffer without copying them (protobufjs already gives one in Node). */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
