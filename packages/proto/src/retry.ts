import type { CrdrError, ErrorCode } from '@crdr/errors';
import { aborted } from '@crdr/errors';
import { fromGrpcError } from './status-mapping.js';

/**
 * The one set of error codes worth retrying, and only for idempotent calls (a read, a set to a
 * value, a command with a client-chosen id): UNAVAILABLE (the server could not be reached or is
 * restarting) and DEADLINE_EXCEEDED (the attempt took too long, so it may or may not have taken
 * effect; that is why only idempotent calls may be retried). Everything else is an answer: a
 * second try would get the same one.
 */
export const retryableCodes: readonly ErrorCode[] = Object.freeze([
  'Unavailable',
  'DeadlineExceeded',
]);

export function isRetryable(error: CrdrError): boolean {
  return retryableCodes.includes(error.code);
}

export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  readonly retries?: number;
  /** Cap of the first backoff; it doubles each retry. Default 100 ms. */
  readonly baseDelayMs?: number;
  /** Cap of any backoff. Default 5000 ms. */
  readonly maxDelayMs?: number;
  /** Stops retrying: the wait ends and an Aborted error (caused by the last failure) is thrown. */
  readonly signal?: AbortSignal;
  /** Told before each wait. */
  readonly onRetry?: (error: CrdrError, attempt: number, delayMs: number) => void;
  /** Uniform in [0, 1); injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * The backoff before retry number `attempt` (0-based): "full jitter", uniform between 0 and
 * min(maxDelayMs, baseDelayMs * 2^attempt), so clients that failed together do not retry together.
 */
export function backoffDelayMs(
  attempt: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {},
): number {
  const { baseDelayMs = 100, maxDelayMs = 5_000, random = Math.random } = options;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn` until it succeeds, it fails with a code outside {@link retryableCodes}, or the
 * retries are spent; failures are `CrdrError`s (through `fromGrpcError`). Wrap only idempotent
 * calls. `fn` gets the attempt number, 0 for the first.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (thrown) {
      const error = fromGrpcError(thrown);
      if (attempt >= retries || !isRetryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options);
      options.onRetry?.(error, attempt + 1, delayMs);
      if (!(await sleep(delayMs, options.signal))) {
        throw aborted('retry aborted', { cause: error });
      }
    }
  }
}
