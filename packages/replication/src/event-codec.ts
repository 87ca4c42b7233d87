import { join } from 'node:path';
import protobuf from 'protobufjs';
import { protoRoot, type replicationV1 } from '@crdr/proto';
import { badRequest } from '@crdr/errors';

export type ReplicationEvent = replicationV1.ReplicationEvent;
export type DecodedEvent = replicationV1.ReplicationEvent__Output;
/** The name of the change an event carries (its oneof case). */
export type ChangeKind = NonNullable<ReplicationEvent['change']>;

/** The envelope version of the events this code writes. */
export const envelopeVersion = 1;
/** The newest envelope version this code reads: 2 is a part of an event (`EventChunk`). */
export const newestEnvelopeVersion = 2;

let eventType: protobuf.Type | undefined;

/** The loaded `ReplicationEvent` type (internal to this package). */
export function envelopeType(): protobuf.Type {
  eventType ??= protobuf
    .loadSync(join(protoRoot, 'crdr/replication/v1/replication.proto'))
    .lookupType('crdr.replication.v1.ReplicationEvent');
  return eventType;
}

/** Encodes an event to the bytes the replication log carries. */
export function encodeEvent(event: ReplicationEvent): Uint8Array {
  const t = envelopeType();
  // Plain objects encode directly (int64 as decimal strings, bytes as Buffers): fromObject would
  // copy every field, bodies included, for nothing.
  return t.encode({ version: envelopeVersion, ...event }).finish();
}

/**
 * Decodes an event; int64 fields come back as decimal strings, bytes as Buffers. Refuses an
 * envelope newer than this code understands.
 */
export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const t = envelopeType();
  const decoded = t.toObject(t.decode(bytes), {
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  }) as DecodedEvent;
  if (decoded.version > newestEnvelopeVersion) {
    throw badRequest(
      `replication event ${decoded.sequence} has envelope version ${decoded.version}; this build reads up to ${newestEnvelopeVersion}`,
    );
  }
  return decoded;
}
