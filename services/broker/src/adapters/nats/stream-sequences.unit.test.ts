import { describe, expect, it } from 'vitest';
import { StreamSequences } from './stream-sequences.js';

describe('StreamSequences', () => {
  it('given a stream found at an offset, then maps with that offset', () => {
    const s = new StreamSequences();
    s.found(105n, 100n);
    expect(s.eventSeqAt(105n)).toBe(100n);
    expect(s.eventSeqAt(110n)).toBe(105n);
    expect(s.eventSeqAt(50n)).toBe(45n);
  });

  it('given an event in parts, then its parts complete the event before it', () => {
    const s = new StreamSequences();
    s.found(10n, 10n);
    s.published(11n, 11n, 15n);
    expect(s.eventSeqAt(10n)).toBe(10n);
    expect(s.eventSeqAt(11n)).toBe(10n);
    expect(s.eventSeqAt(14n)).toBe(10n);
    expect(s.eventSeqAt(15n)).toBe(11n);
    expect(s.eventSeqAt(17n)).toBe(13n);
  });

  it('given an attempt abandoned halfway and published again, then both map right', () => {
    const s = new StreamSequences();
    s.found(3n, 3n);
    s.published(4n, 4n, 6n); // recorded, then the publish of the last part failed:
    s.found(5n, 3n); // the stream's last message is part 2 of 3 of event 4
    s.published(4n, 6n, 8n);
    expect(s.eventSeqAt(5n)).toBe(3n);
    expect(s.eventSeqAt(7n)).toBe(3n);
    expect(s.eventSeqAt(8n)).toBe(4n);
    expect(s.eventSeqAt(9n)).toBe(5n);
    s.forgetBefore(8n);
    expect(s.eventSeqAt(9n)).toBe(5n);
  });
});
