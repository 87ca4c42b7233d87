/**
 * Names in NATS of one primary broker's replication log. One stream per primary broker, in the
 * primary's Region; one durable pull consumer per replica reading it.
 */
const token = (brokerId: string): string => brokerId.replace(/[^A-Za-z0-9_-]/g, '_');

export function replicationStreamName(primaryBrokerId: string): string {
  return `CRDR_REPL_${token(primaryBrokerId)}`;
}

export function replicationSubject(primaryBrokerId: string): string {
  return `crdr.repl.${token(primaryBrokerId)}.events`;
}

export function replicationConsumerName(replicaBrokerId: string): string {
  return `replica_${token(replicaBrokerId)}`;
}

/** The message id of an event in the stream: JetStream drops a retried publish as a duplicate. */
export function replicationMessageId(sequence: bigint): string {
  return sequence.toString();
}
