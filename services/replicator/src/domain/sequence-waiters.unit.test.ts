import { describe, expect, it } from 'vitest';
import { SequenceWaiters } from './sequence-waiters.js';

describe('SequenceWaiters', () => {
  it('releases the waiters whose sequence is applied, in order of registration', () => {
    const waiters = new SequenceWaiters<string>();
    waiters.add(5n, 'a');
    waiters.add(10n, 'b');
    waiters.add(3n, 'c');
    expect(waiters.release(5n)).toEqual(['a', 'c']);
    expect(waiters.size).toBe(1);
    expect(waiters.release(9n)).toEqual([]);
    expect(waiters.release(10n)).toEqual(['b']);
  });

  it('withdraws a waiter', () => {
    const waiters = new SequenceWaiters<string>();
    const withdraw = waiters.add(5n, 'a');
    withdraw();
    withdraw();
    expect(waiters.release(5n)).toEqual([]);
  });

  it('releases every waiter at once', () => {
    const waiters = new SequenceWaiters<string>();
    waiters.add(5n, 'a');
    waiters.add(6n, 'b');
    expect(waiters.releaseAll()).toEqual(['a', 'b']);
    expect(waiters.size).toBe(0);
  });
});
