import { hasErrorCode } from '@crdr/errors';
import { envelopeVersion, type DecodedEvent } from '@crdr/replication';
import type { ReplicationFault } from '../../domain/replication-fault.js';
import {
  decide,
  evolve,
  type AppliedPosition,
  type EventEnvelope,
} from '../../domain/sequence-decision.js';
import type { Delivery, EventFragment } from './batch-reader.js';
import type { PulledMessage } from './jetstream-puller.js';

export interface BatchPlan {
  /** The events to apply, in order. */
  readonly apply: readonly DecodedEvent[];
  /** What to acknowledge once they are committed: the applied and the skipped redeliveries. */
  readonly ack: readonly PulledMessage[];
  /** The applied position once `apply` is committed. */
  readonly position: AppliedPosition;
  /** Where the batch stopped short, and why; the deliveries from there on are `held`. */
  readonly stop?:
    | { readonly kind: 'fault'; readonly fault: ReplicationFault }
    | {
        readonly kind: 'ahead';
        readonly expected: bigint;
        readonly received: bigint;
        /** It stopped at parts of an event that do not make it whole (yet). */
        readonly fragment?: EventFragment;
      };
  /** Deliveries neither applied nor acknowledged (from the stop on). */
  readonly held: readonly PulledMessage[];
}

/**
 * Decides, delivery by delivery in stream order, what a batch applies and acknowledges, from
 * the applied position: redeliveries are skipped, the next events applied, and the batch stops
 * at the first event that cannot be applied (a gap, an older epoch, an envelope too new, a
 * message that is not an event).
 */
export function planBatch(position: AppliedPosition, deliveries: readonly Delivery[]): BatchPlan {
  const apply: DecodedEvent[] = [];
  const ack: PulledMessage[] = [];
  let next = position;
  for (let i = 0; i < deliveries.length; i++) {
    const delivery = deliveries[i]!;
    const held = (): PulledMessage[] => deliveries.slice(i).flatMap((d) => d.parts);
    const { fragment } = delivery;
    if (fragment !== undefined) {
      // Parts of an event applied already, or of an attempt published again later: not needed.
      if (fragment.sequence <= next.sequence || fragment.superseded) {
        ack.push(...delivery.parts);
        continue;
      }
      return {
        apply,
        ack,
        position: next,
        stop: {
          kind: 'ahead',
          expected: next.sequence + 1n,
          received: fragment.sequence,
          fragment,
        },
        held: held(),
      };
    }
    if (delivery.event === undefined) {
      const error = delivery.decodeError;
      const detail = error instanceof Error ? error.message : String(error);
      const fault: ReplicationFault = hasErrorCode(error, 'BadRequest')
        ? { kind: 'unsupported-version', detail }
        : { kind: 'undecodable', streamSequence: delivery.message.info.streamSequence, detail };
      return { apply, ack, position: next, stop: { kind: 'fault', fault }, held: held() };
    }
    const envelope = envelopeOf(delivery.event);
    const decision = decide(next, envelope, envelopeVersion);
    switch (decision.kind) {
      case 'skip':
        ack.push(...delivery.parts);
        break;
      case 'apply':
        apply.push(delivery.event);
        ack.push(...delivery.parts);
        next = evolve(next, envelope);
        break;
      case 'ahead':
        return {
          apply,
          ack,
          position: next,
          stop: { kind: 'ahead', expected: decision.expected, received: decision.received },
          held: held(),
        };
      case 'stale-epoch':
        return {
          apply,
          ack,
          position: next,
          stop: { kind: 'fault', fault: { ...decision, kind: 'stale-epoch' } },
          held: held(),
        };
      case 'unsupported-version':
        return {
          apply,
          ack,
          position: next,
          stop: {
            kind: 'fault',
            fault: {
              kind: 'unsupported-version',
              detail: `event ${decision.sequence} has envelope version ${decision.version}; this replicator reads up to ${decision.supported}`,
            },
          },
          held: held(),
        };
    }
  }
  return { apply, ack, position: next, held: [] };
}

export function envelopeOf(event: DecodedEvent): EventEnvelope {
  return {
    version: event.version,
    sequence: BigInt(event.sequence),
    epoch: BigInt(event.epoch),
    ...(event.change === 'logStarted'
      ? { startsGeneration: BigInt(event.logStarted!.generation) }
      : {}),
  };
}
