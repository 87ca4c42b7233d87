/**
 * What a replicator does with the next event it reads, from nothing but the position it has
 * applied and the event's envelope. The log is gap-free from 1 and each event is applied exactly
 * once, so the applied position alone decides: below it, the event is a redelivery; right after
 * it, the event is the next one; beyond it, something is missing.
 */

/** The last event applied to the replica's store (sequence 0: none yet). */
export interface AppliedPosition {
  readonly sequence: bigint;
  /** The epoch of the last applied event; an older one is refused (fencing). */
  readonly epoch: bigint;
  /** The generation of the log the sequence counts (0 or absent: not known yet). */
  readonly generation?: bigint;
}

/** The envelope fields the decision reads. */
export interface EventEnvelope {
  readonly version: number;
  readonly sequence: bigint;
  readonly epoch: bigint;
  /** Set on a log's first event (LogStarted): the generation it opens. */
  readonly startsGeneration?: bigint;
}

export type SequenceDecision =
  /** The next event: apply it. */
  | { readonly kind: 'apply' }
  /** Already applied (a redelivery): acknowledge it without applying. */
  | { readonly kind: 'skip' }
  /** Events between the applied one and this one have not been seen. */
  | { readonly kind: 'ahead'; readonly expected: bigint; readonly received: bigint }
  /** Written by a primary of an older epoch than the one already applied: fenced off. */
  | {
      readonly kind: 'stale-epoch';
      readonly sequence: bigint;
      readonly appliedEpoch: bigint;
      readonly eventEpoch: bigint;
    }
  /** An envelope newer than this build reads. */
  | {
      readonly kind: 'unsupported-version';
      readonly sequence: bigint;
      readonly version: number;
      readonly supported: number;
    };

export const initialPosition: AppliedPosition = { sequence: 0n, epoch: 0n, generation: 0n };

/** The envelope version this domain was written for; the adapter passes the codec's own. */
export const defaultSupportedVersion = 1;

/**
 * Decides about `event` given the `applied` position. A redelivery is skipped before its epoch
 * is looked at: an event applied long ago legitimately carries an epoch older than a later one.
 */
export function decide(
  applied: AppliedPosition,
  event: EventEnvelope,
  supportedVersion: number = defaultSupportedVersion,
): SequenceDecision {
  // A log of another generation starts: it counts from its own start, whatever was applied
  // of the one before (the primary restarted its log, or a promotion reversed the roles).
  if (
    event.startsGeneration !== undefined &&
    event.startsGeneration !== (applied.generation ?? 0n)
  ) {
    return decide(
      { sequence: event.sequence - 1n, epoch: applied.epoch, generation: event.startsGeneration },
      { version: event.version, sequence: event.sequence, epoch: event.epoch },
      supportedVersion,
    );
  }
  if (event.sequence <= applied.sequence) return { kind: 'skip' };
  if (event.version > supportedVersion) {
    return {
      kind: 'unsupported-version',
      sequence: event.sequence,
      version: event.version,
      supported: supportedVersion,
    };
  }
  const expected = applied.sequence + 1n;
  if (event.sequence > expected) return { kind: 'ahead', expected, received: event.sequence };
  if (event.epoch < applied.epoch) {
    return {
      kind: 'stale-epoch',
      sequence: event.sequence,
      appliedEpoch: applied.epoch,
      eventEpoch: event.epoch,
    };
  }
  return { kind: 'apply' };
}

/** The position once `event` (decided `apply`) is applied. */
export function evolve(applied: AppliedPosition, event: EventEnvelope): AppliedPosition {
  const generation = event.startsGeneration ?? applied.generation;
  return {
    sequence: event.sequence,
    epoch: event.epoch > applied.epoch ? event.epoch : applied.epoch,
    ...(generation === undefined ? {} : { generation }),
  };
}
