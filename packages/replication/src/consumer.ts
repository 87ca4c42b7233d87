import {
  AckPolicy,
  DeliverPolicy,
  ReplayPolicy,
  nanos,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from 'nats';
import { replicationConsumerName, replicationStreamName, replicationSubject } from './naming.js';

export interface ReplicationConsumerOptions {
  /**
   * How long a delivered event may stay unacknowledged before JetStream delivers it again.
   * A replicator that died holding a batch stalls for at most this long. Default 5 s.
   */
  readonly ackWaitMs?: number;
  /**
   * Events delivered and not yet acknowledged, at most. Must exceed the replicator's batch
   * (REPLICATOR_BATCH_MAX_EVENTS); default 10,000.
   */
  readonly maxAckPending?: number;
}

/** JetStream's error code for "consumer not found". */
const consumerNotFoundCode = 10014;

/**
 * The configuration of the durable pull consumer through which the replica `replicaBrokerId`
 * reads the log of `primaryBrokerId`: every event from the first (DeliverPolicy All), each one
 * acknowledged explicitly once its batch committed on the replica.
 */
export function replicationConsumerConfig(
  primaryBrokerId: string,
  replicaBrokerId: string,
  options: ReplicationConsumerOptions = {},
): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: replicationConsumerName(replicaBrokerId),
    description: `replica ${replicaBrokerId} of broker ${primaryBrokerId}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: replicationSubject(primaryBrokerId),
    ack_wait: nanos(options.ackWaitMs ?? 5_000),
    max_ack_pending: options.maxAckPending ?? 10_000,
  };
}

/**
 * Creates the replica's durable pull consumer on the primary's replication stream unless it
 * exists, and returns its info. Needs a NATS user allowed to create consumers (an
 * administrator's, the control plane's): the replication user itself may not, so the consumer
 * is provisioned before its replicator starts. An existing consumer is returned as it is.
 */
export async function ensureReplicationConsumer(
  jsm: JetStreamManager,
  primaryBrokerId: string,
  replicaBrokerId: string,
  options: ReplicationConsumerOptions = {},
): Promise<ConsumerInfo> {
  const stream = replicationStreamName(primaryBrokerId);
  const config = replicationConsumerConfig(primaryBrokerId, replicaBrokerId, options);
  try {
    return await jsm.consumers.info(stream, config.durable_name);
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
  }
  return jsm.consumers.add(stream, config);
}

/** Whether a JetStream API call failed because the consumer does not exist. */
export function isConsumerNotFound(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } } | undefined)?.api_error;
  if (apiError?.err_code === consumerNotFoundCode) return true;
  return error instanceof Error && error.message === 'consumer not found';
}
