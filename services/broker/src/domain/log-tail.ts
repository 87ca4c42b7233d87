import type { DecodedEvent } from '@crdr/replication';
import type { DivergentMessageInfo, LogEventInfo } from '../engine/engine.types.js';

/*
 * The divergent tail of an old primary, read for people and for a republish. Pure: it works on
 * decoded events of one log, in sequence order.
 */

type Stored = NonNullable<DecodedEvent['messageSent']>['rows'][number];
type Key = { readonly storeId: number; readonly priority: number; readonly seq: string };

/** MESSAGE_SENT for `messageSent`, and so on: the change's name as operators read it. */
export function eventTypeName(change: string | undefined): string {
  if (change === undefined) return 'UNKNOWN';
  return change.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

const keyText = (k: Key): string => `${k.storeId}/${k.priority}/${k.seq}`;

/** What messages an event sends and consumes, by store key. */
function messagesOf(event: DecodedEvent): { sent: Stored[]; consumed: Key[] } {
  switch (event.change) {
    case 'messageSent':
      return { sent: [...event.messageSent!.rows], consumed: [] };
    case 'transactionCommitted':
      return {
        sent: [...event.transactionCommitted!.sent],
        consumed: [...event.transactionCommitted!.acknowledged],
      };
    case 'messageAcknowledged':
      return { sent: [], consumed: [...event.messageAcknowledged!.keys] };
    case 'movedToDeadLetterQueue': {
      const moved = event.movedToDeadLetterQueue!;
      return {
        sent: moved.to ? [moved.to] : [],
        consumed: moved.from ? [moved.from] : [],
      };
    }
    case 'messageExpired': {
      const expired = event.messageExpired!;
      return {
        sent: expired.deadLetter ? [expired.deadLetter] : [],
        consumed: expired.key ? [expired.key] : [],
      };
    }
    default:
      return { sent: [], consumed: [] };
  }
}

/** One event as ListLogEvents shows it. */
export function summarizeEvent(event: DecodedEvent): LogEventInfo {
  const { sent } = messagesOf(event);
  const destinations = new Set<string>();
  const messageIds: string[] = [];
  for (const row of sent) {
    destinations.add(row.destination);
    messageIds.push(row.messageId);
  }
  if (event.change === 'destinationCreated') {
    const created = event.destinationCreated!;
    destinations.add(`/${created.kind}/${created.name}`);
  }
  return {
    sequence: BigInt(event.sequence),
    epoch: BigInt(event.epoch),
    createdAtMs: Number(event.createdAtMs),
    type: eventTypeName(event.change),
    destinations: [...destinations],
    messageIds,
  };
}

/**
 * The messages the tail sent that it did not also consume (acknowledge, dead-letter, expire):
 * a republish to the new primary needs their headers and bodies. A message sent to several
 * durable subscriptions of a topic is one publish: it is listed once, by message id. Dead
 * letter copies are not messages a producer sent, so they are left out.
 */
export function divergentMessages(events: readonly DecodedEvent[]): DivergentMessageInfo[] {
  const sent = new Map<string, { row: Stored; event: DecodedEvent }>();
  for (const event of events) {
    const { sent: rows, consumed } = messagesOf(event);
    const producerSends =
      event.change === 'messageSent' || event.change === 'transactionCommitted' ? rows : [];
    for (const row of producerSends) sent.set(keyText(row), { row, event });
    for (const key of consumed) sent.delete(keyText(key));
  }
  const byId = new Map<string, DivergentMessageInfo>();
  for (const { row, event } of sent.values()) {
    if (byId.has(row.messageId)) continue;
    byId.set(row.messageId, {
      sequence: BigInt(event.sequence),
      messageId: row.messageId,
      destination: row.destination,
      headers: { ...row.headers },
      body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body),
      priority: row.priority,
      expiresAtMs: Number(row.expiresAtMs),
      createdAtMs: Number(event.createdAtMs),
    });
  }
  return [...byId.values()].sort((a, b) =>
    a.sequence === b.sequence ? 0 : a.sequence < b.sequence ? -1 : 1,
  );
}
