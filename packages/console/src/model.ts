import type { controlPlaneV1 } from '@crdr/proto';

export type BrokerDescription = controlPlaneV1.DescribeBrokerResponse__Output;
export type BrokerSummary = controlPlaneV1.BrokerSummary__Output;

/** The recent replication lag of one broker, as the console samples it. */
export interface LagView {
  /** `ReplicationLag` for a replica, `TotalReplicationLag` for a primary. */
  readonly metric: string;
  /** Oldest first, milliseconds. */
  readonly points: readonly number[];
  readonly lastLagMs?: number;
  /** Events in the replication log not yet applied (replica) or acknowledged (primary). */
  readonly pendingEvents?: number;
  /** Where the figures come from: `metrics`, `replicator` or `broker`. */
  readonly source: string;
  /** Why the last sample failed, if it did. */
  readonly error?: string;
}

/** One step of a promotion saga, as the console saw it in DescribeBroker. */
export interface PromotionStepSeen {
  readonly mode: string;
  readonly step: string;
  /** ISO 8601, when the console first saw this step. */
  readonly seenAt: string;
}

/** A brokers-list row: the summary, its description when it could be read, and its lag. */
export interface BrokerRow {
  readonly summary: BrokerSummary;
  readonly description?: BrokerDescription;
  readonly lag?: LagView;
}
