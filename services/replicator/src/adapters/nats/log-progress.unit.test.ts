import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '@crdr/replication';
import type { Delivery } from './batch-reader.js';
import { LogProgress } from './log-progress.js';

/** A delivery of event `sequence` created at `createdAtMs`, with `pending` messages after it. */
const delivery = (sequence: number, createdAtMs: number, pending: number): Delivery =>
  ({
    message: { info: { streamSequence: BigInt(sequence + 100), pending } },
    event: { sequence: String(sequence), createdAtMs: String(createdAtMs) } as DecodedEvent,
  }) as unknown as Delivery;

describe('LogProgress.oldestPendingCreatedAtMs', () => {
  it('is 0 while nothing waits', () => {
    const progress = new LogProgress();
    expect(progress.oldestPendingCreatedAtMs(0n, 5_000)).toBe(0);
    progress.observe([delivery(1, 1_000, 0)]);
    expect(progress.oldestPendingCreatedAtMs(1n, 5_000)).toBe(0);
  });

  it('is the TC of the oldest event received and not applied, then of the next one', () => {
    const progress = new LogProgress();
    progress.observe([delivery(1, 1_000, 2), delivery(2, 1_100, 1), delivery(3, 1_200, 0)]);
    expect(progress.oldestPendingCreatedAtMs(0n, 5_000)).toBe(1_000);
    expect(progress.oldestPendingCreatedAtMs(1n, 6_000)).toBe(1_100);
    expect(progress.oldestPendingCreatedAtMs(3n, 7_000)).toBe(0);
  });

  it('without a received event, is when events were first seen waiting, until one is applied', () => {
    const progress = new LogProgress();
    progress.observe([delivery(1, 1_000, 0)]);
    // Paused: the consumer counts 4 events waiting that the replicator never pulled.
    progress.pendingCount = 4;
    expect(progress.oldestPendingCreatedAtMs(1n, 5_000)).toBe(5_000);
    expect(progress.oldestPendingCreatedAtMs(1n, 9_000)).toBe(5_000);
    // Something was applied since: whatever waited then may be gone; measure afresh.
    expect(progress.oldestPendingCreatedAtMs(2n, 9_500)).toBe(9_500);
  });
});
