import type { brokerV1, replicatorV1 } from '@crdr/proto';

/** How many samples a sparkline shows. */
export const lagPointsKept = 60;

/**
 * ReplicationLag as the metrics define it (docs/architecture.md, "Metrics"): how far behind, now − TC
 * of the oldest event not applied yet, 0 when none waits.
 */
export function replicaLagMs(
  status: replicatorV1.GetStatusResponse__Output,
  nowMs: number = Date.now(),
): number {
  const behind = Number(status.lastKnownSequence) - Number(status.appliedSequence);
  const pending = Math.max(behind, Number(status.pendingCount));
  if (pending <= 0) return 0;
  const oldest = Number(status.oldestPendingCreatedAtMs);
  return oldest > 0 ? Math.max(0, nowMs - oldest) : 0;
}

/**
 * TotalReplicationLag: how far behind the most behind replica is, now − TC of the oldest event it
 * has not acknowledged, 0 when none waits.
 */
export function primaryLagMs(
  status: brokerV1.GetReplicationStatusResponse__Output,
  nowMs: number = Date.now(),
): {
  readonly lagMs: number;
  readonly pendingEvents: number;
} {
  let lagMs = 0;
  let pendingEvents = 0;
  for (const replica of status.replicas) {
    const behind = Number(status.lastSequence) - Number(replica.acknowledgedSequence);
    const pending = Math.max(behind, Number(replica.pendingCount));
    pendingEvents = Math.max(pendingEvents, pending);
    if (pending <= 0) continue;
    const oldest = Number(replica.oldestUnacknowledgedCreatedAtMs);
    if (oldest > 0) lagMs = Math.max(lagMs, nowMs - oldest);
  }
  return { lagMs, pendingEvents };
}

/** A bounded series of recent figures, oldest first. */
export class LagSeries {
  readonly #points: number[] = [];

  push(value: number): void {
    this.#points.push(value);
    if (this.#points.length > lagPointsKept)
      this.#points.splice(0, this.#points.length - lagPointsKept);
  }

  get points(): readonly number[] {
    return this.#points;
  }
}
