import { describe, expect, it } from 'vitest';
import {
  replicationHealth,
  replicationLagMs,
  stallDetectionMs,
  worseHealth,
  type PairProgress,
} from './replication-health.js';

// One controlled clock: the oldest waiting event was created at 1 000.
const waiting = (overrides: Partial<PairProgress> = {}): PairProgress => ({
  waitingEvents: 3n,
  oldestWaitingCreatedAtMs: 1_000,
  lastProgressAtMs: 500,
  ...overrides,
});
const running = { reachable: true, state: 'RUNNING', error: '' } as const;

describe('replicationLagMs', () => {
  it('is now - TC of the oldest waiting event, growing every second, 0 when none waits', () => {
    expect(replicationLagMs(waiting(), 1_000)).toBe(0);
    expect(replicationLagMs(waiting(), 4_000)).toBe(3_000);
    expect(replicationLagMs(waiting(), 5_000)).toBe(4_000);
    expect(replicationLagMs(waiting({ waitingEvents: 0n }), 5_000)).toBe(0);
    expect(replicationLagMs(waiting({ oldestWaitingCreatedAtMs: 9_000 }), 5_000)).toBe(0);
  });
});

describe('replicationHealth', () => {
  it('is REPLICATING while events are applied, even behind', () => {
    const progress = waiting({ lastProgressAtMs: 20_000 });
    expect(replicationHealth({ replicator: running, progress }, 25_000)).toEqual({
      status: 'REPLICATING',
      reason: '',
    });
    expect(replicationHealth({ progress: waiting({ waitingEvents: 0n }) }, 99_000).status).toBe(
      'REPLICATING',
    );
  });

  it('is STALLED once events waited 10 s with none applied, saying how many and how long', () => {
    const progress = waiting();
    const before = replicationHealth({ progress }, 1_000 + stallDetectionMs - 1);
    expect(before.status).toBe('REPLICATING');
    const after = replicationHealth(
      { replicator: { ...running, error: 'a slow store' }, progress },
      13_500,
    );
    expect(after.status).toBe('STALLED');
    expect(after.reason).toBe(
      '3 events wait and the replica applied none for 12 s; the replicator says: a slow store.',
    );
  });

  it("is STALLED at once while the replicator cannot reach the primary's NATS", () => {
    const health = replicationHealth(
      { replicator: { ...running, state: 'CONNECTING', error: 'NATS is down' } },
      1_000,
    );
    expect(health.status).toBe('STALLED');
    expect(health.reason).toBe(
      "The replicator cannot reach the primary Region's log, so nothing is applied: NATS is down.",
    );
  });

  it('is PAUSED while an operator paused the replicator, with a reason', () => {
    const health = replicationHealth(
      { replicator: { ...running, state: 'PAUSED' }, progress: waiting() },
      60_000,
    );
    expect(health.status).toBe('PAUSED');
    expect(health.reason).toMatch(/paused the replicator.*3 events waiting/);
  });

  it('is STALLED when the replicator is down or failed', () => {
    const down = replicationHealth(
      { replicator: { reachable: false, error: 'connection refused' } },
      0,
    );
    expect(down).toEqual({
      status: 'STALLED',
      reason: 'The replicator does not answer, so nothing is applied: connection refused.',
    });
    const failed = replicationHealth(
      { replicator: { ...running, state: 'FAILED', error: 'sequence gap: expected 5, got 7' } },
      0,
    );
    expect(failed.status).toBe('STALLED');
    expect(failed.reason).toContain('sequence gap: expected 5, got 7');
  });

  it('says the replicator is crash-looping while its supervisor says so, until it has run for 10 s', () => {
    const supervision = {
      state: 'CRASH_LOOP',
      restarts: 4,
      lastExit: 'exited with code 1 before it printed its endpoints: EADDRINUSE',
    } as const;
    const down = replicationHealth(
      { replicator: { reachable: false, error: 'connection refused', supervision } },
      0,
    );
    expect(down).toEqual({
      status: 'STALLED',
      reason:
        'The replicator is crash-looping: restarted 4 times, last exit: exited with code 1 ' +
        'before it printed its endpoints: EADDRINUSE.',
    });
    const justUp = { ...running, supervision: { ...supervision, upSinceMs: 50_000 } };
    expect(replicationHealth({ replicator: justUp }, 50_000 + stallDetectionMs - 1).reason).toMatch(
      /^The replicator is crash-looping: restarted 4 times/,
    );
    expect(replicationHealth({ replicator: justUp }, 50_000 + stallDetectionMs)).toEqual({
      status: 'REPLICATING',
      reason: '',
    });
  });

  it('says the replicator is being restarted after it ended', () => {
    const health = replicationHealth(
      {
        replicator: {
          reachable: false,
          error: 'connection refused',
          supervision: { state: 'RESTARTING', restarts: 1, lastExit: 'r-1 was killed by SIGKILL' },
        },
        progress: waiting(),
      },
      0,
    );
    expect(health).toEqual({
      status: 'STALLED',
      reason:
        'The replicator is down and being restarted (r-1 was killed by SIGKILL), so nothing is ' +
        'applied (3 events waiting).',
    });
  });

  it('keeps the worse of two views', () => {
    const ok = { status: 'REPLICATING', reason: '' } as const;
    const paused = { status: 'PAUSED', reason: 'p' } as const;
    const stalled = { status: 'STALLED', reason: 's' } as const;
    expect(worseHealth(ok, paused)).toBe(paused);
    expect(worseHealth(stalled, paused)).toBe(stalled);
    expect(worseHealth(paused, stalled)).toBe(stalled);
  });
});
