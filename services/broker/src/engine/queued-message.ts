import type { Ordered } from '../domain/ready-list.js';

/** A message of one store, as the broker holds it in memory while it is paged in. */
export interface QueuedMessage extends Ordered {
  readonly storeId: number;
  readonly seq: bigint;
  readonly priority: number;
  readonly messageId: string;
  /** The destination the producer sent to (`/queue/X`, `/topic/Y`). */
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Epoch ms; 0 when it never expires. */
  readonly expiresAtMs: number;
  readonly enqueuedAtMs: number;
  readonly persistent: boolean;
  redeliveryCount: number;
  /** It may have been dispatched before a crash (its seq was at or below the store's mark). */
  maybeDelivered: boolean;
}

export function isExpired(message: QueuedMessage, nowMs: number): boolean {
  return message.expiresAtMs > 0 && message.expiresAtMs <= nowMs;
}
