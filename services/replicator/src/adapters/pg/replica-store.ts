import { conflict, CrdrError, failedPrecondition, unavailable } from '@crdr/errors';
import type { DecodedEvent } from '@crdr/replication';
import {
  createDb,
  createPool,
  ensureDatabase,
  migrateToLatest,
  sql,
  type Database,
  type Kysely,
  type Pool,
} from '@crdr/store';
import { DuplicateMessageKeyError } from '../../domain/message-change-set.js';
import type { AppliedRecord } from '../../domain/replicator-state.js';
import {
  claimPosition,
  claimPositionSql,
  isPromoted,
  movePositionSql,
  readAppliedPosition,
} from './applied-position.repository.js';
import { fitsOneStatement, planApply, ReplicaDivergedError } from './apply-plan.js';
import { applySteps, messageStatements, type ApplyStats } from './event-applier.js';
import { isRefusedByStore } from './pg-errors.js';

/**
 * The replica broker's Postgres store as the replicator writes it. Errors are `CrdrError`s whose
 * `details.reason` says what the replicator should do:
 * - `apply-rejected` (FailedPrecondition): the store refuses the changes; retrying cannot help.
 * - `position-moved` (Conflict): someone else moved the applied position; reload it.
 * - `store-unavailable` (Unavailable): Postgres is away or busy; back off and retry.
 */
export interface ReplicaStore {
  /** Creates the database when missing and migrates it (the schema the broker uses). */
  prepare(): Promise<void>;
  load(): Promise<AppliedRecord | undefined>;
  /**
   * Applies `events` (already decided `apply`, in order) and moves the applied position from
   * `from` to `to`, in one transaction.
   */
  apply(
    events: readonly DecodedEvent[],
    from: AppliedRecord | undefined,
    to: AppliedRecord,
  ): Promise<ApplyStats>;
  close(): Promise<void>;
}

export interface ReplicaStoreOptions {
  readonly url: string;
  readonly poolSize?: number;
}

export function createReplicaStore(options: ReplicaStoreOptions): ReplicaStore {
  let pool: Pool | undefined;
  let db: Kysely<Database> | undefined;
  const open = (): Kysely<Database> => {
    if (db === undefined) {
      pool = createPool(options.url, {
        max: options.poolSize ?? 4,
        applicationName: 'crdr-replicator',
      });
      db = createDb(pool);
    }
    return db;
  };

  return {
    async prepare() {
      try {
        await ensureDatabase(options.url);
        await migrateToLatest(open());
      } catch (error) {
        throw storeUnavailable('preparing the replica store', error);
      }
    },
    async load() {
      try {
        return await readAppliedPosition(open());
      } catch (error) {
        throw storeUnavailable('reading the applied position', error);
      }
    },
    async apply(events, from, to) {
      try {
        const steps = planApply(events);
        const db = open();
        if (fitsOneStatement(steps)) {
          // The common batch (message changes only): one statement in autocommit, one round
          // trip and one WAL flush, every change conditioned on the claimed position.
          const guard = sql`EXISTS (SELECT FROM pos)`;
          const ctes = [sql`pos AS (${claimPositionSql(from, to)})`];
          const step = steps[0];
          if (step?.kind === 'messages') {
            for (const statement of messageStatements(step.changes, guard)) {
              ctes.push(sql`${sql.raw(statement.name)} AS (${statement.sql})`);
            }
          }
          const move = movePositionSql(from, to, guard);
          if (move !== undefined) ctes.push(sql`moved AS (${move})`);
          const result = await sql<{ held: number }>`
            WITH ${sql.join(ctes, sql`, `)} SELECT (SELECT count(*) FROM pos)::int AS held`.execute(
            db,
          );
          if (result.rows[0]?.held !== 1) throw await claimRefused(db, from);
          return {
            statements: 1,
            inserted: step?.kind === 'messages' ? step.changes.inserts.length : 0,
            removed: step?.kind === 'messages' ? step.changes.removals.length : 0,
          };
        }
        return await db.transaction().execute(async (trx) => {
          if (!(await claimPosition(trx, from, to))) throw await claimRefused(db, from);
          const stats = await applySteps(trx, steps);
          await movePositionSql(from, to, sql`true`)?.execute(trx);
          return stats;
        });
      } catch (error) {
        if (error instanceof CrdrError) throw error;
        if (
          error instanceof ReplicaDivergedError ||
          error instanceof DuplicateMessageKeyError ||
          isRefusedByStore(error)
        ) {
          const first = events[0]?.sequence ?? '?';
          throw failedPrecondition(`${(error as Error).message}`, {
            cause: error,
            details: {
              reason: 'apply-rejected',
              firstSequence: first,
              lastSequence: String(to.sequence),
            },
          });
        }
        throw storeUnavailable(`applying events up to ${to.sequence}`, error);
      }
    },
    async close() {
      await db?.destroy();
      db = undefined;
      pool = undefined;
    },
  };
}

/** Why a claim found nothing: the replica broker was promoted, or the position moved. */
async function claimRefused(
  db: Kysely<Database>,
  from: AppliedRecord | undefined,
): Promise<CrdrError> {
  if (await isPromoted(db)) {
    return failedPrecondition(
      'the replica broker was promoted to primary: its store takes no more replicated changes, and this replicator must stop',
      { details: { reason: 'replica-promoted' } },
    );
  }
  return positionMoved(from);
}

function positionMoved(from: AppliedRecord | undefined): CrdrError {
  return conflict(
    `the applied position moved under this replicator (it expected ${from === undefined ? 'no row' : `sequence ${from.sequence} of ${from.sourceBrokerId}`}): is another replicator applying to the same store?`,
    { details: { reason: 'position-moved' } },
  );
}

function storeUnavailable(what: string, error: unknown): CrdrError {
  const message = error instanceof Error ? error.message : String(error);
  return unavailable(`replica store: ${what} failed: ${message}`, {
    cause: error,
    details: { reason: 'store-unavailable' },
  });
}
