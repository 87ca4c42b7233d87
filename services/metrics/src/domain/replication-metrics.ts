import { replicationLagMs, type PairProgress } from '@crdr/replication';

/**
 * The CRDR metrics (docs/architecture.md, "Metrics"), computed from what a primary broker and a
 * replicator report. TC = event created on the primary, TP = applied on the replica, TA =
 * acknowledged back to the primary; all epoch milliseconds, 0 when not known. `nowMs` is passed
 * in so that the figures depend on no clock.
 *
 * Both lags mean "how far behind": now − TC of the oldest event committed on the primary and not
 * yet applied (acknowledged) on the replica, 0 when none waits. They grow every second while
 * replication is stopped, whatever stopped it.
 */

/** One replica's durable consumer of a primary's log, as the primary sees it. */
export interface ReplicaAcknowledgementFigures {
  readonly consumer: string;
  readonly acknowledgedSequence: bigint;
  /** TC of the last acknowledged event. */
  readonly acknowledgedCreatedAtMs: number;
  /** TA of the last acknowledged event. */
  readonly acknowledgedAtMs: number;
  readonly pendingCount: bigint;
  /** TC of the oldest event written to the log and not acknowledged; 0 when none or not known. */
  readonly oldestUnacknowledgedCreatedAtMs?: number;
}

/** A primary's side of its log (BrokerAdminService.GetReplicationStatus). */
export interface PrimaryLogFigures {
  readonly lastSequence: bigint;
  /** TC of the last event written. */
  readonly lastCreatedAtMs: number;
  readonly replicas: readonly ReplicaAcknowledgementFigures[];
}

/** A replicator's progress (ReplicatorService.GetStatus). */
export interface ReplicatorFigures {
  readonly appliedSequence: bigint;
  /** TC of the last applied event. */
  readonly lastCreatedAtMs: number;
  /** TP of the last applied event. */
  readonly lastAppliedAtMs: number;
  /** Events of the log not yet applied, as the consumer counts them. */
  readonly pendingCount: bigint;
  /** The newest sequence the replicator knows the log holds. */
  readonly lastKnownSequence: bigint;
  /** TC of the oldest event not applied yet (else when events were first seen waiting); 0: none. */
  readonly oldestPendingCreatedAtMs?: number;
  /** CONNECTING, RUNNING, PAUSED or FAILED. */
  readonly state?: string;
  /** Why the state is FAILED or CONNECTING. */
  readonly error?: string;
  /** Per destination: TC and TP of the last applied event that changed it. */
  readonly destinations?: ReadonlyArray<{
    readonly destination: string;
    readonly lastCreatedAtMs: number;
    readonly lastAppliedAtMs: number;
  }>;
}

export interface PrimaryReplicationMetrics {
  /** The worst replica's lag; 0 when every replica has everything (or none is known yet). */
  readonly totalReplicationLagMs: number;
  /** Undefined while the log holds no event. */
  readonly primaryWaitTimeMs: number | undefined;
  readonly replicationQueueSize: number;
}

export interface ReplicaReplicationMetrics {
  readonly replicationLagMs: number;
  /** Undefined while no event was ever applied. */
  readonly replicaWaitTimeMs: number | undefined;
  readonly replicationQueueSize: number;
  readonly destinations: ReadonlyArray<{ readonly destination: string; readonly lagMs: number }>;
}

const nonNegative = (ms: number): number => (ms > 0 ? ms : 0);

/** The unacknowledged events of one replica's consumer: written to the log, not yet acknowledged. */
function unacknowledged(log: PrimaryLogFigures, replica: ReplicaAcknowledgementFigures): bigint {
  const behind = log.lastSequence - replica.acknowledgedSequence;
  const counted = behind > 0n ? behind : 0n;
  return counted > replica.pendingCount ? counted : replica.pendingCount;
}

/**
 * One replica's progress as the primary sees it: events written and not acknowledged, the TC of
 * the oldest of them, and when the acknowledgement last advanced.
 */
export function primarySideProgress(
  log: PrimaryLogFigures,
  replica: ReplicaAcknowledgementFigures,
): PairProgress {
  const behind = log.lastSequence - replica.acknowledgedSequence;
  const waitingEvents = behind > 0n ? behind : 0n;
  // The broker could not read the oldest waiting event's TC: the newest one's is a lower bound.
  const oldest = replica.oldestUnacknowledgedCreatedAtMs ?? 0;
  return {
    waitingEvents,
    oldestWaitingCreatedAtMs: oldest > 0 ? oldest : log.lastCreatedAtMs,
    lastProgressAtMs: replica.acknowledgedAtMs,
  };
}

/**
 * The primary's metrics. With several replicas (several consumers of one log) each figure is
 * the worst replica's: the one an operator must watch.
 */
export function primaryReplicationMetrics(
  log: PrimaryLogFigures,
  nowMs: number,
): PrimaryReplicationMetrics {
  let totalReplicationLagMs = 0;
  let queueSize = 0n;
  for (const replica of log.replicas) {
    const pending = unacknowledged(log, replica);
    if (pending > queueSize) queueSize = pending;
    const lagMs = replicationLagMs(primarySideProgress(log, replica), nowMs);
    if (lagMs > totalReplicationLagMs) totalReplicationLagMs = lagMs;
  }
  return {
    totalReplicationLagMs,
    primaryWaitTimeMs:
      log.lastCreatedAtMs > 0 ? nonNegative(nowMs - log.lastCreatedAtMs) : undefined,
    replicationQueueSize: Number(queueSize),
  };
}

/** Events of the log the replicator has not applied yet. */
export function replicatorPending(figures: ReplicatorFigures): bigint {
  const behind = figures.lastKnownSequence - figures.appliedSequence;
  const known = behind > 0n ? behind : 0n;
  return known > figures.pendingCount ? known : figures.pendingCount;
}

/** The replica's progress as its replicator tells it. */
export function replicatorProgress(figures: ReplicatorFigures): PairProgress {
  const waitingEvents = replicatorPending(figures);
  const oldest = figures.oldestPendingCreatedAtMs ?? 0;
  return {
    waitingEvents,
    // A replicator that does not say (an older one) waits at least since its last apply.
    oldestWaitingCreatedAtMs: oldest > 0 ? oldest : figures.lastAppliedAtMs,
    lastProgressAtMs: figures.lastAppliedAtMs,
  };
}

/**
 * The replica's metrics. Per destination, the lag is TP - TC of the last applied event that
 * changed the destination while events are pending, 0 when none is.
 */
export function replicaReplicationMetrics(
  figures: ReplicatorFigures,
  nowMs: number,
): ReplicaReplicationMetrics {
  const pending = replicatorPending(figures);
  return {
    replicationLagMs: replicationLagMs(replicatorProgress(figures), nowMs),
    replicaWaitTimeMs:
      figures.lastAppliedAtMs > 0 ? nonNegative(nowMs - figures.lastAppliedAtMs) : undefined,
    replicationQueueSize: Number(pending),
    destinations: (figures.destinations ?? []).map((d) => ({
      destination: d.destination,
      lagMs: pending === 0n ? 0 : nonNegative(d.lastAppliedAtMs - d.lastCreatedAtMs),
    })),
  };
}
