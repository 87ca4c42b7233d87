import type { BrokerId } from './broker.types.js';
import type {
  DivergentTail,
  FailoverPoint,
  PairMember,
  Promotion,
  PromotionId,
} from './promotion.saga.js';

/** The saga's steps, as DescribeBroker shows them (DataReplicationMetadata.Promotion.Step). */
export type PromotionStep =
  | 'DEMOTING_PRIMARY'
  | 'WAITING_FOR_REPLICA'
  | 'STOPPING_REPLICATOR'
  | 'READING_FAILOVER_POINT'
  | 'FENCING_OLD_PRIMARY'
  | 'PROMOTING_REPLICA'
  | 'DEMOTING_OLD_PRIMARY'
  | 'RECORDING_DIVERGENT_TAIL'
  | 'STARTING_REVERSE_REPLICATION'
  | 'CANCELLING_DEMOTION';

/**
 * What an adapter runs for a step, with the broker and replicator calls it maps to. Every one is
 * idempotent, so a step interrupted by a crash is simply run again.
 */
export type PromotionAction =
  /** BrokerAdminService.BeginDemotion on the primary → {sequence, generation}. */
  | {
      readonly type: 'BeginDemotion';
      readonly brokerId: BrokerId;
      readonly promotionId: PromotionId;
      readonly nextEpoch: bigint;
      readonly newPrimary: PairMember;
    }
  /**
   * ReplicatorService.WaitForSequence(sequence) on the replica's replicator, then
   * GetStateDigest on both brokers: equal digests at `sequence` → {sequence}.
   */
  | {
      readonly type: 'WaitForReplica';
      readonly replicaBrokerId: BrokerId;
      readonly primaryBrokerId: BrokerId;
      readonly sequence: bigint;
    }
  /** Stops the replica's replicator process (done when it is not running). */
  | { readonly type: 'StopReplicator'; readonly replicaBrokerId: BrokerId }
  /** BrokerAdminService.GetRole on the replica → `applied` {source, generation, sequence}. */
  | { readonly type: 'ReadFailoverPoint'; readonly brokerId: BrokerId }
  /**
   * SetRole(REPLICA, epoch, primary) on the old primary with a short deadline, then GetRole →
   * {log_generation, log_last_sequence}; unreachable: StepFailed.
   */
  | {
      readonly type: 'FenceOldPrimary';
      readonly brokerId: BrokerId;
      readonly epoch: bigint;
      readonly primary: PairMember;
    }
  /** SetRole(PRIMARY, epoch, CRDR, log_start) on the replica. */
  | {
      readonly type: 'PromoteReplica';
      readonly brokerId: BrokerId;
      readonly epoch: bigint;
      readonly logStart: 'EMPTY' | 'SNAPSHOT';
    }
  /** SetRole(REPLICA, epoch, primary) on the old primary (a switchover's last broker call). */
  | {
      readonly type: 'DemoteOldPrimary';
      readonly brokerId: BrokerId;
      readonly epoch: bigint;
      readonly primary: PairMember;
    }
  /**
   * ListLogEvents(generation, after_sequence) on the old primary, every page → the summary
   * DescribeBroker shows (count, sequence range, destinations).
   */
  | {
      readonly type: 'RecordDivergentTail';
      readonly brokerId: BrokerId;
      readonly after: FailoverPoint;
    }
  /**
   * Provisions the old primary's durable consumer on the new primary's stream and starts the
   * old primary's replicator on it (the new log tells it whether to resync).
   */
  | {
      readonly type: 'StartReplicator';
      readonly primaryBrokerId: BrokerId;
      readonly replicaBrokerId: BrokerId;
    }
  /** SetRole(PRIMARY, epoch) on the demoting primary: it serves again with its log. */
  | { readonly type: 'CancelDemotion'; readonly brokerId: BrokerId; readonly epoch: bigint };

/** What an adapter reports when a step's action worked. */
export type StepResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'demotion'; readonly sequence: bigint; readonly generation: bigint }
  | { readonly kind: 'caught-up'; readonly sequence: bigint }
  | { readonly kind: 'failover-point'; readonly point: FailoverPoint }
  | { readonly kind: 'fenced'; readonly logGeneration: bigint; readonly logLastSequence: bigint }
  | { readonly kind: 'tail'; readonly tail: DivergentTail };

/** The action of `step` in the promotion as it stands. */
export function actionFor(step: PromotionStep, s: Promotion): PromotionAction {
  const { primary, replica } = s.pair;
  switch (step) {
    case 'DEMOTING_PRIMARY':
      return {
        type: 'BeginDemotion',
        brokerId: primary.brokerId,
        promotionId: s.promotionId,
        nextEpoch: s.nextEpoch,
        newPrimary: replica,
      };
    case 'WAITING_FOR_REPLICA':
      return {
        type: 'WaitForReplica',
        replicaBrokerId: replica.brokerId,
        primaryBrokerId: primary.brokerId,
        sequence: s.markerSequence ?? 0n,
      };
    case 'STOPPING_REPLICATOR':
      return { type: 'StopReplicator', replicaBrokerId: replica.brokerId };
    case 'READING_FAILOVER_POINT':
      return { type: 'ReadFailoverPoint', brokerId: replica.brokerId };
    case 'FENCING_OLD_PRIMARY':
      return {
        type: 'FenceOldPrimary',
        brokerId: primary.brokerId,
        epoch: s.nextEpoch,
        primary: replica,
      };
    case 'PROMOTING_REPLICA':
      return {
        type: 'PromoteReplica',
        brokerId: replica.brokerId,
        epoch: s.nextEpoch,
        // Without a snapshot only when the old primary is known identical: a switchover, or
        // a failover whose fenced old primary holds nothing past the failover point.
        logStart:
          s.mode === 'SWITCHOVER' || (s.oldPrimary === 'FENCED' && s.divergent === false)
            ? 'EMPTY'
            : 'SNAPSHOT',
      };
    case 'DEMOTING_OLD_PRIMARY':
      return {
        type: 'DemoteOldPrimary',
        brokerId: primary.brokerId,
        epoch: s.nextEpoch,
        primary: replica,
      };
    case 'RECORDING_DIVERGENT_TAIL':
      return {
        type: 'RecordDivergentTail',
        brokerId: primary.brokerId,
        after: s.failoverPoint ?? {
          sourceBrokerId: primary.brokerId,
          generation: 0n,
          sequence: 0n,
        },
      };
    case 'STARTING_REVERSE_REPLICATION':
      return {
        type: 'StartReplicator',
        primaryBrokerId: replica.brokerId,
        replicaBrokerId: primary.brokerId,
      };
    case 'CANCELLING_DEMOTION':
      return { type: 'CancelDemotion', brokerId: primary.brokerId, epoch: s.epoch };
  }
}
