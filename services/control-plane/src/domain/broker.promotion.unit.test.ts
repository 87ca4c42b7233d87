import { describe, expect, it } from 'vitest';
import { isCrdrError } from '@crdr/errors';
import { decide, fold } from './broker.decider.js';
import {
  asBrokerId,
  type BrokerCommand,
  type BrokerEvent,
  type DivergentTailRecord,
} from './broker.types.js';

// The registry side of the promotion sagas: statuses shown while a promotion runs, the role
// change it ends with, and an old primary's divergent tail. Given events, when a command, then
// the events (none when already done) or the error.

const at = '2026-01-01T00:00:00.000Z';
const brokerId = asBrokerId('b-primary');
const replica = { brokerId: 'b-replica', region: 'region-b' };
const paired: BrokerEvent[] = [
  {
    type: 'BrokerCreationRequested',
    brokerId,
    brokerArn: `arn:mq:region-a:local:broker:orders:${brokerId}`,
    region: 'region-a',
    spec: {
      brokerName: 'orders',
      engineType: 'ACTIVEMQ',
      engineVersion: '5.18.4',
      hostInstanceType: 'mq.m5.large',
      deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      users: [],
    },
    adminUser: { username: 'crdr-cp-region-a', password: 'x' },
    creatorRequestId: undefined,
    replicaOf: undefined,
    epoch: 1n,
    at,
  },
  { type: 'BrokerCreated', instances: [], at },
  { type: 'ReplicaAttached', replica, at },
  { type: 'ReplicationStarted', epoch: 1n, replicatorGrpc: undefined, at },
];
const tail: DivergentTailRecord = {
  eventCount: 3,
  firstSequence: 11n,
  lastSequence: 13n,
  destinations: ['/queue/A'],
  state: 'PENDING',
  generation: 2n,
  failoverSequence: 10n,
  republishedMessages: 0,
};

function when(given: readonly BrokerEvent[], command: BrokerCommand) {
  const state = fold(given);
  const events = decide(command, state);
  return { events, after: fold([...given, ...events]) };
}

describe('broker registry: promotion', () => {
  it('shows the promotion while it runs, once', () => {
    const command: BrokerCommand = {
      type: 'RecordPromotionStatus',
      status: 'DEMOTION_IN_PROGRESS',
      promotion: { mode: 'SWITCHOVER', step: 'DEMOTING_PRIMARY', startedAt: at },
      at,
    };
    const { events, after } = when(paired, command);
    expect(after.replicationStatus).toBe('DEMOTION_IN_PROGRESS');
    expect(after.promotion).toEqual({
      mode: 'SWITCHOVER',
      step: 'DEMOTING_PRIMARY',
      startedAt: at,
    });
    expect(when([...paired, ...events], command).events).toEqual([]);
  });

  it('makes the old primary the replica of its counterpart with the new epoch', () => {
    const { after, events } = when(paired, {
      type: 'ChangeDataReplicationRole',
      role: 'REPLICA',
      counterpart: replica,
      epoch: 2n,
      status: 'DEMOTED',
      at,
    });
    expect(after).toMatchObject({
      role: 'REPLICA',
      counterpart: replica,
      epoch: 2n,
      replicationStatus: 'DEMOTED',
      promotion: undefined,
    });
    // Once replicating again, the same role change is already done.
    const replicating: BrokerEvent = {
      type: 'ReplicationStarted',
      epoch: 2n,
      replicatorGrpc: 'h:9',
      at,
    };
    expect(
      when([...paired, ...events, replicating], {
        type: 'ChangeDataReplicationRole',
        role: 'REPLICA',
        counterpart: replica,
        epoch: 2n,
        status: 'DEMOTED',
        at,
      }).events,
    ).toEqual([]);
  });

  it('keeps a divergent tail per failover point and resolves it once', () => {
    const recorded = when(paired, { type: 'RecordDivergentTail', tail, at });
    expect(recorded.after.divergentTail).toEqual(tail);
    const given = [...paired, ...recorded.events];
    expect(when(given, { type: 'RecordDivergentTail', tail, at }).events).toEqual([]);
    const republished = when(given, {
      type: 'ResolveDivergentTail',
      state: 'REPUBLISHED',
      republishedMessages: 2,
      at,
    });
    expect(republished.after.divergentTail).toMatchObject({
      state: 'REPUBLISHED',
      republishedMessages: 2,
    });
    let refused: unknown;
    try {
      when([...given, ...republished.events], {
        type: 'ResolveDivergentTail',
        state: 'DISCARDED',
        republishedMessages: 0,
        at,
      });
    } catch (error) {
      refused = error;
    }
    expect(isCrdrError(refused) && refused.code).toBe('Conflict');
    // A later failover's tail replaces it.
    const next = when([...given, ...republished.events], {
      type: 'RecordDivergentTail',
      tail: { ...tail, failoverSequence: 20n },
      at,
    });
    expect(next.after.divergentTail?.state).toBe('PENDING');
  });

  it('refuses to resolve a tail that does not exist', () => {
    let refused: unknown;
    try {
      when(paired, {
        type: 'ResolveDivergentTail',
        state: 'DISCARDED',
        republishedMessages: 0,
        at,
      });
    } catch (error) {
      refused = error;
    }
    expect(isCrdrError(refused) && refused.code).toBe('NotFound');
  });
});
