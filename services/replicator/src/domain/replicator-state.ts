/** The states of ReplicatorService's `ReplicatorState`, without the unspecified zero. */
export type ReplicatorState = 'CONNECTING' | 'RUNNING' | 'PAUSED' | 'FAILED';

/** What the replicator knows about itself, as GetStatus reports it. */
export interface ReplicatorStatus {
  readonly state: ReplicatorState;
  readonly appliedSequence: bigint;
  readonly appliedEpoch: bigint;
  /** TC of the last applied event (epoch ms); 0 when none. */
  readonly lastCreatedAtMs: number;
  /** TP: when the last event was applied here (epoch ms); 0 when none. */
  readonly lastAppliedAtMs: number;
  /** Events in the log not applied yet, as the consumer last counted them. */
  readonly pendingCount: number;
  /** The newest sequence known to be in the log. */
  readonly lastKnownSequence: bigint;
  /** Why the state is FAILED or CONNECTING; empty otherwise. */
  readonly error: string;
}

/** The replica store's record of the last applied event, written with the changes it made. */
export interface AppliedRecord {
  /** The primary whose log the sequence counts. */
  readonly sourceBrokerId: string;
  readonly sequence: bigint;
  readonly epoch: bigint;
  /** TC of the last applied event (epoch ms). */
  readonly lastCreatedAtMs: number;
  /** TP: when it was applied (epoch ms). */
  readonly lastAppliedAtMs: number;
}
