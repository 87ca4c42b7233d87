import { CrdrError, deadlineExceeded } from '@crdr/errors';
import { SequenceWaiters } from '../../domain/sequence-waiters.js';

interface Waiter {
  resolve(applied: bigint): void;
  reject(error: CrdrError): void;
}

/** WaitForSequence's callers, each with its deadline and cancellation. */
export class AppliedWaiters {
  readonly #waiters = new SequenceWaiters<Waiter>();

  /**
   * Resolves with the applied sequence once `sequence` is applied (`release`), rejects with
   * DeadlineExceeded after `timeoutMs` (saying `describe()`), with Aborted when `signal` aborts,
   * or with what `rejectAll` is given.
   */
  wait(
    sequence: bigint,
    timeoutMs: number,
    describe: () => string,
    signal?: AbortSignal,
  ): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const remove = this.#waiters.add(sequence, {
        resolve(applied) {
          done();
          resolve(applied);
        },
        reject(failure) {
          done();
          reject(failure);
        },
      });
      const timer = setTimeout(() => {
        remove();
        done();
        reject(
          deadlineExceeded(
            `sequence ${sequence} was not applied within ${timeoutMs} ms (${describe()})`,
          ),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        remove();
        done();
        reject(new CrdrError('Aborted', 'the wait was cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(applied: bigint): void {
    for (const w of this.#waiters.release(applied)) w.resolve(applied);
  }

  rejectAll(error: CrdrError): void {
    for (const w of this.#waiters.releaseAll()) w.reject(error);
  }
}
