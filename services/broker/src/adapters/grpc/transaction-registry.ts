import { randomBytes } from 'node:crypto';
import { notFound } from '@crdr/errors';
import type { Session } from '../../engine/engine.types.js';

/** How long a transaction may sit unused before it is aborted. */
export const defaultTransactionIdleTimeoutMs = 60_000;

interface OpenTransaction {
  readonly id: string;
  readonly session: Session;
  /** Calls running in it now; the idle timer only runs while there are none. */
  busy: number;
  timer: NodeJS.Timeout | undefined;
}

export interface TransactionRegistryOptions {
  readonly idleTimeoutMs?: number;
  /** Told when aborting a discarded transaction fails (its session is closed anyway). */
  readonly onError?: (error: unknown, transactionId: string) => void;
}

/**
 * The gRPC transactions: each has its own engine session, opened by BeginTransaction and closed
 * by Commit/Abort, owned by the user who began it. Ids are random (128 bits), so a transaction
 * cannot be guessed; an unknown id and another user's transaction are both NotFound, so a caller
 * learns nothing about transactions that are not theirs.
 */
export class TransactionRegistry {
  readonly #open = new Map<string, OpenTransaction>();
  readonly #idleTimeoutMs: number;
  readonly #onError: (error: unknown, transactionId: string) => void;

  constructor(options: TransactionRegistryOptions = {}) {
    this.#idleTimeoutMs = options.idleTimeoutMs ?? defaultTransactionIdleTimeoutMs;
    this.#onError = options.onError ?? (() => {});
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * Begins a transaction on a session of its own, opened by `openSession` (which gets the new
   * transaction's id, e.g. to discard it when the session is evicted); the transaction owns the
   * session and closes it when it ends.
   */
  async begin(openSession: (transactionId: string) => Session): Promise<string> {
    const id = `tx-${randomBytes(16).toString('base64url')}`;
    const session = openSession(id);
    try {
      session.begin(id);
    } catch (error) {
      await session.close();
      throw error;
    }
    const transaction: OpenTransaction = { id, session, busy: 0, timer: undefined };
    this.#open.set(id, transaction);
    this.#arm(transaction);
    return id;
  }

  /** Runs `fn` on the session of `username`'s transaction `id`, holding off the idle timeout. */
  async use<T>(id: string, username: string, fn: (session: Session) => Promise<T>): Promise<T> {
    const transaction = this.#find(id, username);
    transaction.busy++;
    clearTimeout(transaction.timer);
    try {
      return await fn(transaction.session);
    } finally {
      transaction.busy--;
      if (this.#open.get(id) === transaction) this.#arm(transaction);
    }
  }

  /**
   * Ends `username`'s transaction `id` with `fn` (commit or abort) and closes its session,
   * whether `fn` succeeds or not: the engine forgets a transaction once it was asked to end it.
   */
  async end(id: string, username: string, fn: (session: Session) => Promise<void>): Promise<void> {
    const transaction = this.#find(id, username);
    this.#forget(transaction);
    try {
      await fn(transaction.session);
    } finally {
      await transaction.session.close();
    }
  }

  /** Aborts transaction `id` and closes its session, if it is open (idle, evicted, shutdown). */
  async discard(id: string): Promise<void> {
    const transaction = this.#open.get(id);
    if (transaction) await this.#discard(transaction);
  }

  /** Aborts every open transaction (on shutdown). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#open.values()].map((tx) => this.#discard(tx)));
  }

  #find(id: string, username: string): OpenTransaction {
    const transaction = this.#open.get(id);
    if (!transaction || transaction.session.principal.username !== username) {
      throw notFound(`transaction "${id}" is not open`, { details: { field: 'transaction_id' } });
    }
    return transaction;
  }

  #arm(transaction: OpenTransaction): void {
    clearTimeout(transaction.timer);
    if (transaction.busy > 0) return;
    transaction.timer = setTimeout(() => void this.#discard(transaction), this.#idleTimeoutMs);
    transaction.timer.unref();
  }

  #forget(transaction: OpenTransaction): void {
    clearTimeout(transaction.timer);
    this.#open.delete(transaction.id);
  }

  async #discard(transaction: OpenTransaction): Promise<void> {
    if (this.#open.get(transaction.id) !== transaction) return;
    this.#forget(transaction);
    try {
      await transaction.session.abort(transaction.id);
    } catch (error) {
      this.#onError(error, transaction.id);
    } finally {
      await transaction.session
        .close()
        .catch((error: unknown) => this.#onError(error, transaction.id));
    }
  }
}
