import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '@crdr/replication';
import { divergentMessages, eventTypeName, summarizeEvent } from './log-tail.js';

const row = (seq: number, messageId: string, storeId = 1) => ({
  storeId,
  priority: 4,
  seq: String(seq),
  messageId,
  destination: '/queue/Orders',
  headers: { h: messageId },
  body: Buffer.from(messageId),
  expiresAtMs: '0',
  enqueuedAtMs: '1000',
  redeliveryCount: 0,
});

const envelope = (sequence: number) => ({
  version: 1,
  sequence: String(sequence),
  epoch: '1',
  createdAtMs: String(1000 + sequence),
  brokerId: 'b-a',
  traceContext: {},
});

const sent = (sequence: number, ...rows: ReturnType<typeof row>[]): DecodedEvent => ({
  ...envelope(sequence),
  change: 'messageSent',
  messageSent: { rows },
});

const acked = (sequence: number, ...seqs: number[]): DecodedEvent => ({
  ...envelope(sequence),
  change: 'messageAcknowledged',
  messageAcknowledged: { keys: seqs.map((s) => ({ storeId: 1, priority: 4, seq: String(s) })) },
});

describe('the divergent tail', () => {
  it('names event types as operators read them', () => {
    expect(eventTypeName('messageSent')).toBe('MESSAGE_SENT');
    expect(eventTypeName('movedToDeadLetterQueue')).toBe('MOVED_TO_DEAD_LETTER_QUEUE');
  });

  it('summarizes an event with its destinations and message ids', () => {
    expect(summarizeEvent(sent(7, row(70, 'm-1'), row(71, 'm-2')))).toEqual({
      sequence: 7n,
      epoch: 1n,
      createdAtMs: 1007,
      type: 'MESSAGE_SENT',
      destinations: ['/queue/Orders'],
      messageIds: ['m-1', 'm-2'],
    });
  });

  it('given sends and acknowledgements in the tail, lists only the messages still unconsumed', () => {
    const tail = [sent(5, row(50, 'm-1'), row(51, 'm-2')), acked(6, 50), sent(7, row(52, 'm-3'))];
    expect(divergentMessages(tail).map((m) => [m.sequence, m.messageId])).toEqual([
      [5n, 'm-2'],
      [7n, 'm-3'],
    ]);
  });

  it('lists a topic message sent to several durable subscriptions once', () => {
    const tail = [sent(5, row(50, 'm-1', 1), row(50, 'm-1', 2))];
    expect(divergentMessages(tail)).toHaveLength(1);
  });

  it('leaves out acknowledgements of messages sent before the tail', () => {
    expect(divergentMessages([acked(9, 3)])).toEqual([]);
  });
});
