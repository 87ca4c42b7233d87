import { describe, expect, it } from 'vitest';
import { isAckSubject, parseDeliveryInfo } from './delivery-info.js';

describe('parseDeliveryInfo', () => {
  it('reads a v1 acknowledgement subject', () => {
    expect(
      parseDeliveryInfo('$JS.ACK.CRDR_REPL_a.replica_b.2.17.30.1764000000000000000.5'),
    ).toEqual({
      stream: 'CRDR_REPL_a',
      consumer: 'replica_b',
      deliveryCount: 2,
      streamSequence: 17n,
      consumerSequence: 30n,
      pending: 5,
    });
  });

  it('reads a v2 acknowledgement subject (domain, account hash, token)', () => {
    expect(
      parseDeliveryInfo('$JS.ACK.hub.ACCHASH.S.C.1.9007199254740993.4.1764000000000000000.0.xyz'),
    ).toMatchObject({ stream: 'S', consumer: 'C', streamSequence: 9007199254740993n, pending: 0 });
  });

  it('refuses anything else', () => {
    expect(parseDeliveryInfo('_INBOX.abc.1')).toBeUndefined();
    expect(parseDeliveryInfo('$JS.ACK.S.C.x.1.1.1.1')).toBeUndefined();
    expect(isAckSubject(undefined)).toBe(false);
    expect(isAckSubject('$JS.ACK.S.C.1.1.1.1.0')).toBe(true);
  });
});
