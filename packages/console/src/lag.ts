import type { brokerV1, replicatorV1 } from '@crdr/proto';

/** How many samples a sparkline shows. */
export const lagPointsKept = 60;

/**
 * ReplicationLag as the metrics define it (docs/architecture.md, "Metrics"): TP − TC of the last
 * applied event while events are pending, 0 when none is.
 */
export function replicaLagMs(status: replicatorV1.GetStatusResponse__Output): number {
  const pending = Number(status.pendingCount);
  if (pending === 0) return 0;
  const appliedAt = Number(status.lastAppliedAtMs);
  const createdAt = Number(status.lastCreatedAtMs);
  return appliedAt > 0 && createdAt > 0 ? Math.max(0, appliedAt - createdAt) : 0;
}

/** TotalReplicationLag: TA − TC of the last acknowledged event while events are unacknowledged. */
export function primaryLagMs(status: brokerV1.GetReplicationStatusResponse__Output): {
  readonly lagMs: number;
  readonly pendingEvents: number;
} {
  let lagMs = 0;
  let pendingEvents = 0;
  for (const replica of status.replicas) {
    const pending = Number(replica.pendingCount);
    pendingEvents = Math.max(pendingEvents, pending);
    if (pending === 0) continue;
    const ackAt = Number(replica.acknowledgedAtMs);
    const createdAt = Number(replica.acknowledgedCreatedAtMs);
    if (ackAt > 0 && createdAt > 0) lagMs = Math.max(lagMs, ackAt - createdAt);
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
