import { describe, expect, it } from 'vitest';
import { isCrdrError } from '@crdr/errors';
import { asBrokerId } from './broker.types.js';
import {
  asPromotionId,
  decide,
  evolve,
  initialState,
  pendingAction,
  promotionView,
  type PromotionCommand,
  type PromotionEvent,
  type PromotionPair,
  type PromotionState,
  type PromotionStep,
  type StepResult,
} from './promotion.saga.js';

// Given events, when a command, then events (docs/style.md §11); time is passed in.

const pair: PromotionPair = {
  primary: { brokerId: asBrokerId('b-a'), region: 'region-a' },
  replica: { brokerId: asBrokerId('b-b'), region: 'region-b' },
};
const sw = asPromotionId('sw-1');
const fo = asPromotionId('fo-1');

const fold = (events: readonly PromotionEvent[]): PromotionState =>
  events.reduce(evolve, initialState);

/** Runs commands one after the other from `given`, returning every event. */
function run(given: readonly PromotionEvent[], ...commands: PromotionCommand[]): PromotionEvent[] {
  const all = [...given];
  for (const command of commands) all.push(...decide(command, fold(all)));
  return all;
}

const ok = (
  promotionId: typeof sw,
  step: PromotionStep,
  result: StepResult = { kind: 'done' },
  at = 2000,
): PromotionCommand => ({ type: 'StepSucceeded', promotionId, step, result, at });

const fail = (
  promotionId: typeof sw,
  step: PromotionStep,
  retryable: boolean,
  at = 2000,
): PromotionCommand => ({
  type: 'StepFailed',
  promotionId,
  step,
  error: 'boom',
  retryable,
  at,
});

const startSwitchover: PromotionCommand = {
  type: 'StartSwitchover',
  promotionId: sw,
  pair,
  epoch: 4n,
  at: 1000,
};
const startFailover: PromotionCommand = {
  type: 'StartFailover',
  promotionId: fo,
  pair,
  epoch: 4n,
  at: 1500,
};

const types = (events: readonly PromotionEvent[]): string[] =>
  events.map((e) => (e.type === 'StepStarted' ? `StepStarted:${e.step}` : e.type));

function conflictOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isCrdrError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('switchover', () => {
  it('when started, then the request and the demotion of the primary are recorded before acting', () => {
    const events = decide(startSwitchover, initialState);
    expect(types(events)).toEqual(['PromotionRequested', 'StepStarted:DEMOTING_PRIMARY']);
    expect(events[1]).toMatchObject({
      action: {
        type: 'BeginDemotion',
        brokerId: 'b-a',
        promotionId: 'sw-1',
        nextEpoch: 5n,
        newPrimary: pair.replica,
      },
    });
    expect(promotionView(fold(events))).toEqual({
      mode: 'SWITCHOVER',
      step: 'DEMOTING_PRIMARY',
      startedAt: 1000,
    });
  });

  it('runs every step to completion, promoting the replica with an empty log', () => {
    const events = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', { kind: 'demotion', sequence: 900n, generation: 2n }),
      ok(sw, 'WAITING_FOR_REPLICA', { kind: 'caught-up', sequence: 900n }),
      ok(sw, 'STOPPING_REPLICATOR'),
      ok(sw, 'PROMOTING_REPLICA'),
      ok(sw, 'DEMOTING_OLD_PRIMARY'),
      ok(sw, 'STARTING_REVERSE_REPLICATION'),
    );
    expect(types(events)).toEqual([
      'PromotionRequested',
      'StepStarted:DEMOTING_PRIMARY',
      'DemotionStarted',
      'StepStarted:WAITING_FOR_REPLICA',
      'ReplicaCaughtUp',
      'StepStarted:STOPPING_REPLICATOR',
      'ReplicatorStopped',
      'StepStarted:PROMOTING_REPLICA',
      'ReplicaPromoted',
      'StepStarted:DEMOTING_OLD_PRIMARY',
      'OldPrimaryDemoted',
      'StepStarted:STARTING_REVERSE_REPLICATION',
      'ReverseReplicationStarted',
      'PromotionCompleted',
    ]);
    const actions = events.flatMap((e) => (e.type === 'StepStarted' ? [e.action] : []));
    expect(actions[1]).toEqual({
      type: 'WaitForReplica',
      replicaBrokerId: 'b-b',
      primaryBrokerId: 'b-a',
      sequence: 900n,
    });
    expect(actions[3]).toEqual({
      type: 'PromoteReplica',
      brokerId: 'b-b',
      epoch: 5n,
      logStart: 'EMPTY',
    });
    expect(actions[4]).toEqual({
      type: 'DemoteOldPrimary',
      brokerId: 'b-a',
      epoch: 5n,
      primary: pair.replica,
    });
    expect(actions[5]).toEqual({
      type: 'StartReplicator',
      primaryBrokerId: 'b-b',
      replicaBrokerId: 'b-a',
    });
    const state = fold(events);
    expect(state.status).toBe('COMPLETED');
    expect(promotionView(state)).toBeUndefined();
  });

  it('given a crash after a step started, then the same action is pending again (resume)', () => {
    const given = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', {
        kind: 'demotion',
        sequence: 900n,
        generation: 2n,
      }),
    );
    expect(pendingAction(fold(given))).toEqual({
      type: 'WaitForReplica',
      replicaBrokerId: 'b-b',
      primaryBrokerId: 'b-a',
      sequence: 900n,
    });
  });

  it('is idempotent: the same start or the same step report again changes nothing', () => {
    const given = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', {
        kind: 'demotion',
        sequence: 900n,
        generation: 2n,
      }),
    );
    expect(decide(startSwitchover, fold(given))).toEqual([]);
    expect(
      decide(
        ok(sw, 'DEMOTING_PRIMARY', { kind: 'demotion', sequence: 900n, generation: 2n }),
        fold(given),
      ),
    ).toEqual([]);
  });

  it('given a timeout, then the step is recorded failed and started again', () => {
    const events = decide(fail(sw, 'DEMOTING_PRIMARY', true), fold(run([], startSwitchover)));
    expect(types(events)).toEqual(['StepFailed', 'StepStarted:DEMOTING_PRIMARY']);
    expect(events[1]).toMatchObject({ attempt: 2 });
  });

  it('given a step failing for good before the promotion, then the demotion is cancelled and the promotion fails', () => {
    const given = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', {
        kind: 'demotion',
        sequence: 900n,
        generation: 2n,
      }),
    );
    const events = run(
      given,
      fail(sw, 'WAITING_FOR_REPLICA', false),
      ok(sw, 'CANCELLING_DEMOTION'),
    );
    expect(types(events.slice(given.length))).toEqual([
      'StepFailed',
      'StepStarted:CANCELLING_DEMOTION',
      'DemotionCancelled',
      'PromotionFailed',
    ]);
    const cancel = events.find((e) => e.type === 'StepStarted' && e.step === 'CANCELLING_DEMOTION');
    expect(cancel).toMatchObject({
      action: { type: 'CancelDemotion', brokerId: 'b-a', epoch: 4n },
    });
    const state = fold(events);
    expect(state.status === 'FAILED' && state.failure).toContain('WAITING_FOR_REPLICA');
  });

  it('given the replica promoted, then a failure is retried, never rolled back', () => {
    const given = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', { kind: 'demotion', sequence: 900n, generation: 2n }),
      ok(sw, 'WAITING_FOR_REPLICA', { kind: 'caught-up', sequence: 900n }),
      ok(sw, 'STOPPING_REPLICATOR'),
      ok(sw, 'PROMOTING_REPLICA'),
    );
    expect(types(decide(fail(sw, 'DEMOTING_OLD_PRIMARY', false), fold(given)))).toEqual([
      'StepFailed',
      'StepStarted:DEMOTING_OLD_PRIMARY',
    ]);
  });

  it('is refused (Conflict) while a failover runs', () => {
    const given = run([], startFailover);
    expect(conflictOf(() => decide(startSwitchover, fold(given)))).toBe('Conflict');
  });
});

describe('failover', () => {
  const point = { sourceBrokerId: 'b-a', generation: 3n, sequence: 500n };

  it('given the old primary fenced with nothing past the failover point, then the replica is promoted without a snapshot and replication reverses', () => {
    const events = run(
      [],
      startFailover,
      ok(fo, 'STOPPING_REPLICATOR'),
      ok(fo, 'READING_FAILOVER_POINT', { kind: 'failover-point', point }),
      ok(fo, 'FENCING_OLD_PRIMARY', { kind: 'fenced', logGeneration: 3n, logLastSequence: 500n }),
      ok(fo, 'PROMOTING_REPLICA'),
      ok(fo, 'STARTING_REVERSE_REPLICATION'),
    );
    expect(types(events)).toEqual([
      'PromotionRequested',
      'StepStarted:STOPPING_REPLICATOR',
      'ReplicatorStopped',
      'StepStarted:READING_FAILOVER_POINT',
      'FailoverPointRecorded',
      'StepStarted:FENCING_OLD_PRIMARY',
      'OldPrimaryFenced',
      'StepStarted:PROMOTING_REPLICA',
      'ReplicaPromoted',
      'StepStarted:STARTING_REVERSE_REPLICATION',
      'ReverseReplicationStarted',
      'PromotionCompleted',
    ]);
    expect(events.find((e) => e.type === 'ReplicaPromoted')).toMatchObject({
      epoch: 5n,
      logStart: 'EMPTY',
    });
  });

  it('given a divergent tail, then the replica starts a snapshot log and the tail is recorded before the resync', () => {
    const events = run(
      [],
      startFailover,
      ok(fo, 'STOPPING_REPLICATOR'),
      ok(fo, 'READING_FAILOVER_POINT', { kind: 'failover-point', point }),
      ok(fo, 'FENCING_OLD_PRIMARY', { kind: 'fenced', logGeneration: 3n, logLastSequence: 507n }),
      ok(fo, 'PROMOTING_REPLICA'),
    );
    expect(events.find((e) => e.type === 'OldPrimaryFenced')).toMatchObject({ divergent: true });
    expect(events.find((e) => e.type === 'ReplicaPromoted')).toMatchObject({
      logStart: 'SNAPSHOT',
    });
    expect(pendingAction(fold(events))).toEqual({
      type: 'RecordDivergentTail',
      brokerId: 'b-a',
      after: point,
    });
    const tail = {
      eventCount: 7,
      firstSequence: 501n,
      lastSequence: 507n,
      destinations: ['/queue/Orders'],
    };
    const done = run(
      events,
      ok(fo, 'RECORDING_DIVERGENT_TAIL', { kind: 'tail', tail }),
      ok(fo, 'STARTING_REVERSE_REPLICATION'),
    );
    const state = fold(done);
    expect(state.status === 'COMPLETED' && state.tail).toEqual(tail);
  });

  it('given the old primary unreachable, then the replica is promoted anyway and the saga resumes when it returns', () => {
    const events = run(
      [],
      startFailover,
      ok(fo, 'STOPPING_REPLICATOR'),
      ok(fo, 'READING_FAILOVER_POINT', { kind: 'failover-point', point }),
      fail(fo, 'FENCING_OLD_PRIMARY', true),
      ok(fo, 'PROMOTING_REPLICA'),
    );
    expect(types(events).slice(-5)).toEqual([
      'StepFailed',
      'OldPrimaryUnreachable',
      'StepStarted:PROMOTING_REPLICA',
      'ReplicaPromoted',
      'PromotionCompleted',
    ]);
    expect(events.find((e) => e.type === 'ReplicaPromoted')).toMatchObject({
      logStart: 'SNAPSHOT',
    });
    const back = run(
      events,
      { type: 'OldPrimaryReturned', promotionId: fo, at: 9000 },
      ok(fo, 'FENCING_OLD_PRIMARY', { kind: 'fenced', logGeneration: 3n, logLastSequence: 502n }),
      ok(fo, 'RECORDING_DIVERGENT_TAIL', {
        kind: 'tail',
        tail: { eventCount: 2, firstSequence: 501n, lastSequence: 502n, destinations: [] },
      }),
      ok(fo, 'STARTING_REVERSE_REPLICATION'),
    );
    expect(types(back.slice(events.length))).toEqual([
      'StepStarted:FENCING_OLD_PRIMARY',
      'OldPrimaryFenced',
      'StepStarted:RECORDING_DIVERGENT_TAIL',
      'DivergentTailRecorded',
      'StepStarted:STARTING_REVERSE_REPLICATION',
      'ReverseReplicationStarted',
      'PromotionCompleted',
    ]);
  });

  it('interrupts a running switchover, with the epoch the switchover would have given', () => {
    const given = run(
      [],
      startSwitchover,
      ok(sw, 'DEMOTING_PRIMARY', {
        kind: 'demotion',
        sequence: 900n,
        generation: 2n,
      }),
    );
    const events = decide({ ...startFailover, epoch: 4n }, fold(given));
    expect(types(events)).toEqual([
      'PromotionInterrupted',
      'PromotionRequested',
      'StepStarted:STOPPING_REPLICATOR',
    ]);
    expect(events[1]).toMatchObject({ mode: 'FAILOVER', nextEpoch: 5n });
    const state = fold([...given, ...events]);
    expect(promotionView(state)).toMatchObject({ mode: 'FAILOVER', step: 'STOPPING_REPLICATOR' });
    // A late report of the interrupted switchover's step changes nothing.
    expect(
      decide(ok(sw, 'WAITING_FOR_REPLICA', { kind: 'caught-up', sequence: 900n }), state),
    ).toEqual([]);
  });

  it('refuses a second failover while one runs, and a promotion of a broker onto itself', () => {
    const given = run([], startFailover);
    expect(
      conflictOf(() =>
        decide({ ...startFailover, promotionId: asPromotionId('fo-2') }, fold(given)),
      ),
    ).toBe('Conflict');
    expect(
      conflictOf(() =>
        decide(
          { ...startFailover, pair: { primary: pair.primary, replica: pair.primary } },
          initialState,
        ),
      ),
    ).toBe('BadRequest');
  });
});
