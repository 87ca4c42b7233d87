/** The states of ReplicatorService's `ReplicatorState`, without the unspecified zero. */
export type ReplicatorState = 'CONNECTING' | 'RUNNING' | 'PAUSED' | 'FAILED';

/** What the replicator knows about itself, as GetStatus reports it. */
export interface ReplicatorStatus {
  readonly state: ReplicatorState;
  readonly appliedSequence: bigint;
  readonly appliedEpoch: bigint;
  /** The generation of the primary's log being applied (0: not known). */
  readonly appliedGeneration: bigint;
  /** TC of the last applied event (epoch ms); 0 when none. */
  readonly lastCreatedAtMs: number;
  /** TP: when the last event was applied here (epoch ms); 0 when none. */
  readonly lastAppliedAtMs: number;
  /** Events in the log not applied yet, as the consumer last counted them. */
  readonly pendingCount: number;
  /** The newest sequence known to be in the log. */
  readonly lastKnownSequence: bigint;
  /**
   * TC (epoch ms) of the oldest event of the log not applied yet, as far as known (else when
   * events were first seen waiting); 0 when none waits.
   */
  readonly oldestPendingCreatedAtMs?: number;
  /** Why the state is FAILED or CONNECTING; empty otherwise. */
  readonly error: string;
  /** Per destination, TC and TP of the last applied event that changed it (metrics). */
  readonly destinations?: ReadonlyArray<{
    readonly destination: string;
    readonly lastCreatedAtMs: number;
    readonly lastAppliedAtMs: number;
  }>;
}

/** The replica store's record of the last applied event, written with the changes it made. */
export interface AppliedRecord {
  /** The primary whose log the sequence counts. */
  readonly sourceBrokerId: string;
  /** Which of its logs (from the log's LogStarted event; 0: not known). */
  readonly generation?: bigint;
  readonly sequence: bigint;
  readonly epoch: bigint;
  /** TC of the last applied event (epoch ms). */
  readonly lastCreatedAtMs: number;
  /** TP: when it was applied (epoch ms). */
  readonly lastAppliedAtMs: number;
}
