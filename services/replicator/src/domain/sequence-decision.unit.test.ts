import { describe, expect, it } from 'vitest';
import { decide, evolve, initialPosition, type AppliedPosition } from './sequence-decision.js';

const at = (sequence: bigint, epoch = 1n): AppliedPosition => ({ sequence, epoch });
const event = (sequence: bigint, epoch = 1n, version = 1) => ({ sequence, epoch, version });

describe('decide', () => {
  it('given nothing applied, when event 1 arrives, then it is applied', () => {
    expect(decide(initialPosition, event(1n))).toEqual({ kind: 'apply' });
  });

  it('given 41 applied, when event 42 arrives, then it is applied', () => {
    expect(decide(at(41n), event(42n))).toEqual({ kind: 'apply' });
  });

  it('given 42 applied, when events 1 and 42 arrive again, then they are skipped', () => {
    expect(decide(at(42n), event(1n))).toEqual({ kind: 'skip' });
    expect(decide(at(42n), event(42n))).toEqual({ kind: 'skip' });
  });

  it('given 41 applied, when event 45 arrives, then 42 was expected', () => {
    expect(decide(at(41n), event(45n))).toEqual({ kind: 'ahead', expected: 42n, received: 45n });
  });

  it('given nothing applied, when event 3 arrives, then 1 was expected', () => {
    expect(decide(initialPosition, event(3n))).toEqual({
      kind: 'ahead',
      expected: 1n,
      received: 3n,
    });
  });

  it('given epoch 3 applied, when the next event has epoch 2, then it is fenced off', () => {
    expect(decide(at(10n, 3n), event(11n, 2n))).toEqual({
      kind: 'stale-epoch',
      sequence: 11n,
      appliedEpoch: 3n,
      eventEpoch: 2n,
    });
  });

  it('given epoch 3 applied, when a redelivered older event has epoch 2, then it is skipped', () => {
    expect(decide(at(10n, 3n), event(5n, 2n))).toEqual({ kind: 'skip' });
  });

  it('given epoch 1 applied, when the next event has epoch 2, then it is applied and the epoch moves', () => {
    expect(decide(at(10n, 1n), event(11n, 2n))).toEqual({ kind: 'apply' });
    expect(evolve(at(10n, 1n), event(11n, 2n))).toEqual(at(11n, 2n));
  });

  it('when the envelope is newer than supported, then it is refused', () => {
    expect(decide(at(1n), event(2n, 1n, 2), 1)).toEqual({
      kind: 'unsupported-version',
      sequence: 2n,
      version: 2,
      supported: 1,
    });
  });

  it('works past 2^53 and up to 2^64 - 1', () => {
    const big = 2n ** 64n - 2n;
    expect(decide(at(big), event(big + 1n))).toEqual({ kind: 'apply' });
    expect(evolve(at(big), event(big + 1n)).sequence).toBe(2n ** 64n - 1n);
  });
});
