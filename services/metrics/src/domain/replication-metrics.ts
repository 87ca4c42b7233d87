/**
 * The CRDR metrics (docs/architecture.md, "Metrics"), computed from what a primary broker and a
 * replicator report. TC = event created on the primary, TP = applied on the replica, TA =
 * acknowledged back to the primary; all epoch milliseconds, 0 when not known. `nowMs` is passed
 * in so that the figures depend on no clock.
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
  /** Per destination: TC and TP of the last applied event that changed it. */
  readonly destinations?: ReadonlyArray<{
    readonly destination: string;
    readonly lastCreatedAtMs: number;
    readonly lastAppliedAtMs: number;
  }>;
}

export interface PrimaryReplicationMetrics {
  /** Undefined while no replica has acknowledged any event (the lag has no defined value). */
  readonly totalReplicationLagMs: number | undefined;
  /** Undefined while the log holds no event. */
  readonly primaryWaitTimeMs: number | undefined;
  readonly replicationQueueSize: number;
}

export interface ReplicaReplicationMetrics {
  /** Undefined while events are pending and none was ever applied. */
  readonly replicationLagMs: number | undefined;
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
 * The primary's metrics. With several replicas (several consumers of one log) each figure is
 * the worst replica's: the one an operator must watch.
 */
export function primaryReplicationMetrics(
  log: PrimaryLogFigures,
  nowMs: number,
): PrimaryReplicationMetrics {
  let totalReplicationLagMs: number | undefined;
  let queueSize = 0n;
  for (const replica of log.replicas) {
    const pending = unacknowledged(log, replica);
    if (pending > queueSize) queueSize = pending;
    let lagMs: number | undefined;
    if (pending === 0n) lagMs = 0;
    else if (replica.acknowledgedCreatedAtMs > 0 && replica.acknowledgedAtMs > 0)
      lagMs = nonNegative(replica.acknowledgedAtMs - replica.acknowledgedCreatedAtMs);
    if (
      lagMs !== undefined &&
      (totalReplicationLagMs === undefined || lagMs > totalReplicationLagMs)
    )
      totalReplicationLagMs = lagMs;
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

/**
 * The replica's metrics. Per destination, the lag is the replica's lag restricted to the events
 * that changed the destination: TP - TC of the last applied one while events are pending, 0 when
 * none is.
 */
export function replicaReplicationMetrics(
  figures: ReplicatorFigures,
  nowMs: number,
): ReplicaReplicationMetrics {
  const pending = replicatorPending(figures);
  const applied = figures.lastAppliedAtMs > 0 && figures.lastCreatedAtMs > 0;
  const replicationLagMs =
    pending === 0n
      ? 0
      : applied
        ? nonNegative(figures.lastAppliedAtMs - figures.lastCreatedAtMs)
        : undefined;
  return {
    replicationLagMs,
    replicaWaitTimeMs:
      figures.lastAppliedAtMs > 0 ? nonNegative(nowMs - figures.lastAppliedAtMs) : undefined,
    replicationQueueSize: Number(pending),
    destinations: (figures.destinations ?? []).map((d) => ({
      destination: d.destination,
      lagMs: pending === 0n ? 0 : nonNegative(d.lastAppliedAtMs - d.lastCreatedAtMs),
    })),
  };
}
