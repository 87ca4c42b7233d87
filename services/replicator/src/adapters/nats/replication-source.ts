import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  Events,
  type ConnectionOptions,
  type Consumer,
  type ConsumerInfo,
  type NatsConnection,
} from 'nats';
import { failedPrecondition, unavailable } from '@crdr/errors';
import {
  ensureReplicationConsumer,
  isConsumerNotFound,
  replicationConsumerName,
  replicationStreamName,
  type ReplicationConsumerOptions,
} from '@crdr/replication';
import { createJetStreamPuller, type JetStreamPuller } from './jetstream-puller.js';

export interface ReplicationSourceOptions {
  readonly nats: ConnectionOptions;
  readonly primaryBrokerId: string;
  readonly replicaBrokerId: string;
  /** Timeout of JetStream API calls. */
  readonly apiTimeoutMs: number;
  /** The consumer's settings, when the replicator may create it itself. */
  readonly consumer?: ReplicationConsumerOptions;
  /** Told when the connection drops and comes back (the loop reports CONNECTING meanwhile). */
  readonly onConnectionChange?: (connected: boolean) => void;
}

/** The primary's replication log as this replica's durable consumer reads it. */
export interface ReplicationSource {
  readonly stream: string;
  readonly consumer: string;
  /** The consumer's settings as found: its ack wait and how many events it lets be unacknowledged. */
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly puller: JetStreamPuller;
  /** The consumer's state (pending counts, ack floor) as JetStream reports it now. */
  info(): Promise<ConsumerInfo>;
  /** Whether the connection is up (it reconnects by itself while it is not). */
  readonly connected: boolean;
  /** Resolves when the connection is closed for good (a reconnect is not a close). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** JetStream's error code for "stream not found". */
const streamNotFoundCode = 10059;

/**
 * Connects to the primary Region's NATS and finds the replica's durable consumer. When it does
 * not exist the replicator tries to create it, which works with an administrator's credentials
 * and fails, as it should, for the replication user: then the error says it must be provisioned.
 */
export async function openReplicationSource(
  options: ReplicationSourceOptions,
): Promise<ReplicationSource> {
  const stream = replicationStreamName(options.primaryBrokerId);
  const consumerName = replicationConsumerName(options.replicaBrokerId);
  let nc: NatsConnection;
  try {
    nc = await connect(options.nats);
  } catch (error) {
    throw unavailable(`cannot connect to the primary Region's NATS: ${messageOf(error)}`, {
      cause: error,
      details: { reason: 'nats-connect' },
    });
  }
  try {
    const consumer = await findConsumer(nc, stream, consumerName, options);
    return await sourceOver(nc, stream, consumerName, consumer, options);
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}

async function findConsumer(
  nc: NatsConnection,
  stream: string,
  consumerName: string,
  options: ReplicationSourceOptions,
): Promise<Consumer> {
  const js = nc.jetstream({ timeout: options.apiTimeoutMs });
  try {
    return await js.consumers.get(stream, consumerName);
  } catch (error) {
    if (isStreamNotFound(error)) {
      throw unavailable(
        `the replication stream ${stream} does not exist in the primary Region's NATS: is ` +
          `broker ${options.primaryBrokerId} a CRDR primary publishing its log?`,
        { cause: error, details: { reason: 'stream-not-found' } },
      );
    }
    if (!isConsumerNotFound(error)) {
      throw unavailable(
        `cannot look up the consumer ${stream}/${consumerName}: ${messageOf(error)}`,
        {
          cause: error,
          details: { reason: 'consumer-info' },
        },
      );
    }
  }
  try {
    // checkAPI: false, so that a user without $JS.API.INFO gets as far as the create itself.
    const jsm = await nc.jetstreamManager({ timeout: options.apiTimeoutMs, checkAPI: false });
    await ensureReplicationConsumer(
      jsm,
      options.primaryBrokerId,
      options.replicaBrokerId,
      options.consumer,
    );
    return await js.consumers.get(stream, consumerName);
  } catch (error) {
    throw failedPrecondition(
      `the durable consumer ${consumerName} on stream ${stream} does not exist and this NATS ` +
        `user may not create it (${messageOf(error)}): it must be provisioned for replica ` +
        `${options.replicaBrokerId} (ensureReplicationConsumer from @crdr/replication, with an ` +
        `administrator's credentials)`,
      { cause: error, details: { reason: 'consumer-not-provisioned' } },
    );
  }
}

async function sourceOver(
  nc: NatsConnection,
  stream: string,
  consumerName: string,
  consumer: Consumer,
  options: ReplicationSourceOptions,
): Promise<ReplicationSource> {
  const inboxPrefix = options.nats.inboxPrefix;
  const puller = createJetStreamPuller(nc, {
    stream,
    consumer: consumerName,
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
  });
  const found = consumer.info(true);
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) connected = false;
      else if (status.type === Events.Reconnect) connected = true;
      else continue;
      options.onConnectionChange?.(connected);
    }
  })().catch(() => undefined);
  const closed = nc.closed().then(() => {
    connected = false;
  });
  const { config } = await found;
  return {
    stream,
    consumer: consumerName,
    ackWaitMs: Math.round((config.ack_wait ?? 0) / 1e6),
    maxAckPending: config.max_ack_pending ?? -1,
    puller,
    info: () => consumer.info(),
    get connected() {
      return connected && !nc.isClosed();
    },
    closed,
    async close() {
      const draining = puller.close();
      if (!nc.isClosed()) {
        await Promise.race([draining, sleep(1_000)]);
        // Acks and NAKs still buffered reach the server before the connection goes, unless the
        // server is out of reach: then JetStream redelivers them after their ack wait.
        await Promise.race([nc.flush().catch(() => undefined), sleep(1_000)]);
        await nc.close().catch(() => undefined);
      }
    },
  };
}

function isStreamNotFound(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } } | undefined)?.api_error;
  if (apiError?.err_code === streamNotFoundCode) return true;
  return error instanceof Error && error.message === 'stream not found';
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
