import { describe, expect, it } from 'vitest';
import { negotiateHeartBeat, parseHeartBeat } from './heart-beat.js';
import { negotiateVersion } from './version-negotiation.js';

describe('negotiateVersion', () => {
  it('picks the highest common version, 1.0 without accept-version', () => {
    expect(negotiateVersion('1.0,1.1,1.2')).toBe('1.2');
    expect(negotiateVersion('1.1, 1.0')).toBe('1.1');
    expect(negotiateVersion(undefined)).toBe('1.0');
    expect(negotiateVersion('2.0')).toBeUndefined();
    expect(negotiateVersion('1.2', ['1.0', '1.1'])).toBeUndefined();
  });
});

describe('heart-beat', () => {
  it('parses the header, a bad one meaning none', () => {
    expect(parseHeartBeat('100, 200')).toEqual([100, 200]);
    expect(parseHeartBeat(undefined)).toEqual([0, 0]);
    expect(parseHeartBeat('x,1')).toEqual([0, 0]);
  });

  it('takes the larger interval when both sides want heart-beats', () => {
    expect(negotiateHeartBeat([100, 500], [1000, 50])).toEqual({
      sendEveryMs: 100,
      expectEveryMs: 1000,
    });
    expect(negotiateHeartBeat([100, 0], [0, 300])).toEqual({ sendEveryMs: 300, expectEveryMs: 0 });
    expect(negotiateHeartBeat([0, 100], [100, 100])).toEqual({
      sendEveryMs: 0,
      expectEveryMs: 100,
    });
  });
});
