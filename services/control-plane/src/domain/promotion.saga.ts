import { badRequest, conflict } from '@crdr/errors';
import type { BrokerId } from './broker.types.js';
import {
  actionFor,
  type PromotionAction,
  type PromotionStep,
  type StepResult,
} from './promotion.steps.js';

export type { PromotionAction, PromotionStep, StepResult } from './promotion.steps.js';

/**
 * The promotion saga of one replication pair (docs/architecture.md, "Promotion"): a pure decider,
 * `{initialState, decide(command, state) → events, evolve(state, event) → state}`. Every step is
 * recorded twice: `StepStarted` (carrying the action an adapter runs) before it acts, and the
 * step's own past-tense event after it acted. After a crash the fold of the events names the
 * step that was started and not finished: `pendingAction(state)` is what to run again, and
 * every action is idempotent on the brokers (same epoch, same promotion id).
 *
 * Switchover (consistency first):
 *   DEMOTING_PRIMARY → WAITING_FOR_REPLICA → STOPPING_REPLICATOR → PROMOTING_REPLICA (log EMPTY)
 *   → DEMOTING_OLD_PRIMARY → STARTING_REVERSE_REPLICATION → completed.
 *   A step that fails for good before the replica is promoted cancels the demotion
 *   (CANCELLING_DEMOTION) and the promotion fails; after it, steps are retried.
 * Failover (availability first):
 *   STOPPING_REPLICATOR → READING_FAILOVER_POINT → FENCING_OLD_PRIMARY (may fail: unreachable)
 *   → PROMOTING_REPLICA (log EMPTY when the fenced old primary holds nothing past the failover
 *   point, else SNAPSHOT) → [RECORDING_DIVERGENT_TAIL] → STARTING_REVERSE_REPLICATION, or,
 *   with the old primary unreachable, completed until `OldPrimaryReturned` resumes from
 *   FENCING_OLD_PRIMARY.
 */

export type PromotionId = string & { readonly __brand: 'PromotionId' };
export const asPromotionId = (value: string): PromotionId => value as PromotionId;

export type PromotionMode = 'SWITCHOVER' | 'FAILOVER';

export interface PairMember {
  readonly brokerId: BrokerId;
  readonly region: string;
}

/** The pair as it is when the promotion starts: `replica` becomes the primary. */
export interface PromotionPair {
  readonly primary: PairMember;
  readonly replica: PairMember;
}

export interface FailoverPoint {
  readonly sourceBrokerId: string;
  readonly generation: bigint;
  readonly sequence: bigint;
}

export interface DivergentTail {
  readonly eventCount: number;
  readonly firstSequence: bigint;
  readonly lastSequence: bigint;
  readonly destinations: readonly string[];
}

// Commands (imperative). `at` is the time, in epoch milliseconds, passed in.
export type PromotionCommand =
  | {
      readonly type: 'StartSwitchover';
      readonly promotionId: PromotionId;
      readonly pair: PromotionPair;
      /** The pair's epoch now; the new primary gets the next one. */
      readonly epoch: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'StartFailover';
      readonly promotionId: PromotionId;
      readonly pair: PromotionPair;
      readonly epoch: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'StepSucceeded';
      readonly promotionId: PromotionId;
      readonly step: PromotionStep;
      readonly result: StepResult;
      readonly at: number;
    }
  | {
      readonly type: 'StepFailed';
      readonly promotionId: PromotionId;
      readonly step: PromotionStep;
      readonly error: string;
      /** A timeout or an unreachable peer: the same action may be run again. */
      readonly retryable: boolean;
      readonly at: number;
    }
  | {
      /** The old primary of a failover answers again (it came back held). */
      readonly type: 'OldPrimaryReturned';
      readonly promotionId: PromotionId;
      readonly at: number;
    };

// Events (past tense).
export type PromotionEvent =
  | {
      readonly type: 'PromotionRequested';
      readonly promotionId: PromotionId;
      readonly mode: PromotionMode;
      readonly pair: PromotionPair;
      readonly epoch: bigint;
      readonly nextEpoch: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'PromotionInterrupted';
      readonly promotionId: PromotionId;
      readonly by: PromotionId;
      readonly at: number;
    }
  | {
      readonly type: 'StepStarted';
      readonly promotionId: PromotionId;
      readonly step: PromotionStep;
      readonly action: PromotionAction;
      readonly attempt: number;
      readonly at: number;
    }
  | {
      readonly type: 'StepFailed';
      readonly promotionId: PromotionId;
      readonly step: PromotionStep;
      readonly error: string;
      readonly attempt: number;
      readonly at: number;
    }
  | {
      readonly type: 'DemotionStarted';
      readonly promotionId: PromotionId;
      readonly markerSequence: bigint;
      readonly generation: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'ReplicaCaughtUp';
      readonly promotionId: PromotionId;
      readonly sequence: bigint;
      readonly at: number;
    }
  | { readonly type: 'ReplicatorStopped'; readonly promotionId: PromotionId; readonly at: number }
  | {
      readonly type: 'FailoverPointRecorded';
      readonly promotionId: PromotionId;
      readonly point: FailoverPoint;
      readonly at: number;
    }
  | {
      readonly type: 'OldPrimaryFenced';
      readonly promotionId: PromotionId;
      /** Whether its log holds events past the failover point. */
      readonly divergent: boolean;
      readonly logGeneration: bigint;
      readonly logLastSequence: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'OldPrimaryUnreachable';
      readonly promotionId: PromotionId;
      readonly reason: string;
      readonly at: number;
    }
  | {
      readonly type: 'ReplicaPromoted';
      readonly promotionId: PromotionId;
      readonly epoch: bigint;
      readonly logStart: 'EMPTY' | 'SNAPSHOT';
      readonly at: number;
    }
  | {
      readonly type: 'OldPrimaryDemoted';
      readonly promotionId: PromotionId;
      readonly epoch: bigint;
      readonly at: number;
    }
  | {
      readonly type: 'DivergentTailRecorded';
      readonly promotionId: PromotionId;
      readonly tail: DivergentTail;
      readonly at: number;
    }
  | {
      readonly type: 'ReverseReplicationStarted';
      readonly promotionId: PromotionId;
      readonly at: number;
    }
  | { readonly type: 'DemotionCancelled'; readonly promotionId: PromotionId; readonly at: number }
  | {
      readonly type: 'PromotionCompleted';
      readonly promotionId: PromotionId;
      /** False while a failover's old primary was not reached: OldPrimaryReturned resumes. */
      readonly oldPrimaryResolved: boolean;
      readonly at: number;
    }
  | {
      readonly type: 'PromotionFailed';
      readonly promotionId: PromotionId;
      readonly reason: string;
      readonly at: number;
    };

export type OldPrimaryState = 'SERVING' | 'DEMOTING' | 'FENCED' | 'UNREACHABLE' | 'DEMOTED';

export interface Promotion {
  readonly status: 'RUNNING' | 'COMPLETED' | 'FAILED';
  readonly promotionId: PromotionId;
  readonly mode: PromotionMode;
  readonly pair: PromotionPair;
  readonly epoch: bigint;
  readonly nextEpoch: bigint;
  readonly startedAt: number;
  /** The step started last; with `stepDone` false it has not reported back yet. */
  readonly step: PromotionStep | undefined;
  readonly stepDone: boolean;
  readonly attempt: number;
  readonly action: PromotionAction | undefined;
  readonly markerSequence: bigint | undefined;
  readonly failoverPoint: FailoverPoint | undefined;
  readonly oldPrimary: OldPrimaryState;
  /** The old primary holds events past the failover point (undefined: not known yet). */
  readonly divergent: boolean | undefined;
  readonly tail: DivergentTail | undefined;
  readonly replicaPromoted: boolean;
  readonly failure: string | undefined;
  readonly endedAt: number | undefined;
}

export type PromotionState =
  { readonly status: 'IDLE' } | (Promotion & { readonly interrupted?: PromotionId });

export const initialState: PromotionState = { status: 'IDLE' };

/** What DescribeBroker shows while a promotion runs (DataReplicationMetadata.Promotion). */
export function promotionView(
  state: PromotionState,
): { readonly mode: PromotionMode; readonly step: string; readonly startedAt: number } | undefined {
  if (state.status !== 'RUNNING') return undefined;
  return { mode: state.mode, step: state.step ?? 'REQUESTED', startedAt: state.startedAt };
}

/** The action to run now: the step started and not reported, after a crash as before it. */
export function pendingAction(state: PromotionState): PromotionAction | undefined {
  if (state.status !== 'RUNNING' || state.stepDone) return undefined;
  return state.action;
}

const started = (
  state: Promotion,
  step: PromotionStep,
  at: number,
  attempt = 1,
): PromotionEvent => ({
  type: 'StepStarted',
  promotionId: state.promotionId,
  step,
  action: actionFor(step, state),
  attempt,
  at,
});

/** The events a command causes; throws a typed error when it is refused. */
export function decide(command: PromotionCommand, state: PromotionState): PromotionEvent[] {
  switch (command.type) {
    case 'StartSwitchover':
    case 'StartFailover':
      return start(command, state);
    case 'StepSucceeded':
      return succeeded(command, state);
    case 'StepFailed':
      return failed(command, state);
    case 'OldPrimaryReturned': {
      if (state.status === 'IDLE' || state.promotionId !== command.promotionId) return [];
      if (state.mode !== 'FAILOVER' || state.oldPrimary !== 'UNREACHABLE') return [];
      if (state.status === 'RUNNING' && !state.stepDone) return [];
      return [started(state, 'FENCING_OLD_PRIMARY', command.at)];
    }
  }
}

function start(
  command: Extract<PromotionCommand, { type: 'StartSwitchover' | 'StartFailover' }>,
  state: PromotionState,
): PromotionEvent[] {
  const mode: PromotionMode = command.type === 'StartSwitchover' ? 'SWITCHOVER' : 'FAILOVER';
  if (command.pair.primary.brokerId === command.pair.replica.brokerId) {
    throw badRequest('the replica and the primary of a promotion must be different brokers');
  }
  let epoch = command.epoch;
  const events: PromotionEvent[] = [];
  if (state.status === 'RUNNING') {
    if (state.promotionId === command.promotionId) return [];
    if (mode === 'SWITCHOVER') {
      throw conflict(
        `a ${state.mode.toLowerCase()} (${state.promotionId}) of this pair is in progress at step ${state.step ?? 'REQUESTED'}; a switchover is refused until it ends`,
        { details: { promotionId: state.promotionId, mode: state.mode } },
      );
    }
    if (state.mode === 'FAILOVER') {
      throw conflict(`a failover (${state.promotionId}) of this pair is already in progress`, {
        details: { promotionId: state.promotionId, mode: state.mode },
      });
    }
    // A failover interrupts a running switchover. Its epoch is the switchover's next one: no
    // broker holds it as a primary unless the switchover promoted the replica already, and
    // promoting it again with that epoch is the same promotion.
    epoch = state.epoch;
    events.push({
      type: 'PromotionInterrupted',
      promotionId: state.promotionId,
      by: command.promotionId,
      at: command.at,
    });
  } else if (state.status !== 'IDLE' && state.promotionId === command.promotionId) {
    return [];
  }
  const requested: PromotionEvent = {
    type: 'PromotionRequested',
    promotionId: command.promotionId,
    mode,
    pair: command.pair,
    epoch,
    nextEpoch: epoch + 1n,
    at: command.at,
  };
  const next = evolve(initialState, requested) as Promotion;
  const first: PromotionStep = mode === 'SWITCHOVER' ? 'DEMOTING_PRIMARY' : 'STOPPING_REPLICATOR';
  events.push(requested, started(next, first, command.at));
  return events;
}

function current(
  command: { readonly promotionId: PromotionId; readonly step: PromotionStep },
  state: PromotionState,
): Promotion | undefined {
  if (state.status !== 'RUNNING' || state.promotionId !== command.promotionId) return undefined;
  // A report of a step already recorded, or of another step, changes nothing (idempotent).
  if (state.step !== command.step || state.stepDone) return undefined;
  return state;
}

function succeeded(
  command: Extract<PromotionCommand, { type: 'StepSucceeded' }>,
  state: PromotionState,
): PromotionEvent[] {
  const s = current(command, state);
  if (s === undefined) return [];
  const at = command.at;
  const done = stepEvent(s, command.step, command.result, at);
  const after = evolveAll(s, done) as Promotion;
  return [...done, ...next(after, at)];
}

/** The step's own event, from the adapter's result. */
function stepEvent(
  s: Promotion,
  step: PromotionStep,
  result: StepResult,
  at: number,
): PromotionEvent[] {
  const { promotionId } = s;
  switch (step) {
    case 'DEMOTING_PRIMARY': {
      const r = expectResult(result, 'demotion', step);
      return [
        {
          type: 'DemotionStarted',
          promotionId,
          markerSequence: r.sequence,
          generation: r.generation,
          at,
        },
      ];
    }
    case 'WAITING_FOR_REPLICA': {
      const r = expectResult(result, 'caught-up', step);
      return [{ type: 'ReplicaCaughtUp', promotionId, sequence: r.sequence, at }];
    }
    case 'STOPPING_REPLICATOR':
      return [{ type: 'ReplicatorStopped', promotionId, at }];
    case 'READING_FAILOVER_POINT': {
      const r = expectResult(result, 'failover-point', step);
      return [{ type: 'FailoverPointRecorded', promotionId, point: r.point, at }];
    }
    case 'FENCING_OLD_PRIMARY': {
      const r = expectResult(result, 'fenced', step);
      const f = s.failoverPoint;
      // Identical only when the old primary's log is the very one the replica applied, and
      // it ends where the replica stopped.
      const divergent =
        f === undefined ||
        r.logGeneration !== f.generation ||
        r.logLastSequence !== f.sequence ||
        f.sourceBrokerId !== s.pair.primary.brokerId;
      return [
        {
          type: 'OldPrimaryFenced',
          promotionId,
          divergent,
          logGeneration: r.logGeneration,
          logLastSequence: r.logLastSequence,
          at,
        },
      ];
    }
    case 'PROMOTING_REPLICA': {
      const action = s.action;
      const logStart = action?.type === 'PromoteReplica' ? action.logStart : 'SNAPSHOT';
      return [{ type: 'ReplicaPromoted', promotionId, epoch: s.nextEpoch, logStart, at }];
    }
    case 'DEMOTING_OLD_PRIMARY':
      return [{ type: 'OldPrimaryDemoted', promotionId, epoch: s.nextEpoch, at }];
    case 'RECORDING_DIVERGENT_TAIL': {
      const r = expectResult(result, 'tail', step);
      return [{ type: 'DivergentTailRecorded', promotionId, tail: r.tail, at }];
    }
    case 'STARTING_REVERSE_REPLICATION':
      return [{ type: 'ReverseReplicationStarted', promotionId, at }];
    case 'CANCELLING_DEMOTION':
      return [
        { type: 'DemotionCancelled', promotionId, at },
        {
          type: 'PromotionFailed',
          promotionId,
          reason: s.failure ?? 'the switchover was cancelled',
          at,
        },
      ];
  }
}

/** What follows once the current step is recorded done. */
function next(s: Promotion, at: number): PromotionEvent[] {
  if (s.status !== 'RUNNING') return [];
  const step = s.step;
  const complete = (oldPrimaryResolved: boolean): PromotionEvent[] => [
    { type: 'PromotionCompleted', promotionId: s.promotionId, oldPrimaryResolved, at },
  ];
  if (s.mode === 'SWITCHOVER') {
    switch (step) {
      case 'DEMOTING_PRIMARY':
        return [started(s, 'WAITING_FOR_REPLICA', at)];
      case 'WAITING_FOR_REPLICA':
        return [started(s, 'STOPPING_REPLICATOR', at)];
      case 'STOPPING_REPLICATOR':
        return [started(s, 'PROMOTING_REPLICA', at)];
      case 'PROMOTING_REPLICA':
        return [started(s, 'DEMOTING_OLD_PRIMARY', at)];
      case 'DEMOTING_OLD_PRIMARY':
        return [started(s, 'STARTING_REVERSE_REPLICATION', at)];
      case 'STARTING_REVERSE_REPLICATION':
        return complete(true);
      default:
        return [];
    }
  }
  switch (step) {
    case 'STOPPING_REPLICATOR':
      return [started(s, 'READING_FAILOVER_POINT', at)];
    case 'READING_FAILOVER_POINT':
      return [started(s, 'FENCING_OLD_PRIMARY', at)];
    case 'FENCING_OLD_PRIMARY':
      if (!s.replicaPromoted) return [started(s, 'PROMOTING_REPLICA', at)];
      return s.divergent === true
        ? [started(s, 'RECORDING_DIVERGENT_TAIL', at)]
        : [started(s, 'STARTING_REVERSE_REPLICATION', at)];
    case 'PROMOTING_REPLICA':
      if (s.oldPrimary === 'UNREACHABLE') return complete(false);
      return s.divergent === true
        ? [started(s, 'RECORDING_DIVERGENT_TAIL', at)]
        : [started(s, 'STARTING_REVERSE_REPLICATION', at)];
    case 'RECORDING_DIVERGENT_TAIL':
      return [started(s, 'STARTING_REVERSE_REPLICATION', at)];
    case 'STARTING_REVERSE_REPLICATION':
      return complete(true);
    default:
      return [];
  }
}

function failed(
  command: Extract<PromotionCommand, { type: 'StepFailed' }>,
  state: PromotionState,
): PromotionEvent[] {
  const s = current(command, state);
  if (s === undefined) return [];
  const at = command.at;
  const recorded: PromotionEvent = {
    type: 'StepFailed',
    promotionId: s.promotionId,
    step: command.step,
    error: command.error,
    attempt: s.attempt,
    at,
  };
  // A failover does not need its old primary: not reached, it is fenced when it returns.
  if (s.mode === 'FAILOVER' && command.step === 'FENCING_OLD_PRIMARY') {
    const unreachable: PromotionEvent = {
      type: 'OldPrimaryUnreachable',
      promotionId: s.promotionId,
      reason: command.error,
      at,
    };
    const after = evolveAll(s, [recorded, unreachable]) as Promotion;
    if (after.replicaPromoted) {
      return [
        recorded,
        unreachable,
        { type: 'PromotionCompleted', promotionId: s.promotionId, oldPrimaryResolved: false, at },
      ];
    }
    return [recorded, unreachable, started(after, 'PROMOTING_REPLICA', at)];
  }
  // Once the replica is primary there is no way back: what remains is retried until it works.
  if (command.retryable || s.replicaPromoted || command.step === 'CANCELLING_DEMOTION') {
    return [recorded, started(s, command.step, at, s.attempt + 1)];
  }
  const reason = `step ${command.step} failed: ${command.error}`;
  if (s.mode === 'SWITCHOVER' && s.oldPrimary === 'DEMOTING') {
    const after = evolveAll(s, [recorded]) as Promotion;
    return [recorded, started(after, 'CANCELLING_DEMOTION', at)];
  }
  return [recorded, { type: 'PromotionFailed', promotionId: s.promotionId, reason, at }];
}

function expectResult<K extends StepResult['kind']>(
  result: StepResult,
  kind: K,
  step: PromotionStep,
): Extract<StepResult, { kind: K }> {
  if (result.kind !== kind) {
    throw badRequest(`step ${step} reports a ${kind} result, not ${result.kind}`);
  }
  return result as Extract<StepResult, { kind: K }>;
}

function evolveAll(state: PromotionState, events: readonly PromotionEvent[]): PromotionState {
  return events.reduce(evolve, state);
}

/** The state after `event`. */
export function evolve(state: PromotionState, event: PromotionEvent): PromotionState {
  if (event.type === 'PromotionRequested') {
    const interrupted =
      state.status === 'RUNNING' && state.promotionId !== event.promotionId
        ? state.promotionId
        : undefined;
    const carried = state.status === 'RUNNING' ? state : undefined;
    return {
      status: 'RUNNING',
      promotionId: event.promotionId,
      mode: event.mode,
      pair: event.pair,
      epoch: event.epoch,
      nextEpoch: event.nextEpoch,
      startedAt: event.at,
      step: undefined,
      stepDone: true,
      attempt: 0,
      action: undefined,
      markerSequence: undefined,
      failoverPoint: undefined,
      // An interrupted switchover may have demoted the primary already.
      oldPrimary: carried?.oldPrimary ?? 'SERVING',
      divergent: undefined,
      tail: undefined,
      replicaPromoted: carried?.replicaPromoted ?? false,
      failure: undefined,
      endedAt: undefined,
      ...(interrupted === undefined ? {} : { interrupted }),
    };
  }
  if (state.status === 'IDLE') return state;
  if (event.type === 'PromotionInterrupted') return state;
  if (event.promotionId !== state.promotionId) return state;
  switch (event.type) {
    case 'StepStarted':
      return {
        ...state,
        status: 'RUNNING',
        step: event.step,
        stepDone: false,
        attempt: event.attempt,
        action: event.action,
      };
    case 'StepFailed':
      return { ...state, stepDone: true, failure: `step ${event.step} failed: ${event.error}` };
    case 'DemotionStarted':
      return {
        ...state,
        stepDone: true,
        oldPrimary: 'DEMOTING',
        markerSequence: event.markerSequence,
      };
    case 'ReplicaCaughtUp':
    case 'ReplicatorStopped':
    case 'ReverseReplicationStarted':
      return { ...state, stepDone: true };
    case 'FailoverPointRecorded':
      return { ...state, stepDone: true, failoverPoint: event.point };
    case 'OldPrimaryFenced':
      return { ...state, stepDone: true, oldPrimary: 'FENCED', divergent: event.divergent };
    case 'OldPrimaryUnreachable':
      return { ...state, stepDone: true, oldPrimary: 'UNREACHABLE' };
    case 'ReplicaPromoted':
      return { ...state, stepDone: true, replicaPromoted: true };
    case 'OldPrimaryDemoted':
      return { ...state, stepDone: true, oldPrimary: 'DEMOTED' };
    case 'DivergentTailRecorded':
      return { ...state, stepDone: true, tail: event.tail };
    case 'DemotionCancelled':
      return { ...state, stepDone: true, oldPrimary: 'SERVING' };
    case 'PromotionCompleted':
      return { ...state, status: 'COMPLETED', stepDone: true, endedAt: event.at };
    case 'PromotionFailed':
      return {
        ...state,
        status: 'FAILED',
        stepDone: true,
        failure: event.reason,
        endedAt: event.at,
      };
  }
}
