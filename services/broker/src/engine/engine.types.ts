import type {
  AppliedPositionRecord,
  DemotionRecord,
  LogInfo,
} from '../adapters/pg/promotion.repository.js';
import type { DataReplicationMode, DataReplicationRole } from '@crdr/store';

/**
 * The broker's application API, the one both client adapters (STOMP and gRPC) drive. Errors are
 * `CrdrError`s from `@crdr/errors`; the adapters map their codes to ERROR frames and gRPC
 * statuses in one place each.
 */
export interface Principal {
  readonly username: string;
  readonly groups: readonly string[];
  readonly consoleAccess: boolean;
}

export type AckMode = 'auto' | 'client' | 'client-individual';

export interface SendRequest {
  /** `/queue/NAME` or `/topic/NAME` (ActiveMQ's `/temp-queue/` and `/temp-topic/` too). */
  readonly destination: string;
  /** User headers, without the ones the broker computes or reads (below). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly persistent: boolean;
  /** 0-9. */
  readonly priority: number;
  /** Epoch ms; undefined or 0: never expires. */
  readonly expiresAtMs?: number;
  /** AMQ_SCHEDULED_DELAY in ms; undefined or 0: deliver now. */
  readonly scheduledDelayMs?: number;
}

export interface SubscribeRequest {
  /** Unique within the session. */
  readonly id: string;
  readonly destination: string;
  readonly ackMode: AckMode;
  /** Unacknowledged deliveries allowed at once (client ack modes). */
  readonly prefetch: number;
  /** A durable topic subscription's name; needs the session's client id. */
  readonly durableName?: string;
  /** A JMS SQL-92 message selector; parsed once, refused with the reason if it does not parse. */
  readonly selector?: string;
  /**
   * ActiveMQ's exclusive consumer (`activemq.exclusive`): the first exclusive consumer of a queue
   * gets all its messages while it lives; the next one takes over when it goes.
   */
  readonly exclusive?: boolean;
}

export interface Delivery {
  readonly subscriptionId: string;
  /** Names this delivery in `ack`/`nack`; unique broker-wide. */
  readonly ackId: string;
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly priority: number;
  readonly persistent: boolean;
  readonly redelivered: boolean;
  readonly redeliveryCount: number;
  readonly timestampMs: number;
  readonly expiresAtMs: number;
}

/** Where a subscription's deliveries go. The engine never calls `deliver` while `ready` is false. */
export interface DeliverySink {
  deliver(delivery: Delivery): void;
  /** False while the transport's send buffer is full; the adapter calls `session.resume()` later. */
  readonly ready: boolean;
}

export interface Session {
  readonly id: string;
  readonly principal: Principal;
  send(request: SendRequest, transactionId?: string): Promise<{ messageId: string }>;
  subscribe(request: SubscribeRequest, sink: DeliverySink): Promise<void>;
  /**
   * Stops a subscription. With `durableName` (STOMP's `activemq.subscriptionName`), also deletes
   * that durable subscription of the session's client id, whether it is the one `subscriptionId`
   * names on this session or an inactive one.
   */
  unsubscribe(subscriptionId: string, options?: { durableName?: string }): Promise<void>;
  /** In `client` mode, acknowledges every earlier delivery of the same subscription too. */
  ack(ackId: string, transactionId?: string): Promise<void>;
  nack(ackId: string, transactionId?: string): Promise<void>;
  begin(transactionId: string): void;
  commit(transactionId: string): Promise<void>;
  abort(transactionId: string): Promise<void>;
  /** The transport can take deliveries again. */
  resume(): void;
  /** Aborts open transactions and returns unacknowledged deliveries for redelivery. */
  close(): Promise<void>;
}

export interface SessionOptions {
  /** STOMP `client-id`, needed for durable subscriptions. */
  readonly clientId?: string;
  readonly transport: 'stomp' | 'websocket' | 'grpc';
  readonly remoteAddress?: string;
  /**
   * ACK and NACK may name only deliveries to this session's own subscriptions, as on a STOMP
   * connection. Off by default: a gRPC transaction's session acknowledges deliveries made to
   * the receive stream's session.
   */
  readonly settlesOwnDeliveriesOnly?: boolean;
  /** The broker stopped serving (demoted, lease lost): the adapter closes the connection. */
  readonly onEvicted?: (reason: string) => void;
}

export interface DestinationInfo {
  readonly kind: 'queue' | 'topic';
  readonly name: string;
  readonly queueSize: number;
  readonly consumerCount: number;
  readonly producerCount: number;
  readonly enqueueCount: number;
  readonly dequeueCount: number;
  readonly dispatchCount: number;
  readonly durableSubscriptionCount: number;
}

export interface BrokerStats {
  readonly currentConnectionsCount: number;
  readonly totalMessageCount: number;
  readonly totalEnqueueCount: number;
  readonly totalDequeueCount: number;
  readonly totalConsumerCount: number;
  readonly totalProducerCount: number;
  readonly destinations: readonly DestinationInfo[];
  readonly serving: boolean;
}

export interface RoleState {
  readonly brokerId: string;
  readonly role: DataReplicationRole;
  readonly epoch: bigint;
  readonly primaryRegion: string | null;
  readonly primaryBrokerId: string | null;
  readonly dataReplicationMode: DataReplicationMode;
}

export interface SetRoleRequest {
  readonly role: DataReplicationRole;
  readonly epoch: bigint;
  readonly primaryRegion?: string;
  readonly primaryBrokerId?: string;
  readonly dataReplicationMode?: DataReplicationMode;
  /** How a new log starts (a CRDR primary's first, or a promotion's); SNAPSHOT by default. */
  readonly logStart?: 'SNAPSHOT' | 'EMPTY';
}

export interface BeginDemotionRequest {
  readonly promotionId: string;
  readonly nextEpoch: bigint;
  readonly newPrimaryRegion?: string;
  readonly newPrimaryBrokerId?: string;
  readonly timeoutMs: number;
}

/** What promotion sagas read of a broker beside its role. */
export interface PromotionStateInfo {
  readonly held: boolean;
  readonly demotion: DemotionRecord | undefined;
  readonly log: LogInfo;
  readonly applied: AppliedPositionRecord | undefined;
}

/** One event of this broker's own log, decoded for people. */
export interface LogEventInfo {
  readonly sequence: bigint;
  readonly epoch: bigint;
  readonly createdAtMs: number;
  readonly type: string;
  readonly destinations: readonly string[];
  readonly messageIds: readonly string[];
}

export interface LogEventsPage {
  readonly events: readonly LogEventInfo[];
  readonly generation: bigint;
  readonly lastSequence: bigint;
  readonly more: boolean;
}

/** A message sent in a divergent tail and not consumed within it: what a republish needs. */
export interface DivergentMessageInfo {
  readonly sequence: bigint;
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly priority: number;
  readonly expiresAtMs: number;
  readonly createdAtMs: number;
}

export interface DivergentMessagesPage {
  readonly messages: readonly DivergentMessageInfo[];
  /** Index of the next message, when more remain. */
  readonly next: number | undefined;
  readonly tailEvents: number;
}

export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
  readonly consoleAccess: boolean;
  readonly replicationUser: boolean;
}

/** Exactly one of `password` and `passwordHash` (a scrypt hash made by the control plane). */
export interface CreateUserRequest extends UserInfo {
  readonly password?: string;
  readonly passwordHash?: string;
}

export interface UpdateUserRequest {
  readonly username: string;
  /** At most one of `password` and `passwordHash`. */
  readonly password?: string;
  readonly passwordHash?: string;
  readonly groups?: readonly string[];
  readonly consoleAccess?: boolean;
  readonly replicationUser?: boolean;
}

export interface BrokerAdmin {
  createDestination(kind: 'queue' | 'topic', name: string): Promise<void>;
  deleteDestination(kind: 'queue' | 'topic', name: string): Promise<void>;
  purgeDestination(kind: 'queue' | 'topic', name: string): Promise<number>;
  listDestinations(): Promise<readonly DestinationInfo[]>;
  browseQueue(name: string, maxMessages: number): Promise<readonly Delivery[]>;
  stats(): Promise<BrokerStats>;
  getRole(): RoleState;
  setRole(request: SetRoleRequest): Promise<RoleState>;
  createUser(request: CreateUserRequest): Promise<void>;
  updateUser(request: UpdateUserRequest): Promise<void>;
  deleteUser(username: string): Promise<void>;
  listUsers(): Promise<readonly UserInfo[]>;
  /** A digest of the durable state from one snapshot; works on a replica too. */
  stateDigest(): Promise<StateDigestInfo>;
  /** The primary's side of its replication log. */
  replicationStatus(): ReplicationStatusInfo;
  /**
   * TC (epoch ms) of the first event of the current log after `afterSeq` (the oldest one a
   * replica that acknowledged `afterSeq` still waits for); 0 when there is none or it cannot be
   * read.
   */
  createdAtAfter(afterSeq: bigint): Promise<number>;
  /** Rejects when the store cannot be read: the relay cannot read the log either. */
  checkLogReadable(): Promise<void>;
  /** Held/demotion state, this broker's log and its applied position (the failover point). */
  promotionState(): Promise<PromotionStateInfo>;
  /** Switchover on the primary: stop serving, write the marker, wait until it is published. */
  beginDemotion(request: BeginDemotionRequest): Promise<DemotionRecord>;
  /** Events of this broker's own log of `generation` after `afterSeq`. */
  listLogEvents(generation: bigint, afterSeq: bigint, max: number): Promise<LogEventsPage>;
  /** The messages sent in the tail after `afterSeq` and not consumed within it. */
  listDivergentMessages(
    generation: bigint,
    afterSeq: bigint,
    start: number,
    max: number,
  ): Promise<DivergentMessagesPage>;
}

export interface ReplicaAcknowledgementInfo {
  readonly consumer: string;
  readonly acknowledgedSeq: bigint;
  readonly acknowledgedCreatedAtMs: number;
  readonly acknowledgedAtMs: number;
  readonly pending: number;
}

export interface ReplicationStatusInfo {
  readonly role: RoleState;
  readonly lastSeq: bigint;
  readonly lastCreatedAtMs: number;
  readonly publishedSeq: bigint;
  readonly relayConnected: boolean;
  readonly replicas: readonly ReplicaAcknowledgementInfo[];
}

/** Reads published events of this broker's log back from its stream. */
export interface LogReader {
  /**
   * Events of generation `generation` with sequences in (`afterSeq`, `upToSeq`], in order, at
   * most `max`; NotFound when the stream no longer holds them.
   */
  read(
    generation: bigint,
    afterSeq: bigint,
    upToSeq: bigint,
    max: number,
  ): Promise<ReadonlyArray<{ readonly seq: bigint; readonly payload: Uint8Array }>>;
}

/** What the relay reports to the engine. */
export interface RelayView {
  readonly publishedSeq: bigint;
  readonly connected: boolean;
  readonly replicas: readonly ReplicaAcknowledgementInfo[];
}

export interface StateDigestInfo {
  readonly digest: string;
  readonly destinations: number;
  readonly durableSubscriptions: number;
  readonly messages: number;
  readonly users: number;
  readonly sequence: bigint;
}

export interface BrokerEngine {
  /**
   * Checks credentials. Wrong username or password: Unauthenticated, without saying which.
   * A replication user: Forbidden (it may not connect as a client). A user refused from an
   * address that gave too many wrong passwords for it: ResourceExhausted. `source` is the
   * client's address.
   */
  authenticate(username: string, password: string, source: string): Promise<Principal>;
  /** Throws FailedPrecondition naming the primary when this broker is a replica, Unavailable when it is a standby. */
  assertServing(): void;
  openSession(principal: Principal, options: SessionOptions): Session;
  readonly admin: BrokerAdmin;
}
