import { describe, expect, it } from 'vitest';
import { healthOf, samplesOf, statusSamplesOf, type TargetFigures } from './target-samples.js';

const replica = (overrides: Partial<TargetFigures>): TargetFigures => ({
  region: 'region-b',
  brokerId: 'b-r',
  ...overrides,
});
const lagOf = (figures: TargetFigures, nowMs: number): number | undefined =>
  samplesOf(figures, nowMs).find((s) => s.metric === 'ReplicationLag')?.value;

describe('a replica whose replicator does not answer', () => {
  it('keeps its ReplicationLag series, growing from the primary-side oldest waiting event', () => {
    const down = replica({
      replicatorUnreachable: 'connection refused',
      fallbackProgress: { waitingEvents: 4n, oldestWaitingCreatedAtMs: 1_000, lastProgressAtMs: 0 },
    });
    expect(lagOf(down, 3_000)).toBe(2_000);
    expect(lagOf(down, 4_000)).toBe(3_000);
    expect(healthOf(down, 4_000)?.status).toBe('STALLED');
    const statuses = statusSamplesOf(down, 4_000);
    expect(statuses.map((s) => [s.status, s.value])).toEqual([
      ['REPLICATING', 0],
      ['PAUSED', 0],
      ['STALLED', 1],
    ]);
  });

  it('shows lag 0 (the series exists) when nothing is known to wait', () => {
    expect(lagOf(replica({ replicatorUnreachable: 'not started' }), 3_000)).toBe(0);
  });
});

describe('a replica whose replicator answers', () => {
  const figures = (state: string, oldest: number): TargetFigures =>
    replica({
      replicator: {
        appliedSequence: 10n,
        lastCreatedAtMs: 900,
        lastAppliedAtMs: 950,
        pendingCount: 2n,
        lastKnownSequence: 12n,
        oldestPendingCreatedAtMs: oldest,
        state,
        error: '',
      },
    });

  it('is PAUSED while paused, its lag growing', () => {
    expect(healthOf(figures('PAUSED', 1_000), 2_000)?.status).toBe('PAUSED');
    expect(lagOf(figures('PAUSED', 1_000), 2_000)).toBe(1_000);
    expect(lagOf(figures('PAUSED', 1_000), 7_000)).toBe(6_000);
  });

  it('is REPLICATING while running and STALLED once nothing was applied for 10 s', () => {
    expect(healthOf(figures('RUNNING', 1_000), 5_000)?.status).toBe('REPLICATING');
    expect(healthOf(figures('RUNNING', 1_000), 12_000)?.status).toBe('STALLED');
  });
});

describe('a primary', () => {
  it('has no status when not in a pair, and shows the worst replica otherwise', () => {
    expect(healthOf({ region: 'a', brokerId: 'p' }, 0)).toBeUndefined();
    const primary: TargetFigures = {
      region: 'region-a',
      brokerId: 'p',
      primaryLog: {
        lastSequence: 9n,
        lastCreatedAtMs: 5_000,
        replicas: [
          {
            consumer: 'replica_b-r',
            acknowledgedSequence: 5n,
            acknowledgedCreatedAtMs: 800,
            acknowledgedAtMs: 900,
            pendingCount: 4n,
            oldestUnacknowledgedCreatedAtMs: 1_000,
          },
        ],
      },
    };
    expect(healthOf(primary, 5_000)?.status).toBe('REPLICATING');
    expect(healthOf(primary, 11_000)?.status).toBe('STALLED');
    expect(samplesOf(primary, 11_000).find((s) => s.metric === 'TotalReplicationLag')?.value).toBe(
      10_000,
    );
  });
});
