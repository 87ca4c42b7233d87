import type { DecodedEvent } from '@crdr/replication';
import type { Logger } from '@crdr/telemetry';
import type { BackoffBounds } from '../../domain/backoff.js';
import type { AppliedRecord, ReplicatorStatus } from '../../domain/replicator-state.js';
import type { BatchReaderOptions } from './batch-reader.js';
import type { ReplicationSource } from './replication-source.js';

/** The replica's store as the loop sees it (the pg adapter's `ReplicaStore`). */
export interface AppliedStore {
  prepare(): Promise<void>;
  load(): Promise<AppliedRecord | undefined>;
  apply(
    events: readonly DecodedEvent[],
    from: AppliedRecord | undefined,
    to: AppliedRecord,
  ): Promise<unknown>;
}

export interface ReplicationLoopOptions extends BatchReaderOptions {
  readonly primaryBrokerId: string;
  readonly replicaBrokerId: string;
  /** Connects to the primary Region's NATS and finds the consumer; called again after failures. */
  readonly openSource: (
    onConnectionChange: (connected: boolean) => void,
  ) => Promise<ReplicationSource>;
  readonly store: AppliedStore;
  readonly backoff: BackoffBounds;
  readonly log: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The replicator: reads the primary's log through the durable consumer in bounded batches,
 * applies each batch in one transaction together with the applied position, then acknowledges
 * it. The applied position in the replica's store is the truth: after a crash, a lost
 * connection or an unknown commit outcome it is read again, and redelivered events at or below
 * it are acknowledged without being applied. Nothing is acknowledged before its commit, so
 * nothing is lost; nothing is applied twice, so nothing is doubled.
 *
 * While a batch commits, the next one is already being read and decoded (one batch ahead at
 * most): Postgres and NATS work at the same time.
 */
export interface ReplicationLoop {
  /** Runs until `signal` aborts or the replicator fails; never rejects. */
  run(signal: AbortSignal): Promise<void>;
  status(): ReplicatorStatus;
  /** Asks the consumer for its pending count (bounded by `timeoutMs`); keeps the last one on failure. */
  refreshPending(timeoutMs: number): Promise<void>;
  /** Finishes the batch in progress, then stops reading; resolves once paused. */
  pause(): Promise<void>;
  resume(): void;
  /** Resolves with the applied sequence once `sequence` is applied. */
  waitForSequence(sequence: bigint, timeoutMs: number, signal?: AbortSignal): Promise<bigint>;
}
