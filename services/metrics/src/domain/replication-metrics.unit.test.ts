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

  it('is TP - TC of the last applied event while events are pending', () => {
    const paused = replicator({ pendingCount: 3n, lastKnownSequence: 13n });
    const early = replicaReplicationMetrics(paused, 2_000);
    const late = replicaReplicationMetrics(paused, 60_000);
    expect(early.replicationLagMs).toBe(250);
    // Paused: the definition's lag stays put while the wait since the last apply grows.
    expect(late.replicationLagMs).toBe(250);
    expect(early.replicaWaitTimeMs).toBe(750);
    expect(late.replicaWaitTimeMs).toBe(58_750);
    expect(late.replicationQueueSize).toBe(3);
  });

  it('grows when the events that waited are applied late, and falls to 0 once none is pending', () => {
    // Paused at 1 250; events created at 2 000..2 010; resumed at 9 000, one batch applied.
    const catchingUp = replicator({
      appliedSequence: 12n,
      lastCreatedAtMs: 2_001,
      lastAppliedAtMs: 9_000,
      pendingCount: 9n,
      lastKnownSequence: 21n,
    });
    expect(replicaReplicationMetrics(catchingUp, 9_100).replicationLagMs).toBe(6_999);
    const caughtUp = replicator({
      appliedSequence: 21n,
      lastCreatedAtMs: 2_010,
      lastAppliedAtMs: 9_050,
      pendingCount: 0n,
      lastKnownSequence: 21n,
    });
    expect(replicaReplicationMetrics(caughtUp, 9_200).replicationLagMs).toBe(0);
  });

  it('counts as pending what the log is known to hold beyond the applied sequence', () => {
    const m = replicaReplicationMetrics(
      replicator({ pendingCount: 0n, lastKnownSequence: 15n }),
      2_000,
    );
    expect(m.replicationQueueSize).toBe(5);
    expect(m.replicationLagMs).toBe(250);
  });

  it('has no lag value while events are pending and none was ever applied', () => {
    const m = replicaReplicationMetrics(
      replicator({
        appliedSequence: 0n,
        lastCreatedAtMs: 0,
        lastAppliedAtMs: 0,
        pendingCount: 4n,
        lastKnownSequence: 4n,
      }),
      2_000,
    );
    expect(m.replicationLagMs).toBeUndefined();
    expect(m.replicaWaitTimeMs).toBeUndefined();
    expect(m.replicationQueueSize).toBe(4);
  });

  it('never reports a negative lag when clocks disagree', () => {
    const m = replicaReplicationMetrics(
      replicator({ lastCreatedAtMs: 2_000, lastAppliedAtMs: 1_900, pendingCount: 1n }),
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

  it('is TA - TC of the last acknowledged event while events are unacknowledged', () => {
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
            pendingCount: 5n,
          },
        ],
      }),
      10_000,
    );
    expect(m.totalReplicationLagMs).toBe(300);
    // Written but not yet acknowledged: the 2 not yet published count too.
    expect(m.replicationQueueSize).toBe(7);
    expect(m.primaryWaitTimeMs).toBe(1_000);
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
          },
          {
            consumer: 'c',
            acknowledgedSequence: 20n,
            acknowledgedCreatedAtMs: 4_000,
            acknowledgedAtMs: 6_000,
            pendingCount: 10n,
          },
        ],
      }),
      10_000,
    );
    expect(m.totalReplicationLagMs).toBe(2_000);
    expect(m.replicationQueueSize).toBe(10);
  });

  it('has no lag value while nothing was ever acknowledged, and no wait before any event', () => {
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
    expect(m.totalReplicationLagMs).toBeUndefined();
    expect(m.primaryWaitTimeMs).toBeUndefined();
    expect(m.replicationQueueSize).toBe(3);
  });
});
