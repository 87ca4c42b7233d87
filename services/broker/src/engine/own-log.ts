import { failedPrecondition } from '@crdr/errors';
import { decodeEvent, type DecodedEvent } from '@crdr/replication';
import type { Database, Kysely } from '@crdr/store';
import { readOutbox } from '../adapters/pg/outbox.js';
import { readLogInfo, type LogInfo } from '../adapters/pg/promotion.repository.js';
import { divergentMessages, summarizeEvent } from '../domain/log-tail.js';
import type { DivergentMessagesPage, LogEventsPage, LogReader } from './engine.types.js';

export interface OwnLogReaderOptions {
  readonly db: Kysely<Database>;
  readonly brokerId: string;
  /** Reads published events back from the stream; without it only the outbox is readable. */
  readonly logReader?: LogReader;
}

export interface OwnLogReader {
  events(generation: bigint, afterSeq: bigint, max: number): Promise<LogEventsPage>;
  divergentMessages(
    generation: bigint,
    afterSeq: bigint,
    start: number,
    max: number,
  ): Promise<DivergentMessagesPage>;
}

/**
 * This broker's own replication log read back, for an old primary's divergent tail: the events
 * already published come from its JetStream stream (the relay removed them from the outbox),
 * the rest from the outbox. Only the current generation is readable.
 */
export function createOwnLogReader(options: OwnLogReaderOptions): OwnLogReader {
  const { db, brokerId } = options;

  async function read(
    generation: bigint,
    afterSeq: bigint,
    max: number,
  ): Promise<{ events: DecodedEvent[]; info: LogInfo }> {
    const info = await readLogInfo(db);
    if (generation !== info.generation) {
      throw failedPrecondition(
        `broker ${brokerId} holds log generation ${info.generation}, not ${generation}: that log is gone`,
        { details: { field: 'generation', currentGeneration: String(info.generation) } },
      );
    }
    const events: DecodedEvent[] = [];
    const outbox = await db
      .selectFrom('replication_events')
      .select((eb) => eb.fn.min('seq').as('first'))
      .executeTakeFirst();
    const firstUnpublished =
      outbox?.first === null || outbox?.first === undefined
        ? info.lastSeq + 1n
        : BigInt(outbox.first);
    if (afterSeq + 1n < firstUnpublished) {
      if (options.logReader === undefined) {
        throw failedPrecondition(
          `events ${afterSeq + 1n}..${firstUnpublished - 1n} were published and left the outbox, and broker ${brokerId} has no NATS to read them back from`,
        );
      }
      const published = await options.logReader.read(
        generation,
        afterSeq,
        firstUnpublished - 1n,
        max,
      );
      for (const r of published) events.push(decodeEvent(r.payload));
    }
    if (events.length < max) {
      const from = events.length > 0 ? BigInt(events.at(-1)!.sequence) : afterSeq;
      const { events: rows } = await readOutbox(db, from, max - events.length);
      for (const r of rows) events.push(decodeEvent(r.payload));
    }
    return { events, info };
  }

  return {
    async events(generation, afterSeq, max) {
      const { events, info } = await read(generation, afterSeq, max);
      const last = events.at(-1);
      return {
        events: events.map(summarizeEvent),
        generation: info.generation,
        lastSequence: info.lastSeq,
        more: last !== undefined && BigInt(last.sequence) < info.lastSeq,
      };
    },
    async divergentMessages(generation, afterSeq, start, max) {
      // A message sent early in the tail may be consumed late in it: the whole tail is read.
      const tail: DecodedEvent[] = [];
      let after = afterSeq;
      for (;;) {
        const { events, info } = await read(generation, after, 1000);
        tail.push(...events);
        const last = events.at(-1);
        if (last === undefined || BigInt(last.sequence) >= info.lastSeq) break;
        after = BigInt(last.sequence);
      }
      const all = divergentMessages(tail);
      const page = all.slice(start, start + max);
      return {
        messages: page,
        next: start + page.length < all.length ? start + page.length : undefined,
        tailEvents: tail.length,
      };
    },
  };
}
