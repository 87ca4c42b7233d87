import type { brokerV1, replicatorV1 } from '@crdr/proto';
import { describe, expect, it } from 'vitest';
import type { BrokerDescription } from './model.js';
import { PromotionTracker } from './promotion-tracker.js';
import { primaryLagMs, replicaLagMs } from './lag.js';

function described(step: string | undefined, status = 'PROMOTION_IN_PROGRESS'): BrokerDescription {
  return {
    brokerId: 'b-1',
    dataReplicationMetadata: {
      dataReplicationRole: 'REPLICA',
      dataReplicationCounterpart: null,
      replicationStatus: status,
      promotion: step === undefined ? null : { mode: 'SWITCHOVER', step, startedAt: 't0' },
      divergentTail: null,
    },
  } as BrokerDescription;
}

describe('PromotionTracker', () => {
  it('given a running saga, when DescribeBroker shows new steps, then each is kept once, in order', () => {
    const tracker = new PromotionTracker();
    const at = (s: number): Date => new Date(Date.UTC(2026, 10, 25, 0, 0, s));
    tracker.observe(described('DEMOTING_PRIMARY'), at(1));
    tracker.observe(described('DEMOTING_PRIMARY'), at(2));
    tracker.observe(described('WAITING_FOR_REPLICA'), at(3));
    expect(tracker.isRunning('b-1')).toBe(true);
    tracker.observe(described(undefined, 'PROMOTED'), at(4));
    expect(tracker.isRunning('b-1')).toBe(false);
    expect(tracker.stepsOf('b-1').map((s) => s.step)).toEqual([
      'DEMOTING_PRIMARY',
      'WAITING_FOR_REPLICA',
      'ENDED (replication status PROMOTED)',
    ]);
    expect(tracker.stepsOf('b-1')[0]?.seenAt).toBe('2026-11-25T00:00:01.000Z');
  });

  it('given an ended saga, when a new one starts, then the old steps are forgotten', () => {
    const tracker = new PromotionTracker();
    tracker.observe(described('A'), new Date(0));
    tracker.observe(described(undefined), new Date(1));
    tracker.observe(described('B'), new Date(2));
    expect(tracker.stepsOf('b-1').map((s) => s.step)).toEqual(['B']);
  });

  it('records nothing for a broker never promoted', () => {
    const tracker = new PromotionTracker();
    tracker.observe(described(undefined, 'REPLICATING'), new Date(0));
    expect(tracker.stepsOf('b-1')).toEqual([]);
  });
});

describe('lag figures', () => {
  it('ReplicationLag is how far behind: now − TC of the oldest waiting event, else 0', () => {
    const status = {
      state: 'RUNNING',
      primaryBrokerId: 'p',
      replicaBrokerId: 'r',
      appliedSequence: '5',
      appliedEpoch: '1',
      lastCreatedAtMs: '1000',
      lastAppliedAtMs: '1750',
      pendingCount: '3',
      error: '',
      lastKnownSequence: '8',
      appliedGeneration: '1',
      oldestPendingCreatedAtMs: '1100',
    } as replicatorV1.GetStatusResponse__Output;
    // How far behind: the oldest waiting event (TC 1 100) has waited 900 ms at 2 000.
    expect(replicaLagMs(status, 2_000)).toBe(900);
    expect(replicaLagMs(status, 12_000)).toBe(10_900);
    expect(replicaLagMs({ ...status, pendingCount: '0', lastKnownSequence: '5' }, 12_000)).toBe(0);
  });

  it('TotalReplicationLag is how far behind the most behind replica is (now − TC of its oldest unacknowledged event)', () => {
    const replica = (acknowledged: string, oldestWaiting: string) => ({
      consumer: 'c',
      acknowledgedSequence: acknowledged,
      acknowledgedCreatedAtMs: '900',
      acknowledgedAtMs: '1300',
      pendingCount: '0',
      oldestUnacknowledgedCreatedAtMs: oldestWaiting,
    });
    const status = {
      role: 'PRIMARY',
      dataReplicationMode: 'CRDR',
      epoch: '1',
      lastSequence: '9',
      lastCreatedAtMs: '0',
      publishedSequence: '9',
      relayConnected: true,
      replicas: [replica('7', '1000'), replica('9', '0')],
    } as brokerV1.GetReplicationStatusResponse__Output;
    expect(primaryLagMs(status, 1_300)).toEqual({ lagMs: 300, pendingEvents: 2 });
    // It grows while nothing is acknowledged.
    expect(primaryLagMs(status, 31_000)).toEqual({ lagMs: 30_000, pendingEvents: 2 });
  });
});
