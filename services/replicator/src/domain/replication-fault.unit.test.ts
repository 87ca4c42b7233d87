import { describe, expect, it } from 'vitest';
import { describeFault } from './replication-fault.js';

describe('describeFault', () => {
  it('names the expected and received sequences of a gap', () => {
    const text = describeFault({ kind: 'sequence-gap', expected: 42n, received: 45n });
    expect(text).toContain('expected sequence 42, received 45');
    expect(text).toContain('events 42..44 are not in the replication log');
  });

  it('names the one missing event', () => {
    expect(describeFault({ kind: 'sequence-gap', expected: 7n, received: 8n })).toContain(
      'event 7 is not',
    );
  });

  it('names both epochs of a fenced-off event', () => {
    expect(
      describeFault({ kind: 'stale-epoch', sequence: 11n, appliedEpoch: 3n, eventEpoch: 2n }),
    ).toBe(
      'event 11 has epoch 2, older than the applied epoch 3: it comes from a fenced-off primary and is refused',
    );
  });
});
