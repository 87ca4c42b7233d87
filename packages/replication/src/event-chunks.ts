import { badRequest } from '@crdr/errors';
import { envelopeType, newestEnvelopeVersion, type DecodedEvent } from './event-codec.js';

/** The envelope version of an event's part: readers older than chunking refuse it clearly. */
export const chunkEnvelopeVersion = newestEnvelopeVersion;

/**
 * Bytes a message of the log keeps free for what is not the event's data: the part's envelope
 * (tens of bytes) and the NATS headers (message id, expected last sequence, trace context).
 */
export const chunkHeadroomBytes = 4096;

/** The longest encoded event one message of the log carries whole, under `maxPayloadBytes`. */
export function maxWholeEventBytes(maxPayloadBytes: number): number {
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes <= 2 * chunkHeadroomBytes)
    throw badRequest(
      `a NATS max payload of ${maxPayloadBytes} bytes is too small for the replication log (more than ${2 * chunkHeadroomBytes} needed)`,
    );
  return maxPayloadBytes - chunkHeadroomBytes;
}

export interface EventChunkEnvelope {
  readonly sequence: bigint;
  readonly createdAtMs: number;
  /** The stream sequence of the attempt's first part. */
  readonly attempt: bigint;
}

/**
 * The messages that carry the encoded event `payload` when it is longer than
 * {@link maxWholeEventBytes}: consecutive parts of at most that many data bytes, each in an
 * envelope of version 2 with the event's sequence. Lazy: a part is encoded (its data copied
 * once) only when it is asked for, so a publisher holds the event and a few parts, not two
 * copies of the event.
 */
export function* splitEvent(
  payload: Uint8Array,
  envelope: EventChunkEnvelope,
  maxPayloadBytes: number,
): Generator<Uint8Array, void, undefined> {
  const partBytes = maxWholeEventBytes(maxPayloadBytes);
  const count = Math.ceil(payload.length / partBytes);
  for (let index = 0; index < count; index++) {
    const data = payload.subarray(
      index * partBytes,
      Math.min(payload.length, (index + 1) * partBytes),
    );
    yield envelopeType()
      .encode({
        version: chunkEnvelopeVersion,
        sequence: envelope.sequence.toString(),
        createdAtMs: String(envelope.createdAtMs),
        eventChunk: {
          index,
          count,
          attempt: envelope.attempt.toString(),
          totalBytes: String(payload.length),
          data,
        },
      })
      .finish();
  }
}

/** How many parts {@link splitEvent} makes of `payloadBytes`. */
export function chunkCount(payloadBytes: number, maxPayloadBytes: number): number {
  return Math.ceil(payloadBytes / maxWholeEventBytes(maxPayloadBytes));
}

/** A decoded part, as `decodeEvent` returns it. */
export type DecodedEventChunk = DecodedEvent & {
  readonly eventChunk: NonNullable<DecodedEvent['eventChunk']>;
};

export function isEventChunk(event: DecodedEvent): event is DecodedEventChunk {
  return (
    event.change === 'eventChunk' && event.eventChunk !== null && event.eventChunk !== undefined
  );
}

/**
 * The encoded event the parts carry, in one buffer (the only copy made: each part's data is
 * copied in once). Throws when the parts are not one attempt's complete set, in order.
 */
export function joinEventChunks(parts: readonly DecodedEventChunk[]): Uint8Array {
  const first = parts[0];
  if (first === undefined) throw badRequest('no parts to join');
  const { count, attempt } = first.eventChunk;
  const totalBytes = Number(first.eventChunk.totalBytes);
  if (parts.length !== count)
    throw badRequest(`event ${first.sequence} has ${parts.length} of its ${count} parts`);
  const whole = Buffer.allocUnsafe(totalBytes);
  let at = 0;
  parts.forEach((part, i) => {
    const c = part.eventChunk;
    if (c.index !== i || c.attempt !== attempt || part.sequence !== first.sequence)
      throw badRequest(`part ${i} of event ${first.sequence} is out of place`);
    if (at + c.data.length > totalBytes)
      throw badRequest(`the parts of event ${first.sequence} exceed its ${totalBytes} bytes`);
    whole.set(c.data, at);
    at += c.data.length;
  });
  if (at !== totalBytes)
    throw badRequest(`the parts of event ${first.sequence} hold ${at} of its ${totalBytes} bytes`);
  return whole;
}
