import { connect, type ConnectionOptions } from 'nats';
import { failedPrecondition, notFound, unavailable } from '@crdr/errors';
import { decodeEvent, replicationStreamName } from '@crdr/replication';
import type { LogReader } from '../../engine/engine.types.js';

export interface StreamLogReaderOptions {
  readonly brokerId: string;
  /** The broker's own Region's NATS (where its relay publishes). */
  readonly nats: ConnectionOptions;
  readonly timeoutMs?: number;
}

/**
 * Reads events of this broker's log back from its JetStream stream (the relay removed them from
 * the outbox once published): for an old primary's divergent tail. A connection per call: it
 * serves rare operator and control-plane calls.
 */
export function createStreamLogReader(options: StreamLogReaderOptions): LogReader {
  const stream = replicationStreamName(options.brokerId);
  return {
    async read(generation, afterSeq, upToSeq, max) {
      if (upToSeq <= afterSeq || max <= 0) return [];
      const nc = await connect({
        ...options.nats,
        name: `log-reader-${options.brokerId}`,
        timeout: options.timeoutMs ?? 5_000,
      }).catch((error: unknown) => {
        throw unavailable(
          `cannot reach this Region's NATS to read the published events of broker ${options.brokerId}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
      try {
        const jsm = await nc.jetstreamManager({ timeout: options.timeoutMs ?? 5_000 });
        const info = await jsm.streams.info(stream).catch(() => undefined);
        const description = `crdr replication log of broker ${options.brokerId}, generation ${generation}`;
        if (info === undefined || info.config.description !== description) {
          throw notFound(
            `the stream ${stream} no longer holds log generation ${generation} of broker ${options.brokerId}`,
          );
        }
        if (info.state.messages === 0) {
          throw notFound(`the stream ${stream} holds no events (they aged out)`);
        }
        const first = await jsm.streams.getMessage(stream, { seq: info.state.first_seq });
        const firstEventSeq = BigInt(decodeEvent(first.data).sequence);
        const offset = BigInt(first.seq) - firstEventSeq;
        if (afterSeq + 1n < firstEventSeq) {
          throw notFound(
            `events ${afterSeq + 1n}..${firstEventSeq - 1n} of broker ${options.brokerId} aged out of its stream`,
          );
        }
        const out: Array<{ seq: bigint; payload: Uint8Array }> = [];
        for (let seq = afterSeq + 1n; seq <= upToSeq && out.length < max; seq++) {
          const message = await jsm.streams.getMessage(stream, { seq: Number(seq + offset) });
          const event = decodeEvent(message.data);
          if (BigInt(event.sequence) !== seq) {
            throw failedPrecondition(
              `the stream ${stream} holds event ${event.sequence} where event ${seq} was expected`,
            );
          }
          out.push({ seq, payload: message.data });
        }
        return out;
      } finally {
        await nc.close().catch(() => undefined);
      }
    },
  };
}
