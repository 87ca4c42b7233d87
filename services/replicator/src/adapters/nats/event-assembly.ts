import {
  decodeEvent,
  isEventChunk,
  joinEventChunks,
  type DecodedEvent,
  type DecodedEventChunk,
} from '@crdr/replication';
import type { PulledMessage } from './jetstream-puller.js';

/**
 * Parts of an event that do not make it whole in this batch: the start of a set whose rest is
 * still to come, the rest of a set whose start was delivered elsewhere (to a replicator that
 * died holding it), or an attempt the relay abandoned halfway and published again.
 */
export interface EventFragment {
  readonly sequence: bigint;
  /** The set's first part is among them. */
  readonly hasFirstPart: boolean;
  /** A later attempt of the same event follows in the batch: these parts are never needed. */
  readonly superseded: boolean;
  /** The last message of the batch is one of them (more parts may follow in the stream). */
  readonly atTail: boolean;
  /** The stream sequence of the last of them. */
  readonly lastStreamSequence: bigint;
}

/** A delivered event (whole, or put together from its parts) and the messages that carried it. */
export type Delivery = {
  /** The last message that carried it (the one with the trace context). */
  readonly message: PulledMessage;
  /** Every message that carried it, in stream order, redeliveries included. */
  readonly parts: readonly PulledMessage[];
} & (
  | {
      readonly event: DecodedEvent;
      readonly decodeError?: undefined;
      readonly fragment?: undefined;
    }
  | { readonly event?: undefined; readonly decodeError: unknown; readonly fragment?: undefined }
  | {
      readonly event?: undefined;
      readonly decodeError?: undefined;
      readonly fragment: EventFragment;
    }
);

const byStreamSequence = (a: PulledMessage, b: PulledMessage): number =>
  a.info.streamSequence < b.info.streamSequence
    ? -1
    : a.info.streamSequence > b.info.streamSequence
      ? 1
      : 0;

/**
 * First deliveries come in stream order, but redeliveries (after an ack wait or a NAK) come in
 * the order JetStream queued them: stream order is the log's order. The parts of an event are
 * consecutive messages of the stream, and are put together here; what cannot be put together
 * comes out as an {@link EventFragment}.
 */
export function decodeInStreamOrder(messages: readonly PulledMessage[]): Delivery[] {
  const out: Delivery[] = [];
  let open: OpenSet | undefined;
  const close = (superseded: boolean, atTail: boolean): void => {
    if (open === undefined) return;
    out.push({
      message: open.parts[open.parts.length - 1]!,
      parts: open.parts,
      fragment: {
        sequence: BigInt(open.chunks[0]!.sequence),
        hasFirstPart: open.chunks[0]!.eventChunk.index === 0,
        superseded,
        atTail,
        lastStreamSequence: open.parts[open.parts.length - 1]!.info.streamSequence,
      },
    });
    open = undefined;
  };
  for (const message of [...messages].sort(byStreamSequence)) {
    let event: DecodedEvent;
    try {
      event = decodeEvent(message.data);
    } catch (decodeError) {
      close(false, false);
      out.push({ message, parts: [message], decodeError });
      continue;
    }
    if (!isEventChunk(event)) {
      close(false, false);
      out.push({ message, parts: [message], event });
      continue;
    }
    const part = event.eventChunk;
    if (open !== undefined && open.attempt === part.attempt && open.sequence === event.sequence) {
      const expected = open.chunks.length;
      if (part.index < expected) {
        // The same part delivered twice (redelivered while the batch filled): acknowledged too.
        open.parts.push(message);
        continue;
      }
      if (part.index === expected) {
        open.parts.push(message);
        open.chunks.push(event);
        if (open.chunks.length === part.count && open.chunks[0]!.eventChunk.index === 0) {
          out.push(whole(open));
          open = undefined;
        }
        continue;
      }
    }
    // Another set begins: a first part of the same event is a new attempt of it.
    close(part.index === 0 && open?.sequence === event.sequence, false);
    open = { sequence: event.sequence, attempt: part.attempt, parts: [message], chunks: [event] };
    if (part.index === 0 && part.count === 1) {
      out.push(whole(open));
      open = undefined;
    }
  }
  close(false, true);
  return out;
}

/** Messages that complete the set the batch ends with, at most; 0 when it ends with none. */
export function partsStillToCome(sorted: readonly PulledMessage[]): number {
  const last = sorted[sorted.length - 1];
  if (last === undefined) return 0;
  try {
    const event = decodeEvent(last.data);
    if (!isEventChunk(event)) return 0;
    return event.eventChunk.count - event.eventChunk.index - 1;
  } catch {
    return 0;
  }
}

interface OpenSet {
  readonly sequence: string;
  readonly attempt: string;
  readonly parts: PulledMessage[];
  readonly chunks: DecodedEventChunk[];
}

const noData = new Uint8Array(0);

function whole(set: OpenSet): Delivery {
  let joined: Uint8Array;
  try {
    joined = joinEventChunks(set.chunks);
  } catch (decodeError) {
    return { message: set.parts[set.parts.length - 1]!, parts: set.parts, decodeError };
  }
  // The parts' data is in the joined event now: let it go, and keep what acknowledges them.
  const parts = set.parts.map((m) => ({ ...m, data: noData }));
  const message = parts[parts.length - 1]!;
  try {
    const event = decodeEvent(joined);
    if (event.sequence !== set.sequence)
      throw new Error(`the parts of event ${set.sequence} hold event ${event.sequence}`);
    return { message, parts, event };
  } catch (decodeError) {
    return { message, parts, decodeError };
  }
}
