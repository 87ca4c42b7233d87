import { describe, expect, it } from 'vitest';
import { encodeEvent } from '@crdr/replication';
import { decodeInStreamOrder } from './batch-reader.js';
import { planBatch } from './batch-plan.js';
import type { PulledMessage } from './jetstream-puller.js';

let streamSeq = 0n;
function delivered(
  sequence: number,
  options: { epoch?: number; version?: number; streamSequence?: bigint } = {},
): PulledMessage {
  const stream = options.streamSequence ?? ++streamSeq;
  return {
    data: encodeEvent({
      ...(options.version === undefined ? {} : { version: options.version }),
      sequence: String(sequence),
      epoch: String(options.epoch ?? 1),
      createdAtMs: '1',
      heartbeat: {},
    }),
    reply: `$JS.ACK.S.C.1.${stream}.${stream}.0.0`,
    info: {
      stream: 'S',
      consumer: 'C',
      deliveryCount: 1,
      streamSequence: stream,
      consumerSequence: stream,
      pending: 0,
    },
  };
}
const at = (sequence: bigint, epoch = 1n) => ({ sequence, epoch });
const seqs = (events: readonly { sequence: string }[]) => events.map((e) => Number(e.sequence));

describe('planBatch', () => {
  it('applies the next events and acknowledges redeliveries without applying them', () => {
    const batch = decodeInStreamOrder([delivered(3), delivered(4), delivered(5), delivered(6)]);
    const plan = planBatch(at(4n), batch);
    expect(seqs(plan.apply)).toEqual([5, 6]);
    expect(plan.ack).toHaveLength(4);
    expect(plan.position).toEqual(at(6n));
    expect(plan.stop).toBeUndefined();
    expect(plan.held).toEqual([]);
  });

  it('stops at a gap, keeping what came before it and holding the rest', () => {
    const batch = decodeInStreamOrder([delivered(1), delivered(2), delivered(4), delivered(5)]);
    const plan = planBatch(at(0n), batch);
    expect(seqs(plan.apply)).toEqual([1, 2]);
    expect(plan.stop).toEqual({ kind: 'ahead', expected: 3n, received: 4n });
    expect(plan.held).toHaveLength(2);
  });

  it('sorts redeliveries back into stream order first', () => {
    const late = delivered(1, { streamSequence: 100n });
    const later = delivered(2, { streamSequence: 101n });
    const batch = decodeInStreamOrder([later, late]);
    expect(seqs(planBatch(at(0n), batch).apply)).toEqual([1, 2]);
  });

  it('stops on an older epoch and on an envelope it cannot read', () => {
    const stale = planBatch(
      at(0n, 2n),
      decodeInStreamOrder([delivered(1, { epoch: 2 }), delivered(2, { epoch: 1 })]),
    );
    expect(seqs(stale.apply)).toEqual([1]);
    expect(stale.stop).toEqual({
      kind: 'fault',
      fault: { kind: 'stale-epoch', sequence: 2n, appliedEpoch: 2n, eventEpoch: 1n },
    });
    const newer = planBatch(
      at(0n),
      decodeInStreamOrder([delivered(1), delivered(2, { version: 2 })]),
    );
    expect(seqs(newer.apply)).toEqual([1]);
    expect(newer.stop).toMatchObject({ kind: 'fault', fault: { kind: 'unsupported-version' } });
  });

  it('stops on a message that is not an event', () => {
    const garbage: PulledMessage = { ...delivered(1), data: new Uint8Array([0xff, 0xff, 0xff]) };
    const plan = planBatch(at(0n), decodeInStreamOrder([garbage]));
    expect(plan.stop).toMatchObject({ kind: 'fault', fault: { kind: 'undecodable' } });
    expect(plan.ack).toEqual([]);
  });
});
