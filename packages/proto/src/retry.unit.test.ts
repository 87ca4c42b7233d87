import { CrdrError, notFound, unavailable } from '@crdr/errors';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, retryableCodes, withRetry } from './retry.js';

describe('backoffDelayMs', () => {
  it('is full jitter under an exponential ceiling capped at maxDelayMs', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelayMs(0, { ...options, random: () => 0.999 })).toBe(99);
    expect(backoffDelayMs(2, { ...options, random: () => 0.5 })).toBe(200);
    expect(backoffDelayMs(10, { ...options, random: () => 0.999 })).toBe(999);
    expect(backoffDelayMs(3, { ...options, random: () => 0 })).toBe(0);
  });
});

describe('withRetry', () => {
  const fast = { baseDelayMs: 1, maxDelayMs: 2 };

  it('retries only the retryable codes', () => {
    expect([...retryableCodes].sort()).toEqual(['DeadlineExceeded', 'Unavailable']);
  });

  it('retries an Unavailable failure until it succeeds', async () => {
    const attempts: number[] = [];
    const result = await withRetry(async (attempt) => {
      attempts.push(attempt);
      if (attempt < 2) throw unavailable('down');
      return 'ok';
    }, fast);
    expect(result).toBe('ok');
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('gives up after `retries` retries with the last error', async () => {
    let calls = 0;
    const failure = withRetry(
      async () => {
        calls++;
        throw unavailable(`down ${calls}`);
      },
      { ...fast, retries: 2 },
    );
    await expect(failure).rejects.toMatchObject({ code: 'Unavailable', message: 'down 3' });
    expect(calls).toBe(3);
  });

  it('does not retry an answer such as NotFound', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw notFound('queue X');
      }, fast),
    ).rejects.toMatchObject({ code: 'NotFound' });
    expect(calls).toBe(1);
  });

  it('maps raw gRPC errors through fromGrpcError', async () => {
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw Object.assign(new Error('14 UNAVAILABLE'), {
          code: status.UNAVAILABLE,
          details: 'connection refused',
          metadata: new Metadata(),
        });
      },
      { ...fast, retries: 1 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrdrError);
    expect(error).toMatchObject({ code: 'Unavailable', message: 'connection refused' });
    expect(calls).toBe(2);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const failure = withRetry(
      async () => {
        throw unavailable('down');
      },
      { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 5);
    await expect(failure).rejects.toMatchObject({ code: 'Aborted' });
  });
});
