/**
 * Why a replicator stopped in the FAILED state: errors that retrying cannot fix and that need an
 * operator (resync the replica, upgrade the replicator, find the fenced-off primary).
 */
export type ReplicationFault =
  | {
      /** Events between the applied one and the one received are not in the log. */
      readonly kind: 'sequence-gap';
      readonly expected: bigint;
      readonly received: bigint;
    }
  | {
      /** The event was written by a primary whose epoch is older than the one applied. */
      readonly kind: 'stale-epoch';
      readonly sequence: bigint;
      readonly appliedEpoch: bigint;
      readonly eventEpoch: bigint;
    }
  | {
      /** The event's envelope is newer than this build understands. */
      readonly kind: 'unsupported-version';
      readonly detail: string;
    }
  | {
      /** The message in the stream is not a replication event. */
      readonly kind: 'undecodable';
      readonly streamSequence: bigint;
      readonly detail: string;
    }
  | {
      /** The replica's store refused the changes (a constraint, a diverged store). */
      readonly kind: 'apply-rejected';
      readonly firstSequence: bigint;
      readonly lastSequence: bigint;
      readonly detail: string;
    };

export type ReplicationFaultKind = ReplicationFault['kind'];

/** One sentence an operator can act on. */
export function describeFault(fault: ReplicationFault): string {
  switch (fault.kind) {
    case 'sequence-gap': {
      const last = fault.received - 1n;
      const missing =
        last === fault.expected
          ? `event ${fault.expected} is`
          : `events ${fault.expected}..${last} are`;
      return (
        `sequence gap: expected sequence ${fault.expected}, received ${fault.received}; ` +
        `${missing} not in the replication log (removed by the stream's limits, or the stream was ` +
        `recreated): the replica must be resynchronised`
      );
    }
    case 'stale-epoch':
      return (
        `event ${fault.sequence} has epoch ${fault.eventEpoch}, older than the applied epoch ` +
        `${fault.appliedEpoch}: it comes from a fenced-off primary and is refused`
      );
    case 'unsupported-version':
      return `${fault.detail}: upgrade the replicator`;
    case 'undecodable':
      return `the message at stream sequence ${fault.streamSequence} is not a replication event: ${fault.detail}`;
    case 'apply-rejected':
      return (
        `the replica's store refused events ${fault.firstSequence}..${fault.lastSequence}: ` +
        `${fault.detail}`
      );
  }
}
