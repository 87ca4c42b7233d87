/**
 * Where a message delivered by a JetStream consumer sits, as its reply subject tells:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>` (v1), or
 * with the domain and account hash after `ACK` and a random token at the end (v2).
 */
export interface DeliveryInfo {
  readonly stream: string;
  readonly consumer: string;
  /** How many times this message was delivered, this time included. */
  readonly deliveryCount: number;
  readonly streamSequence: bigint;
  readonly consumerSequence: bigint;
  /** Messages of the consumer not delivered yet, after this one. */
  readonly pending: number;
}

const ackPrefix = '$JS.ACK.';

/** Whether `reply` is the acknowledgement subject of a JetStream message (not a status). */
export function isAckSubject(reply: string | undefined): reply is string {
  return reply !== undefined && reply.startsWith(ackPrefix);
}

export function parseDeliveryInfo(reply: string): DeliveryInfo | undefined {
  if (!isAckSubject(reply)) return undefined;
  const tokens = reply.split('.');
  // v1 has 9 tokens; v2 has 12 (11 from servers that omit the random token).
  const at = tokens.length === 9 ? 2 : tokens.length >= 11 ? 4 : -1;
  if (at < 0) return undefined;
  const [stream, consumer, delivered, sseq, cseq, , pending] = tokens.slice(at, at + 7);
  if (
    stream === undefined ||
    consumer === undefined ||
    !isDigits(delivered) ||
    !isDigits(sseq) ||
    !isDigits(cseq) ||
    !isDigits(pending)
  ) {
    return undefined;
  }
  return {
    stream,
    consumer,
    deliveryCount: Number(delivered),
    streamSequence: BigInt(sseq),
    consumerSequence: BigInt(cseq),
    pending: Number(pending),
  };
}

const isDigits = (value: string | undefined): value is string =>
  value !== undefined && /^\d+$/.test(value);
