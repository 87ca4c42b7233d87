import type { Database, Kysely } from '@crdr/store';
import { failedPrecondition, resourceExhausted, unavailable } from '@crdr/errors';
import { currentTraceContext } from '@crdr/telemetry';
import { formatDestination, parseDestinations } from '../domain/destination.js';
import type { StoreWriter } from '../adapters/pg/store-writer.js';
import type { BrokerMeta } from '../adapters/pg/broker-state.repository.js';
import type { InFlight } from './consumer.js';
import type { SendRequest } from './engine.types.js';
import { DestinationRegistry, type DestinationState } from './destination-registry.js';
import { MessageFlow, keyOf, type OutgoingMessage, type PreparedPublish } from './message-flow.js';
import type { BrokerSession } from './session.js';
import type { Authorizer } from '../domain/authorization.js';

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
  readonly limits: SessionLimits;
  /** Per-destination rights of users' groups (ActiveMQ's authorizationPlugin). */
  readonly authorizer: Authorizer;
}

/** What protects the broker from one client, or many (ActiveMQ's maximumConnections and more). */
export interface SessionLimits {
  /** Sessions open at once: STOMP and WebSocket connections, gRPC streams and calls. */
  readonly maxSessions: number;
  /** The same, for one user. */
  readonly maxSessionsPerUser: number;
  /** Bytes (bodies and headers) held by every open transaction together. */
  readonly maxTransactionBytes: number;
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
  readonly #connectionIdPrefix: string;
  readonly #sessionsPerUser = new Map<string, number>();
  /** Bytes held by open transactions, all sessions together. */
  #transactionBytes = 0;

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
      onError: options.onError,
    });
    this.registry = new DestinationRegistry({
      db: options.db,
      writer,
      host: this.flow,
      memoryWindow: options.memoryWindow,
      now: options.now,
    });
    const start = Date.now().toString(36);
    this.#messageIdPrefix = `ID:${options.brokerId}-${start}-1:1:1:1:`;
    this.#connectionIdPrefix = `ID:${options.brokerId}-${start}-2:`;
  }

  /** Counts a new session in, or refuses it when a limit would be passed. */
  admitSession(session: BrokerSession): void {
    const { maxSessions, maxSessionsPerUser } = this.options.limits;
    const { username } = session.principal;
    if (this.sessions.size >= maxSessions) {
      throw resourceExhausted(
        `the broker has reached its maximum of ${maxSessions} connections; try again later`,
      );
    }
    const ofUser = this.#sessionsPerUser.get(username) ?? 0;
    if (ofUser >= maxSessionsPerUser) {
      throw resourceExhausted(
        `user "${username}" has reached the maximum of ${maxSessionsPerUser} connections per user`,
      );
    }
    this.sessions.add(session);
    this.#sessionsPerUser.set(username, ofUser + 1);
  }

  releaseSession(session: BrokerSession): void {
    if (!this.sessions.delete(session)) return;
    const { username } = session.principal;
    const left = (this.#sessionsPerUser.get(username) ?? 1) - 1;
    if (left > 0) this.#sessionsPerUser.set(username, left);
    else this.#sessionsPerUser.delete(username);
  }

  /** Takes `bytes` of the transactions' allowance for `transactionId`, or refuses the send. */
  holdTransactionBytes(transactionId: string, bytes: number): void {
    const { maxTransactionBytes } = this.options.limits;
    if (this.#transactionBytes + bytes > maxTransactionBytes) {
      throw resourceExhausted(
        `transaction "${transactionId}" cannot hold this message: open transactions would hold more than the broker's limit of ${maxTransactionBytes} bytes; commit or abort it, or send less in one transaction`,
      );
    }
    this.#transactionBytes += bytes;
  }

  releaseTransactionBytes(bytes: number): void {
    this.#transactionBytes = Math.max(0, this.#transactionBytes - bytes);
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

  /**
   * The broker-wide name of a connection's `n`th temporary destination, as ActiveMQ forms it:
   * the connection id, then a sequence (`ID:host-port-start-1:5:1`).
   */
  temporaryName(sessionId: string, n: number): string {
    return `${this.#connectionIdPrefix}${sessionId}:${n}`;
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
    const names = parseDestinations(request.destination);
    if ((request.scheduledDelayMs ?? 0) > 0 && !names.some((n) => n.temporary)) {
      await this.options.schedule(request, messageId);
      return;
    }
    let prepared: PreparedPublish;
    if (names.length === 1) {
      const name = names[0]!;
      const found = this.registry.ensure(name.kind, name.name, name.temporary);
      const destination = found instanceof Promise ? await found : found;
      onDestination(destination);
      prepared = this.flow.prepare(
        destination,
        this.#outgoing(request, messageId, request.destination),
      );
    } else {
      // A composite destination: one copy to each part, in one write (ActiveMQ's composite).
      const parts: PreparedPublish[] = [];
      for (const name of names) {
        const destination = await this.registry.ensure(name.kind, name.name, name.temporary);
        onDestination(destination);
        parts.push(
          this.flow.prepare(
            destination,
            this.#outgoing(request, messageId, formatDestination(name)),
          ),
        );
      }
      prepared = {
        rows: parts.flatMap((p) => p.rows),
        apply: () => {
          for (const p of parts) p.apply();
        },
      };
    }
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
      const names = parseDestinations(request.destination);
      const destinations: DestinationState[] = [];
      for (const name of names) {
        const destination = await this.registry.ensure(name.kind, name.name, name.temporary);
        onDestination(destination);
        destinations.push(destination);
      }
      if ((request.scheduledDelayMs ?? 0) > 0 && !names.some((n) => n.temporary)) {
        // Scheduled messages are held apart; they join the transaction's outcome only loosely.
        await this.options.schedule(request, messageId);
        continue;
      }
      names.forEach((name, i) =>
        prepared.push(
          this.flow.prepare(
            destinations[i]!,
            this.#outgoing(
              request,
              messageId,
              names.length === 1 ? request.destination : formatDestination(name),
            ),
          ),
        ),
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
