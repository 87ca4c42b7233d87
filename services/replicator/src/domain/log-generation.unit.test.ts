import { describe, expect, it } from 'vitest';
import { decide, evolve, initialPosition } from './sequence-decision.js';

describe('a new log generation', () => {
  const applied = { sequence: 40n, epoch: 2n, generation: 3n };

  it('given a position in generation 3, when generation 4 starts at 1, then it applies and counts from it', () => {
    const start = { version: 1, sequence: 1n, epoch: 3n, startsGeneration: 4n };
    expect(decide(applied, start)).toEqual({ kind: 'apply' });
    expect(evolve(applied, start)).toEqual({ sequence: 1n, epoch: 3n, generation: 4n });
    const next = evolve(applied, start);
    expect(decide(next, { version: 1, sequence: 2n, epoch: 3n })).toEqual({ kind: 'apply' });
  });

  it('given generation 3 applied, when its own LogStarted is redelivered, then it is skipped', () => {
    expect(decide(applied, { version: 1, sequence: 1n, epoch: 2n, startsGeneration: 3n })).toEqual({
      kind: 'skip',
    });
  });

  it('given an epoch already applied, when a new log of an older epoch starts, then it is fenced', () => {
    expect(
      decide(applied, { version: 1, sequence: 1n, epoch: 1n, startsGeneration: 9n }).kind,
    ).toBe('stale-epoch');
  });

  it('given nothing applied, when a log starts, then its generation is recorded', () => {
    const start = { version: 1, sequence: 1n, epoch: 1n, startsGeneration: 1n };
    expect(decide(initialPosition, start)).toEqual({ kind: 'apply' });
    expect(evolve(initialPosition, start).generation).toBe(1n);
  });
});
