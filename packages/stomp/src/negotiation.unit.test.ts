import { describe, expect, it } from 'vitest';
import { negotiateHeartBeat, negotiateServerHeartBeat, parseHeartBeat } from './heart-beat.js';
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

describe('negotiateServerHeartBeat', () => {
  const policy = { expectEveryMs: 10_000, minIntervalMs: 100, maxIntervalMs: 86_400_000 };

  it('sends as often as the client asks: 0,500 is answered 500,0', () => {
    expect(negotiateServerHeartBeat([0, 500], policy)).toEqual({
      sendEveryMs: 500,
      expectEveryMs: 0,
    });
  });

  it('expects every max(own cy, client cx), and nothing when either is 0', () => {
    expect(negotiateServerHeartBeat([20_000, 0], policy)).toEqual({
      sendEveryMs: 0,
      expectEveryMs: 20_000,
    });
    expect(negotiateServerHeartBeat([1000, 1000], policy)).toEqual({
      sendEveryMs: 1000,
      expectEveryMs: 10_000,
    });
    expect(negotiateServerHeartBeat([1000, 0], { ...policy, expectEveryMs: 0 })).toEqual({
      sendEveryMs: 0,
      expectEveryMs: 0,
    });
    expect(negotiateServerHeartBeat([0, 0], policy)).toEqual({ sendEveryMs: 0, expectEveryMs: 0 });
  });

  it('clamps absurd intervals: at least 100 ms, at most a day', () => {
    expect(negotiateServerHeartBeat([1, 1], { ...policy, expectEveryMs: 1 })).toEqual({
      sendEveryMs: 100,
      expectEveryMs: 100,
    });
    expect(negotiateServerHeartBeat([9e15, 9e15], policy)).toEqual({
      sendEveryMs: 86_400_000,
      expectEveryMs: 86_400_000,
    });
  });
});
