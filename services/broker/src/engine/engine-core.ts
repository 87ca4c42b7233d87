import type { Database, Kysely } from '@crdr/store';
import { failedPrecondition, unavailable } from '@crdr/errors';
import { currentTraceContext } from '@crdr/telemetry';
import { parseDestination } from '../domain/destination.js';
import type { StoreWriter } from '../adapters/pg/store-writer.js';
import type { BrokerMeta } from '../adapters/pg/broker-state.repository.js';
import type { InFlight } from './consumer.js';
import type { SendRequest } from './engine.types.js';
import { DestinationRegistry, type DestinationState } from './destination-registry.js';
import { MessageFlow, keyOf, type OutgoingMessage, type PreparedPublish } from './message-flow.js';
import type { BrokerSession } from './session.js';

export interface EngineCoreOptions {
  readonly db: Kysely<Database>;
  readonly brokerId: string;
  readonly memoryWindow: number;
  readonly maxRedeliveries: number;
  /** The largest message body accepted, in bytes, whatever the protocol. */
  readonly maxMessageBytes: number;
  readonly now: () => number;
  readonly onError: (error: unknown, context: string) => void;
  /** Schedules a delayed message; resolves when it is durable. */
  readonly schedule: (request: SendRequest, messageId: string) => Promise<void>;
}

/**
 * The serving broker's state: destinations, stores, sessions and the serial store writer. It
 * exists only while this process serves (the lease holder and role PRIMARY); on a role change
 * or a lost lease it is dropped and rebuilt from Postgres later.
 */
export class EngineCore {
  readonly registry: DestinationRegistry;
  readonly flow: MessageFlow;
  readonly sessions = new Set<BrokerSession>();
  readonly options: EngineCoreOptions;
  writer: StoreWriter | undefined;
  meta: BrokerMeta | undefined;
  /** Holds the lease (or runs without a standby). */
  active = false;
  /** Why this primary serves no client although it could (held at start, being demoted). */
  unservedReason: string | undefined;
  #messageCounter = 0;
  readonly #messageIdPrefix: string;

  constructor(options: EngineCoreOptions) {
    this.options = options;
    const writer = (): StoreWriter => {
      if (this.writer === undefined) throw unavailable('the broker is not serving');
      return this.writer;
    };
    this.flow = new MessageFlow({
      db: options.db,
      writer,
      registry: () => this.registry,
      now: options.now,
      maxRedeliveries: options.maxRedeliveries,
      onError: options.onError,
    });
    this.registry = new DestinationRegistry({
      db: options.db,
      writer,
      host: this.flow,
      memoryWindow: options.memoryWindow,
      now: options.now,
    });
    this.#messageIdPrefix = `ID:${options.brokerId}-${Date.now().toString(36)}-1:1:1:1:`;
  }

  get serving(): boolean {
    return this.active && this.meta?.role === 'PRIMARY' && this.writer !== undefined;
  }

  assertServing(): void {
    const meta = this.meta;
    if (meta?.role === 'REPLICA') {
      const primary =
        meta.primary_broker_id !== null
          ? `broker ${meta.primary_broker_id}${meta.primary_region !== null ? ` in region ${meta.primary_region}` : ''}`
          : 'its primary broker';
      throw failedPrecondition(
        `broker ${meta.broker_id} is a replica and does not accept client connections; connect to the primary: ${primary}`,
        {
          details: {
            primaryBrokerId: meta.primary_broker_id ?? '',
            primaryRegion: meta.primary_region ?? '',
          },
        },
      );
    }
    // A reason is set before serving stops: a demotion evicts its clients and then still writes
    // the switchover marker behind every pending write, and a client that reconnected in that
    // window would be left on a broker that no longer delivers anything.
    if (this.unservedReason !== undefined) {
      throw unavailable(this.unservedReason);
    }
    if (!this.serving) {
      throw unavailable(
        'this broker instance is the standby (or is starting); the active instance serves clients',
      );
    }
  }

  newMessageId(): string {
    return this.#messageIdPrefix + String(++this.#messageCounter);
  }

  onError(error: unknown, context: string): void {
    this.options.onError(error, context);
  }

  #outgoing(request: SendRequest, messageId: string, destination: string): OutgoingMessage {
    return {
      messageId,
      destination,
      headers: request.headers,
      body: request.body,
      priority: request.priority,
      persistent: request.persistent,
      expiresAtMs: request.expiresAtMs ?? 0,
      timestampMs: this.options.now(),
    };
  }

  /** Publishes one message now; resolves once it is durable (persistent) or queued. */
  async publish(
    request: SendRequest,
    messageId: string,
    onDestination: (destination: DestinationState) => void,
  ): Promise<void> {
    const name = parseDestination(request.destination);
    if ((request.scheduledDelayMs ?? 0) > 0 && !name.temporary) {
      await this.options.schedule(request, messageId);
      return;
    }
    const found = this.registry.ensure(name.kind, name.name, name.temporary);
    const destination = found instanceof Promise ? await found : found;
    onDestination(destination);
    const prepared = this.flow.prepare(
      destination,
      this.#outgoing(request, messageId, request.destination),
    );
    if (prepared.rows.length === 0) {
      prepared.apply();
      return;
    }
    // The SEND's trace goes with its replication event (undefined, and free, with tracing off).
    const traceContext = currentTraceContext();
    const batch = { inserts: prepared.rows, onCommitted: prepared.apply };
    await this.writer!.write(traceContext === undefined ? batch : { ...batch, traceContext });
  }

  /** Commits a transaction's sends and acks atomically. */
  async commit(
    sends: ReadonlyArray<{ readonly request: SendRequest; readonly messageId: string }>,
    acks: readonly InFlight[],
    onDestination: (destination: DestinationState) => void,
  ): Promise<void> {
    const prepared: PreparedPublish[] = [];
    for (const { request, messageId } of sends) {
      const name = parseDestination(request.destination);
      const destination = await this.registry.ensure(name.kind, name.name, name.temporary);
      onDestination(destination);
      if ((request.scheduledDelayMs ?? 0) > 0 && !name.temporary) {
        // Scheduled messages are held apart; they join the transaction's outcome only loosely.
        await this.options.schedule(request, messageId);
        continue;
      }
      prepared.push(
        this.flow.prepare(destination, this.#outgoing(request, messageId, request.destination)),
      );
    }
    const inserts = prepared.flatMap((p) => p.rows);
    const deletes = acks
      .filter((a) => a.message.persistent && !a.consumer.store.deleted)
      .map((a) => keyOf(a.message));
    const apply = (): void => {
      for (const p of prepared) p.apply();
      this.flow.detach(acks);
    };
    if (inserts.length === 0 && deletes.length === 0) {
      apply();
      return;
    }
    const traceContext = currentTraceContext();
    const batch = { inserts, deletes, onCommitted: apply };
    await this.writer!.write(traceContext === undefined ? batch : { ...batch, traceContext });
  }

  /** Drops every session and all in-memory state (demotion, lost lease, shutdown). */
  async evictAll(reason: string): Promise<void> {
    const sessions = [...this.sessions];
    for (const session of sessions) session.evict(reason);
    await Promise.allSettled(sessions.map((s) => s.close()));
  }
}
