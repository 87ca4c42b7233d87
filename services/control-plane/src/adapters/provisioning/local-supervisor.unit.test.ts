import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSupervisor, type Supervisor, type SupervisorEvent } from './local-supervisor.js';

// The supervisor's decisions over a simulated process: when it restarts, how long it waits,
// when it calls a crash loop. Fake timers: no process, no I/O.

let supervisor: Supervisor;
let events: SupervisorEvent[];
let alive: boolean;
let restarts: number;
let failNextStarts: number;

beforeEach(() => {
  vi.useFakeTimers();
  events = [];
  alive = true;
  restarts = 0;
  failNextStarts = 0;
  supervisor = createSupervisor({
    intervalMs: 100,
    backoffMinMs: 1_000,
    backoffMaxMs: 8_000,
    stableAfterMs: 60_000,
    crashLoopAfter: 3,
    onEvent: (e) => events.push(e),
  });
  supervisor.watch(
    'broker:b',
    () => Promise.resolve(alive ? undefined : 'exited with code 1'),
    () => {
      if (failNextStarts > 0) {
        failNextStarts -= 1;
        return Promise.reject(new Error('exited with code 1 before it printed its endpoints'));
      }
      restarts += 1;
      alive = true;
      return Promise.resolve();
    },
  );
});

afterEach(() => {
  supervisor.close();
  vi.useRealTimers();
});

const kinds = () => events.map((e) => e.type);

describe('the local supervisor', () => {
  it('restarts a process that died after a stable run at once', async () => {
    await vi.advanceTimersByTimeAsync(120_000);
    alive = false;
    await vi.advanceTimersByTimeAsync(200);
    expect(restarts).toBe(1);
    expect(kinds()).toEqual(['died', 'restarted']);
    expect(supervisor.status('broker:b')).toEqual({
      state: 'RUNNING',
      crashes: 1,
      restarts: 1,
      lastExit: 'exited with code 1',
      upSinceMs: Date.now() - 100,
    });
  });

  it('waits longer after each crash soon after a start, up to the cap, and calls it a crash loop', async () => {
    const restartAfter = async (): Promise<number> => {
      const before = restarts;
      alive = false;
      let waited = 0;
      while (restarts === before) {
        await vi.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      return waited;
    };
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) waits.push(await restartAfter());
    // The first crash restarts at once; then 1 s, 2 s, 4 s, 8 s, 8 s (the cap), within a tick.
    const expected = [0, 1_000, 2_000, 4_000, 8_000, 8_000];
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(expected[i]!);
      expect(w).toBeLessThanOrEqual(expected[i]! + 200);
    });
    expect(events.filter((e) => e.type === 'crash-loop')).toHaveLength(1);
    expect(supervisor.status('broker:b')).toMatchObject({
      state: 'CRASH_LOOP',
      restarts: 6,
      lastExit: 'exited with code 1',
    });
    // A run that lasts clears it.
    await vi.advanceTimersByTimeAsync(61_000);
    expect(supervisor.status('broker:b')).toMatchObject({
      state: 'RUNNING',
      crashes: 0,
      restarts: 0,
    });
  });

  it('retries a restart that fails with a backoff, shows RESTARTING then CRASH_LOOP, and keeps trying', async () => {
    failNextStarts = 4;
    alive = false;
    await vi.advanceTimersByTimeAsync(150);
    expect(supervisor.status('broker:b')).toMatchObject({
      state: 'RESTARTING',
      lastError: expect.stringContaining('before it printed its endpoints'),
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(restarts).toBe(1);
    expect(kinds().filter((k) => k === 'restart-failed')).toHaveLength(4);
    expect(kinds()).toContain('crash-loop');
    expect(supervisor.status('broker:b')).toMatchObject({
      state: 'CRASH_LOOP',
      restarts: 5,
      lastExit: 'exited with code 1 before it printed its endpoints',
    });
  });

  it('forgets what it no longer watches', async () => {
    supervisor.unwatch('broker:b');
    alive = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(restarts).toBe(0);
    expect(supervisor.status('broker:b')).toBeUndefined();
  });
});
