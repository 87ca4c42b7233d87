import { describe, expect, it } from 'vitest';
import {
  primaryReplicationMetrics,
  replicaReplicationMetrics,
  type PrimaryLogFigures,
  type ReplicatorFigures,
} from './replication-metrics.js';

// Times are plain numbers on one controlled clock: TC 1000 is 1 s after the epoch, and so on.
const replicator = (overrides: Partial<ReplicatorFigures>): ReplicatorFigures => ({
  appliedSequence: 10n,
  lastCreatedAtMs: 1_000,
  lastAppliedAtMs: 1_250,
  pendingCount: 0n,
  lastKnownSequence: 10n,
  ...overrides,
});

describe('ReplicationLag and ReplicaWaitTime (replica)', () => {
  it('is 0 while no event is pending, whatever the last event took', () => {
    const m = replicaReplicationMetrics(replicator({}), 5_000);
    expect(m.replicationLagMs).toBe(0);
    expect(m.replicationQueueSize).toBe(0);
    expect(m.replicaWaitTimeMs).toBe(3_750);
  });

  it('is how far behind: now - TC of the oldest waiting event, growing every second while paused', () => {
    const paused = replicator({
      pendingCount: 3n,
      lastKnownSequence: 13n,
      oldestPendingCreatedAtMs: 1_500,
    });
    const early = replicaReplicationMetrics(paused, 2_000);
    const later = replicaReplicationMetrics(paused, 3_000);
    const late = replicaReplicationMetrics(paused, 60_000);
    expect(early.replicationLagMs).toBe(500);
    expect(later.replicationLagMs).toBe(1_500);
    expect(late.replicationLagMs).toBe(58_500);
    expect(early.replicaWaitTimeMs).toBe(750);
    expect(late.replicaWaitTimeMs).toBe(58_750);
    expect(late.replicationQueueSize).toBe(3);
  });

  it('follows the oldest event still waiting as the replica catches up, and falls to 0 once none waits', () => {
    // Events created at 2 000..2 010 waited; one batch applied at 9 000, the next waits.
    const catchingUp = replicator({
      appliedSequence: 12n,
      lastCreatedAtMs: 2_001,
      lastAppliedAtMs: 9_000,
      pendingCount: 9n,
      lastKnownSequence: 21n,
      oldestPendingCreatedAtMs: 2_002,
    });
    expect(replicaReplicationMetrics(catchingUp, 9_100).replicationLagMs).toBe(7_098);
    const caughtUp = replicator({
      appliedSequence: 21n,
      lastCreatedAtMs: 2_010,
      lastAppliedAtMs: 9_050,
      pendingCount: 0n,
      lastKnownSequence: 21n,
      oldestPendingCreatedAtMs: 0,
    });
    expect(replicaReplicationMetrics(caughtUp, 9_200).replicationLagMs).toBe(0);
  });

  it('counts as pending what the log is known to hold beyond the applied sequence', () => {
    const m = replicaReplicationMetrics(
      replicator({ pendingCount: 0n, lastKnownSequence: 15n, oldestPendingCreatedAtMs: 1_800 }),
      2_000,
    );
    expect(m.replicationQueueSize).toBe(5);
    expect(m.replicationLagMs).toBe(200);
  });

  it('has a lag even before any event was applied, so the series exists from the start', () => {
    const waiting = replicaReplicationMetrics(
      replicator({
        appliedSequence: 0n,
        lastCreatedAtMs: 0,
        lastAppliedAtMs: 0,
        pendingCount: 4n,
        lastKnownSequence: 4n,
        oldestPendingCreatedAtMs: 1_000,
      }),
      2_000,
    );
    expect(waiting.replicationLagMs).toBe(1_000);
    expect(waiting.replicaWaitTimeMs).toBeUndefined();
    expect(waiting.replicationQueueSize).toBe(4);
    const empty = replicaReplicationMetrics(
      replicator({ appliedSequence: 0n, lastCreatedAtMs: 0, lastAppliedAtMs: 0 }),
      2_000,
    );
    expect(empty.replicationLagMs).toBe(0);
  });

  it('never reports a negative lag when clocks disagree', () => {
    const m = replicaReplicationMetrics(
      replicator({
        lastCreatedAtMs: 2_000,
        lastAppliedAtMs: 1_900,
        pendingCount: 1n,
        oldestPendingCreatedAtMs: 2_100,
      }),
      1_800,
    );
    expect(m.replicationLagMs).toBe(0);
    expect(m.replicaWaitTimeMs).toBe(0);
  });

  it('gives each destination the lag of the last applied event that changed it', () => {
    const m = replicaReplicationMetrics(
      replicator({
        pendingCount: 2n,
        destinations: [
          { destination: '/queue/a', lastCreatedAtMs: 100, lastAppliedAtMs: 900 },
          { destination: '/queue/b', lastCreatedAtMs: 1_000, lastAppliedAtMs: 1_250 },
        ],
      }),
      2_000,
    );
    expect(m.destinations).toEqual([
      { destination: '/queue/a', lagMs: 800 },
      { destination: '/queue/b', lagMs: 250 },
    ]);
  });
});

const log = (overrides: Partial<PrimaryLogFigures>): PrimaryLogFigures => ({
  lastSequence: 20n,
  lastCreatedAtMs: 4_000,
  replicas: [
    {
      consumer: 'b',
      acknowledgedSequence: 20n,
      acknowledgedCreatedAtMs: 4_000,
      acknowledgedAtMs: 4_300,
      pendingCount: 0n,
    },
  ],
  ...overrides,
});

describe('TotalReplicationLag, PrimaryWaitTime and ReplicationQueueSize (primary)', () => {
  it('is 0 when every event is acknowledged', () => {
    const m = primaryReplicationMetrics(log({}), 10_000);
    expect(m.totalReplicationLagMs).toBe(0);
    expect(m.replicationQueueSize).toBe(0);
    expect(m.primaryWaitTimeMs).toBe(6_000);
  });

  it('is how far behind: now - TC of the oldest unacknowledged event, growing while none is acknowledged', () => {
    const stuck = log({
      lastSequence: 27n,
      lastCreatedAtMs: 9_000,
      replicas: [
        {
          consumer: 'b',
          acknowledgedSequence: 20n,
          acknowledgedCreatedAtMs: 4_000,
          acknowledgedAtMs: 4_300,
          pendingCount: 5n,
          oldestUnacknowledgedCreatedAtMs: 4_100,
        },
      ],
    });
    const m = primaryReplicationMetrics(stuck, 10_000);
    expect(m.totalReplicationLagMs).toBe(5_900);
    expect(primaryReplicationMetrics(stuck, 40_000).totalReplicationLagMs).toBe(35_900);
    // Written but not yet acknowledged: the 2 not yet published count too.
    expect(m.replicationQueueSize).toBe(7);
    expect(m.primaryWaitTimeMs).toBe(1_000);
  });

  it('falls back on the newest event as a lower bound when the oldest waiting one cannot be read', () => {
    const m = primaryReplicationMetrics(
      log({
        lastSequence: 27n,
        lastCreatedAtMs: 9_000,
        replicas: [
          {
            consumer: 'b',
            acknowledgedSequence: 20n,
            acknowledgedCreatedAtMs: 4_000,
            acknowledgedAtMs: 4_300,
            pendingCount: 7n,
            oldestUnacknowledgedCreatedAtMs: 0,
          },
        ],
      }),
      10_000,
    );
    expect(m.totalReplicationLagMs).toBe(1_000);
  });

  it('reports the worst replica when several consume the log', () => {
    const m = primaryReplicationMetrics(
      log({
        lastSequence: 30n,
        replicas: [
          {
            consumer: 'b',
            acknowledgedSequence: 29n,
            acknowledgedCreatedAtMs: 5_000,
            acknowledgedAtMs: 5_100,
            pendingCount: 1n,
            oldestUnacknowledgedCreatedAtMs: 9_000,
          },
          {
            consumer: 'c',
            acknowledgedSequence: 20n,
            acknowledgedCreatedAtMs: 4_000,
            acknowledgedAtMs: 6_000,
            pendingCount: 10n,
            oldestUnacknowledgedCreatedAtMs: 4_500,
          },
        ],
      }),
      10_000,
    );
    expect(m.totalReplicationLagMs).toBe(5_500);
    expect(m.replicationQueueSize).toBe(10);
  });

  it('is 0 from the start, before any event, and has no wait before any event', () => {
    const m = primaryReplicationMetrics(
      {
        lastSequence: 0n,
        lastCreatedAtMs: 0,
        replicas: [
          {
            consumer: 'b',
            acknowledgedSequence: 0n,
            acknowledgedCreatedAtMs: 0,
            acknowledgedAtMs: 0,
            pendingCount: 3n,
          },
        ],
      },
      10_000,
    );
    expect(m.totalReplicationLagMs).toBe(0);
    expect(m.primaryWaitTimeMs).toBeUndefined();
    expect(
      primaryReplicationMetrics({ ...log({}), replicas: [] }, 10_000).totalReplicationLagMs,
    ).toBe(0);
    expect(m.replicationQueueSize).toBe(3);
  });
});
