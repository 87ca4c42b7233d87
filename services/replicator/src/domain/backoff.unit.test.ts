import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

const bounds = { minMs: 200, maxMs: 10_000 };

describe('backoffDelayMs', () => {
  it('doubles from the first ceiling, within its upper half', () => {
    expect(backoffDelayMs(0, bounds, 0)).toBe(100);
    expect(backoffDelayMs(0, bounds, 0.999999)).toBe(200);
    expect(backoffDelayMs(1, bounds, 0)).toBe(200);
    expect(backoffDelayMs(3, bounds, 1)).toBe(1600);
  });

  it('never exceeds the cap, however many attempts', () => {
    for (const attempt of [6, 10, 100, 10_000]) {
      expect(backoffDelayMs(attempt, bounds, 0.9999)).toBeLessThanOrEqual(10_000);
      expect(backoffDelayMs(attempt, bounds, 0)).toBe(5_000);
    }
  });
});
