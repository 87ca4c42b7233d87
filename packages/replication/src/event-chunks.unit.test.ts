import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.js';
import {
  chunkCount,
  isEventChunk,
  joinEventChunks,
  maxWholeEventBytes,
  splitEvent,
  type DecodedEventChunk,
} from './event-chunks.js';

const maxPayloadBytes = 16 * 1024;

function bigEvent(bodyBytes: number): Uint8Array {
  const body = Buffer.alloc(bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  return encodeEvent({
    sequence: '42',
    epoch: '3',
    createdAtMs: '1700000000000',
    brokerId: 'b',
    messageSent: {
      rows: [{ storeId: 1, priority: 4, seq: '9', messageId: 'm', destination: '/queue/q', body }],
    },
  });
}

const envelope = { sequence: 42n, createdAtMs: 1_700_000_000_000, attempt: 77n };

describe('event chunks', () => {
  it('given an event larger than a message, when split and joined, then it is the same event', () => {
    const payload = bigEvent(100_000);
    const parts = [...splitEvent(payload, envelope, maxPayloadBytes)];
    expect(parts).toHaveLength(chunkCount(payload.length, maxPayloadBytes));
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(maxPayloadBytes);
    const decoded = parts.map((p) => decodeEvent(p));
    expect(decoded.every(isEventChunk)).toBe(true);
    expect(decoded.map((d) => d.sequence)).toEqual(parts.map(() => '42'));
    const joined = joinEventChunks(decoded as DecodedEventChunk[]);
    expect(Buffer.compare(Buffer.from(joined), Buffer.from(payload))).toBe(0);
    const event = decodeEvent(joined);
    expect(event.messageSent?.rows[0]?.body.length).toBe(100_000);
  });

  it('refuses to join an incomplete or reordered set', () => {
    const payload = bigEvent(50_000);
    const decoded = [...splitEvent(payload, envelope, maxPayloadBytes)].map(
      (p) => decodeEvent(p) as DecodedEventChunk,
    );
    expect(() => joinEventChunks(decoded.slice(1))).toThrow(/parts/);
    expect(() => joinEventChunks([decoded[1]!, decoded[0]!, ...decoded.slice(2)])).toThrow(
      /out of place/,
    );
  });

  it('refuses a max payload too small to carry parts', () => {
    expect(() => maxWholeEventBytes(4096)).toThrow(/too small/);
    expect(maxWholeEventBytes(1024 * 1024)).toBe(1024 * 1024 - 4096);
  });
});
