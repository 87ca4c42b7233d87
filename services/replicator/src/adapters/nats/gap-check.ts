import type { PulledMessage } from './jetstream-puller.js';
import type { ReplicationSource } from './replication-source.js';

export interface GapCheck {
  /** True: the missing events are not in the stream; false: JetStream still owes them. */
  readonly gap: boolean;
  readonly ackFloor: number;
  readonly ackPending: number;
}

/**
 * Events arrived beyond the next one (`held`, in stream order). Either the missing ones are
 * still owed by JetStream (delivered earlier to a replicator that died or gave up on them, to
 * be redelivered when their ack wait ends), or they are not in the stream at all: a gap. The
 * consumer's ack floor tells: when every stream message before the first one held is
 * acknowledged, nothing before it can come back. The floor only lags behind acknowledgements,
 * so a lag makes the replicator wait one more round, never fail wrongly.
 */
export async function checkForGap(
  source: ReplicationSource,
  held: readonly PulledMessage[],
): Promise<GapCheck> {
  // The acknowledgements of the batch just applied reach the server first.
  await source.puller.flush();
  const info = await source.info();
  const first = held[0]!.info.streamSequence;
  return {
    gap: BigInt(info.ack_floor.stream_seq) >= first - 1n,
    ackFloor: info.ack_floor.stream_seq,
    ackPending: info.num_ack_pending,
  };
}
