import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '@crdr/replication';
import { DestinationProgress } from './destination-progress.js';

const event = (createdAtMs: number, change: Partial<DecodedEvent>): DecodedEvent =>
  ({ createdAtMs: String(createdAtMs), ...change }) as DecodedEvent;

describe('DestinationProgress', () => {
  it('notes the destinations each applied event changed, acknowledgements through their store', () => {
    const progress = new DestinationProgress();
    progress.observe(
      [
        event(100, {
          change: 'destinationCreated',
          destinationCreated: {
            destinationId: 1,
            kind: 'queue',
            name: 'a',
            createdAtMs: '100',
            queueStoreId: 7,
          },
        }),
        event(200, {
          change: 'messageSent',
          messageSent: {
            rows: [{ storeId: 9, destination: '/topic/t' }] as never,
          },
        }),
      ],
      1_000,
    );
    progress.observe(
      [
        event(300, {
          change: 'messageAcknowledged',
          messageAcknowledged: {
            keys: [
              { storeId: 7, priority: 4, seq: '1' },
              { storeId: 99, priority: 4, seq: '1' },
            ],
          },
        }),
      ],
      2_000,
    );
    expect(progress.list()).toEqual([
      { destination: '/topic/t', lastCreatedAtMs: 200, lastAppliedAtMs: 1_000 },
      { destination: '/queue/a', lastCreatedAtMs: 300, lastAppliedAtMs: 2_000 },
    ]);
  });
});
