import type { AckOptions, StompMessage } from './client-types.js';
import type { StompFrame, StompVersion } from './frame.js';
import type { StompHeaderInput } from './frame-encoder.js';

export type Acknowledge = (
  command: 'ACK' | 'NACK',
  message: StompMessage,
  opts?: AckOptions,
) => Promise<void>;

/** Wraps a MESSAGE frame; its ack()/nack() go through `acknowledge`. */
export function createStompMessage(frame: StompFrame, acknowledge: Acknowledge): StompMessage {
  const { headers } = frame;
  const ackId = headers['ack'];
  const message: StompMessage = {
    headers,
    body: frame.body,
    destination: headers['destination'] ?? '',
    messageId: headers['message-id'] ?? '',
    subscription: headers['subscription'] ?? '',
    ...(ackId === undefined ? {} : { ackId }),
    ack: (opts) => acknowledge('ACK', message, opts),
    nack: (opts) => acknowledge('NACK', message, opts),
  };
  return message;
}

/**
 * The headers that name a message in ACK/NACK: the MESSAGE's `ack` header as `id` in 1.2,
 * `message-id` and `subscription` in 1.1, `message-id` alone in 1.0.
 */
export function ackHeaders(version: StompVersion, message: StompMessage): StompHeaderInput {
  if (version === '1.2') return { id: message.ackId ?? message.messageId };
  if (version === '1.1')
    return { 'message-id': message.messageId, subscription: message.subscription };
  return { 'message-id': message.messageId };
}
