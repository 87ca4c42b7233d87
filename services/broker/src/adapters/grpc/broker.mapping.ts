import { badRequest } from '@crdr/errors';
import type { brokerV1 } from '@crdr/proto';
import type {
  AckMode,
  Delivery,
  SendRequest,
  SubscribeRequest,
} from '../../engine/engine.types.js';

/*
 * Requests of BrokerService, checked and turned into the engine's types, and the engine's
 * deliveries turned into messages. Pure: the handlers in broker.grpc.ts do the I/O. Error
 * messages name the field as the .proto spells it, since that is what a client author reads.
 */

/** ActiveMQ's default priority, for a SendRequest without one. */
export const defaultPriority = 4;
/** Unacknowledged deliveries allowed at once when ReceiveRequest.prefetch is 0. */
export const defaultPrefetch = 1000;

function invalid(field: string, message: string): never {
  throw badRequest(`${field} ${message}`, { details: { field } });
}

/** `/queue/NAME` or `/topic/NAME`; the engine checks the name itself. */
export function checkDestination(destination: string, field = 'destination'): string {
  if (!destination.startsWith('/queue/') && !destination.startsWith('/topic/')) {
    invalid(field, `must start with /queue/ or /topic/ (got "${destination}")`);
  }
  return destination;
}

/**
 * An int64 field (a decimal string, proto-loader `longs: String`) as a number of milliseconds:
 * 0 is "not set", negative is refused, so is anything past 2^53 (no real time or delay is).
 */
export function parseMillis(value: string, field: string): number | undefined {
  let parsed: bigint;
  try {
    parsed = BigInt(value);
  } catch {
    return invalid(field, `must be an integer number of milliseconds (got "${value}")`);
  }
  if (parsed < 0n) invalid(field, `must not be negative (got ${value})`);
  if (parsed > BigInt(Number.MAX_SAFE_INTEGER)) invalid(field, `is too large (got ${value})`);
  return parsed === 0n ? undefined : Number(parsed);
}

/** A uint64/int64 field (decimal string) as a bigint. */
export function parseBigInt(value: string, field: string): bigint {
  try {
    return BigInt(value);
  } catch {
    return invalid(field, `must be an integer (got "${value}")`);
  }
}

export function toSendRequest(request: brokerV1.SendRequest__Output): SendRequest {
  const priority = request.priority ?? defaultPriority;
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    invalid('priority', `must be 0-9 (got ${priority})`);
  }
  const expiresAtMs = parseMillis(request.expiresAtMs, 'expires_at_ms');
  const scheduledDelayMs = parseMillis(request.scheduledDelayMs, 'scheduled_delay_ms');
  return {
    destination: checkDestination(request.destination),
    headers: { ...request.headers },
    body: request.body,
    persistent: request.persistent,
    priority,
    ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
    ...(scheduledDelayMs === undefined ? {} : { scheduledDelayMs }),
  };
}

const ackModes: Readonly<Record<string, AckMode>> = {
  ACK_MODE_UNSPECIFIED: 'auto',
  AUTO: 'auto',
  CLIENT: 'client',
  CLIENT_INDIVIDUAL: 'client-individual',
};

/** An enum field arrives as its name, or as a number when the value is unknown to this broker. */
export function toAckMode(value: brokerV1.AckMode__Output | number): AckMode {
  const mode = typeof value === 'string' ? ackModes[value] : undefined;
  if (mode === undefined)
    invalid('ack_mode', `must be AUTO, CLIENT or CLIENT_INDIVIDUAL (got ${value})`);
  return mode;
}

export interface ReceiveSubscription {
  readonly subscribe: SubscribeRequest;
  /** The session's client id, needed for a durable subscription. */
  readonly clientId: string | undefined;
}

/** A ReceiveRequest as the subscription it opens (one per stream, so its id is fixed). */
export function toReceiveSubscription(
  request: brokerV1.ReceiveRequest__Output,
): ReceiveSubscription {
  const destination = checkDestination(request.destination);
  const durableName = request.durableSubscriptionName;
  if (durableName !== '') {
    if (!destination.startsWith('/topic/')) {
      invalid('durable_subscription_name', 'is only for /topic/ destinations');
    }
    if (request.clientId === '') invalid('client_id', 'must be set with durable_subscription_name');
  }
  return {
    subscribe: {
      id: 'grpc-receive',
      destination,
      ackMode: toAckMode(request.ackMode),
      prefetch: request.prefetch === 0 ? defaultPrefetch : request.prefetch,
      ...(durableName === '' ? {} : { durableName }),
    },
    clientId: request.clientId === '' ? undefined : request.clientId,
  };
}

export function checkAckId(ackId: string): string {
  if (ackId === '') invalid('ack_id', 'must not be empty');
  return ackId;
}

export function checkTransactionId(transactionId: string): string {
  if (transactionId === '') invalid('transaction_id', 'must not be empty');
  return transactionId;
}

export function toProtoDelivery(delivery: Delivery): brokerV1.Delivery {
  return {
    ackId: delivery.ackId,
    messageId: delivery.messageId,
    destination: delivery.destination,
    body: delivery.body,
    headers: { ...delivery.headers },
    priority: delivery.priority,
    redelivered: delivery.redelivered,
    redeliveryCount: delivery.redeliveryCount,
    timestampMs: String(delivery.timestampMs),
    expiresAtMs: String(delivery.expiresAtMs),
    persistent: delivery.persistent,
  };
}
