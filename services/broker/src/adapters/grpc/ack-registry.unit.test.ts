import { describe, expect, it } from 'vitest';
import { AckRegistry, type ReceiveStream } from './ack-registry.js';
import { RecordingSession } from './registries.test-helper.js';

function stream(ackMode: ReceiveStream['ackMode']): ReceiveStream {
  return { session: new RecordingSession(), ackMode };
}

describe('AckRegistry', () => {
  it('does not keep auto-acknowledged deliveries', () => {
    const acks = new AckRegistry();
    acks.add(stream('auto'), 'a1');
    expect(acks.find('a1')).toBeUndefined();
    expect(acks.size).toBe(0);
  });

  it('finds the stream of an ack id', () => {
    const acks = new AckRegistry();
    const one = stream('client-individual');
    const two = stream('client-individual');
    acks.add(one, 'a1');
    acks.add(two, 'b1');
    expect(acks.find('a1')).toBe(one);
    expect(acks.find('b1')).toBe(two);
  });

  it('forgets one delivery in client-individual mode', () => {
    const acks = new AckRegistry();
    const s = stream('client-individual');
    for (const id of ['a1', 'a2', 'a3']) acks.add(s, id);
    acks.resolved('a2');
    expect(['a1', 'a2', 'a3'].map((id) => acks.find(id) !== undefined)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('forgets every earlier delivery of the stream in client (cumulative) mode', () => {
    const acks = new AckRegistry();
    const s = stream('client');
    const other = stream('client');
    for (const id of ['a1', 'a2', 'a3']) acks.add(s, id);
    acks.add(other, 'b1');
    acks.resolved('a2');
    expect(['a1', 'a2', 'a3', 'b1'].map((id) => acks.find(id) !== undefined)).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it('forgets a stream that ended', () => {
    const acks = new AckRegistry();
    const s = stream('client');
    acks.add(s, 'a1');
    acks.add(s, 'a2');
    acks.removeStream(s);
    expect(acks.size).toBe(0);
  });
});
