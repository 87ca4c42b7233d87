import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, unavailable, type CrdrError } from '@crdr/errors';
import { sql, type Database, type Kysely } from '@crdr/store';

export interface LeaseOptions {
  /**
   * Best a Kysely on its own small pool: renewals must not queue behind the broker's writes for
   * a free connection. Renewals never wait for write transactions (they hold the row FOR KEY
   * SHARE, which a plain UPDATE does not wait for), so a long write (a message of 100 MiB) does
   * not cost the lease; a takeover does wait for them.
   */
  readonly db: Kysely<Database>;
  /** One row per name: the broker's lease. */
  readonly name: string;
  /** Unique per process (two instances with one id would share the lease). */
  readonly holderId: string;
  /** How long a renewal keeps the lease; default 2000. */
  readonly ttlMs?: number;
  /** Both the holder's renewal period and the standby's polling period; default 500. */
  readonly renewEveryMs?: number;
  /** This instance became the active one, with a new fencing token. */
  readonly onAcquired?: (token: bigint) => void;
  /** This instance must stop serving at once. Not called by `stop()`. */
  readonly onLost?: (error: CrdrError) => void;
  /** A monotonic clock in ms, for the holder's own view of its lease; default `performance.now`. */
  readonly clock?: () => number;
}

export interface Lease {
  /**
   * Makes one attempt to acquire at once (rejecting when the store cannot be reached), then
   * renews or polls in the background. Aborting `signal` ends the loop without releasing the
   * lease, as a crash would; `stop()` releases it.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Ends the loop and releases the lease, so a standby takes over at its next poll. */
  stop(): Promise<void>;
  /** True while the last successful renewal is younger than `ttlMs` by the local clock. */
  readonly held: boolean;
  /** The fencing token of the current term; undefined as a standby and once lost or released. */
  readonly token: bigint | undefined;
  /**
   * Call it inside every write transaction, anywhere before the commit. It locks the lease row
   * FOR KEY SHARE, so a takeover (which locks the row FOR UPDATE first) waits for the
   * transaction to commit, while the holder's renewals go on beside it, and a
   * transaction that reads the row after a takeover committed no longer finds this holder's
   * token: the writes of a paused or partitioned old active fail instead of committing next to
   * the new active's. Unavailable when the lease is not this instance's.
   */
  assertHeld(trx: Kysely<Database>): Promise<void>;
}

/**
 * The active/standby lease of `ACTIVE_STANDBY_MULTI_AZ` (ActiveMQ's lease database locker):
 * whichever instance holds the row serves. Expiry is judged by the DATABASE clock only, so the
 * two hosts' clocks never have to agree; each acquisition starts a new term with a greater token.
 */
export function createLease(options: LeaseOptions): Lease {
  const { db, name, holderId } = options;
  const ttlMs = options.ttlMs ?? 2000;
  const renewEveryMs = options.renewEveryMs ?? 500;
  const clock = options.clock ?? (() => performance.now());
  if (!(renewEveryMs > 0 && renewEveryMs < ttlMs)) {
    throw new RangeError(
      `lease renewEveryMs (${renewEveryMs}) must be above 0 and below ttlMs (${ttlMs})`,
    );
  }

  let token: bigint | undefined;
  let validUntilMs = 0;
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;

  const expiresAtMs = sql<bigint>`${dbNowMs} + ${ttlMs}`;

  // One atomic statement: insert the row, or take it over when it expired or is already ours
  // (a restart with the same id). Every acquisition increments the token, so writes of an
  // earlier term fail assertHeld even when the same holder comes back.
  async function acquire(): Promise<bigint | undefined> {
    return db.transaction().execute(async (trx) => {
      // A takeover first waits for the write transactions of the term it ends: they hold the
      // row FOR KEY SHARE, which only FOR UPDATE waits for (the upsert below, like a renewal,
      // would not). Only a row this instance may take is locked, so a standby's poll of a live
      // lease never waits.
      await trx
        .selectFrom('leases')
        .select('token')
        .where('name', '=', name)
        .where((eb) => eb.or([eb('expires_at_ms', '<', dbNowMs), eb('holder', '=', holderId)]))
        .forUpdate()
        .execute();
      return upsert(trx);
    });
  }

  async function upsert(trx: Kysely<Database>): Promise<bigint | undefined> {
    const row = await trx
      .insertInto('leases')
      .values({ name, holder: holderId, token: 1n, expires_at_ms: expiresAtMs })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            token: eb('leases.token', '+', 1n),
            expires_at_ms: eb.ref('excluded.expires_at_ms'),
          }))
          .where((eb) =>
            eb.or([eb('leases.expires_at_ms', '<', dbNowMs), eb('leases.holder', '=', holderId)]),
          ),
      )
      .returning('token')
      .executeTakeFirst();
    return row?.token;
  }

  // Renewal does not look at expiry: while the token is unchanged nobody else has held the
  // lease, even if it lapsed for a moment.
  async function renew(current: bigint): Promise<boolean> {
    const result = await db
      .updateTable('leases')
      .set({ expires_at_ms: expiresAtMs })
      .where('name', '=', name)
      .where('holder', '=', holderId)
      .where('token', '=', current)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  function lose(error: CrdrError): void {
    token = undefined;
    validUntilMs = 0;
    notify(options.onLost, error);
  }

  /** One acquisition attempt or renewal; never throws. Returns the failure of an attempt. */
  async function tick(): Promise<unknown> {
    const startedAtMs = clock();
    if (token === undefined) {
      const outcome = await withDeadline(acquire(), ttlMs);
      if (outcome.kind === 'failed') return outcome.error;
      if (outcome.kind === 'timedOut') return unavailable(`lease "${name}": acquisition timed out`);
      if (outcome.value !== undefined) {
        token = outcome.value;
        validUntilMs = startedAtMs + ttlMs;
        notify(options.onAcquired, token);
      }
      return undefined;
    }
    const current = token;
    // Past the local deadline a standby may already serve; the holder gives up then rather than
    // keep clients waiting on a renewal that may never return.
    const outcome = await withDeadline(
      renew(current),
      Math.max(validUntilMs - startedAtMs, renewEveryMs),
    );
    if (outcome.kind === 'done' && outcome.value) {
      validUntilMs = startedAtMs + ttlMs;
    } else if (outcome.kind === 'done') {
      lose(unavailable(lostMessage, { details: { lease: name } }));
    } else if (outcome.kind === 'failed') {
      lose(
        unavailable(`lease lost: renewal failed: ${messageOf(outcome.error)}`, {
          cause: outcome.error,
          details: { lease: name },
        }),
      );
    } else {
      lose(
        unavailable('lease lost: renewal did not complete in time', { details: { lease: name } }),
      );
    }
    return undefined;
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(renewEveryMs, undefined, { signal });
      } catch {
        return; // aborted
      }
      await tick();
    }
  }

  return {
    async start(signal) {
      if (controller !== undefined) throw failedPrecondition(`lease "${name}" was already started`);
      const own = new AbortController();
      controller = own;
      const abort = () => own.abort();
      if (signal?.aborted === true) return;
      signal?.addEventListener('abort', abort, { once: true });
      const failure = await tick();
      if (failure !== undefined) {
        signal?.removeEventListener('abort', abort);
        own.abort();
        throw unavailable(`lease "${name}": the store cannot be reached: ${messageOf(failure)}`, {
          cause: failure,
        });
      }
      loop = run(own.signal).finally(() => signal?.removeEventListener('abort', abort));
    },

    async stop() {
      controller?.abort();
      await loop;
      const current = token;
      token = undefined;
      validUntilMs = 0;
      if (current === undefined) return;
      // expires_at_ms 0 is in the past for every clock: the standby's next poll takes over.
      await db
        .updateTable('leases')
        .set({ expires_at_ms: 0n })
        .where('name', '=', name)
        .where('holder', '=', holderId)
        .where('token', '=', current)
        .execute();
    },

    get held() {
      return token !== undefined && clock() < validUntilMs;
    },

    get token() {
      return token;
    },

    async assertHeld(trx) {
      const current = token;
      if (current === undefined) {
        throw unavailable('lease not held: this broker instance is a standby', {
          details: { lease: name },
        });
      }
      const row = await trx
        .selectFrom('leases')
        .select('token')
        .where('name', '=', name)
        .where('holder', '=', holderId)
        .where('token', '=', current)
        .forKeyShare()
        .executeTakeFirst();
      if (row === undefined) throw unavailable(lostMessage, { details: { lease: name } });
    },
  };
}

const lostMessage = 'lease lost: another broker instance is active';

const dbNowMs = sql<bigint>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

type Outcome<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timedOut' };

/** Waits for `work` at most `deadlineMs`; a late result is dropped. Clears its timer. */
async function withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = work.then(
    (value): Outcome<T> => ({ kind: 'done', value }),
    (error: unknown): Outcome<T> => ({ kind: 'failed', error }),
  );
  const timedOut = new Promise<Outcome<T>>((resolve) => {
    // After a stall of the whole process (an overloaded host does not schedule it for a
    // second or two), the expired timer runs before the poll phase reads the answer that
    // arrived meanwhile: give that answer one turn of the loop before calling it late.
    timer = setTimeout(() => setImmediate(() => resolve({ kind: 'timedOut' })), deadlineMs);
  });
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** A callback that throws is a bug of the caller: it surfaces as an uncaught exception. */
function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
