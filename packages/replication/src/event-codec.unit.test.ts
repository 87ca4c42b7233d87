import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.js';

describe('replication event codec', () => {
  it('round-trips an event with bodies, maps, 64-bit numbers and the change case', () => {
    const body = Buffer.from([0, 1, 2, 255, 0]);
    const bytes = encodeEvent({
      sequence: '18446744073709551615',
      epoch: '3',
      createdAtMs: '1764000000000',
      brokerId: 'b-1',
      traceContext: { traceparent: '00-abc-def-01' },
      messageSent: {
        rows: [
          {
            storeId: 7,
            priority: 9,
            seq: '42',
            messageId: 'ID:x-1',
            destination: '/queue/TestQueue',
            headers: { a: 'b:c\nd' },
            body,
            expiresAtMs: '0',
            enqueuedAtMs: '1764000000000',
            redeliveryCount: 0,
          },
        ],
      },
    });
    const event = decodeEvent(bytes);
    expect(event.version).toBe(1);
    expect(event.sequence).toBe('18446744073709551615');
    expect(event.change).toBe('messageSent');
    expect(event.traceContext).toEqual({ traceparent: '00-abc-def-01' });
    const row = event.messageSent!.rows[0]!;
    expect(Buffer.from(row.body).equals(body)).toBe(true);
    expect(row.headers).toEqual({ a: 'b:c\nd' });
    expect(row.seq).toBe('42');
  });

  it('refuses an envelope from a newer version', () => {
    const bytes = encodeEvent({ version: 3, sequence: '1', heartbeat: {} });
    expect(() => decodeEvent(bytes)).toThrow(/envelope version 3/);
  });
});
