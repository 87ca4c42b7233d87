import type { DecodedEvent } from '@crdr/replication';
import {
  advanceDispatchMarksSql,
  deleteMessagesSql,
  insertMessagesSql,
  recordRedeliveryCountsSql,
  sql,
  type Database,
  type RawBuilder,
  type Transaction,
} from '@crdr/store';
import type { MessageChanges } from '../../domain/message-change-set.js';
import { planApply, type ApplyStep, type ReplicaRow } from './apply-plan.js';
import { applyStructural } from './structural-changes.js';

export { ReplicaDivergedError } from './apply-plan.js';

/** What one apply wrote, for logs, tests and benchmarks. */
export interface ApplyStats {
  readonly statements: number;
  readonly inserted: number;
  readonly removed: number;
}

// One INSERT carries at most this many body bytes or rows: Postgres takes a parameter of up to
// 1 GiB, but a statement of a few MiB already costs no more per row than a bigger one.
const maxInsertBytes = 8 << 20;
const maxInsertRows = 5_000;

/**
 * Applies decoded events, in order, inside the caller's transaction, exactly as
 * `replication.proto` defines each change. Rows keep the primary's ids (destination, store,
 * message keys). See `planApply` for how a batch is folded into few set-based statements.
 */
export function applyEvents(
  trx: Transaction<Database>,
  events: readonly DecodedEvent[],
): Promise<ApplyStats> {
  return applySteps(trx, planApply(events));
}

/** Runs the steps one statement after the other, in the caller's transaction. */
export async function applySteps(
  trx: Transaction<Database>,
  steps: readonly ApplyStep[],
): Promise<ApplyStats> {
  const stats = { statements: 0, inserted: 0, removed: 0 };
  const exec = async (statement: RawBuilder<unknown>): Promise<void> => {
    stats.statements++;
    await statement.execute(trx);
  };
  for (const step of steps) {
    if (step.kind === 'reset') {
      // The snapshot that follows is the whole state: what the store held goes (a resync of a
      // store that diverged, such as an old primary's after a failover).
      await exec(
        sql`TRUNCATE messages, stores, destinations, users, scheduled_messages RESTART IDENTITY`,
      );
      continue;
    }
    if (step.kind === 'structural') {
      await applyStructural(trx, step.event, exec);
      continue;
    }
    // Removals name rows from before the step and inserts rows of the step: removing first
    // lets a key removed and sent again within the step be written anew.
    const statements = messageStatements(step.changes, sql`true`);
    for (const statement of statements) await exec(statement.sql);
    stats.inserted += step.changes.inserts.length;
    stats.removed += step.changes.removals.length;
  }
  return stats;
}

/**
 * The statements of one step of message changes, each conditioned on `guard`: removals, the
 * inserts (in chunks), redelivery counts, dispatch marks. They touch disjoint rows unless a key
 * is both removed and inserted, so without such a key they may run as one statement's CTEs.
 */
export function messageStatements(
  changes: MessageChanges<ReplicaRow>,
  guard: RawBuilder<unknown>,
): Array<{ readonly name: string; readonly sql: RawBuilder<unknown> }> {
  const { removals, inserts, counts, marks } = changes;
  const statements: Array<{ name: string; sql: RawBuilder<unknown> }> = [];
  if (removals.length > 0)
    statements.push({ name: 'removed', sql: deleteMessagesSql(removals, guard) });
  let chunk = 0;
  for (const rows of insertChunks(inserts)) {
    statements.push({ name: `inserted${chunk++}`, sql: insertMessagesSql(rows, guard) });
  }
  if (counts.length > 0) {
    const rows = counts.map((c) => ({ ...c.key, count: c.count }));
    statements.push({ name: 'counted', sql: recordRedeliveryCountsSql(rows, guard) });
  }
  if (marks.length > 0)
    statements.push({ name: 'marked', sql: advanceDispatchMarksSql(marks, guard) });
  return statements;
}

function* insertChunks(rows: readonly ReplicaRow[]): Generator<ReplicaRow[]> {
  let chunk: ReplicaRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (
      chunk.length > 0 &&
      (chunk.length >= maxInsertRows || bytes + row.body.length > maxInsertBytes)
    ) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += row.body.length;
  }
  if (chunk.length > 0) yield chunk;
}
