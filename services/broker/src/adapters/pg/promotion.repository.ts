import type { Database, Kysely, Transaction } from '@crdr/store';

/** A switchover demoting this primary: its log ends with the marker at `sequence`. */
export interface DemotionRecord {
  readonly promotionId: string;
  readonly nextEpoch: bigint;
  readonly sequence: bigint;
  readonly generation: bigint;
  readonly newPrimaryRegion: string | null;
  readonly newPrimaryBrokerId: string | null;
  readonly startedAtMs: number;
}

/** What this store last applied as a replica (its `replication_applied` row). */
export interface AppliedPositionRecord {
  readonly sourceBrokerId: string;
  readonly sourceGeneration: bigint;
  readonly sequence: bigint;
  readonly epoch: bigint;
  readonly lastCreatedAtMs: number;
  readonly lastAppliedAtMs: number;
}

/** This broker's own replication log. */
export interface LogInfo {
  readonly generation: bigint;
  readonly lastSeq: bigint;
  readonly publishedSeq: bigint;
}

type Db = Kysely<Database> | Transaction<Database>;

export async function readDemotion(db: Db): Promise<DemotionRecord | undefined> {
  const row = await db.selectFrom('broker_demotion').selectAll().executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    promotionId: row.promotion_id,
    nextEpoch: BigInt(row.next_epoch),
    sequence: BigInt(row.sequence),
    generation: BigInt(row.generation),
    newPrimaryRegion: row.new_primary_region,
    newPrimaryBrokerId: row.new_primary_broker_id,
    startedAtMs: Number(row.started_at_ms),
  };
}

export async function writeDemotion(trx: Transaction<Database>, d: DemotionRecord): Promise<void> {
  await trx
    .insertInto('broker_demotion')
    .values({
      id: 1,
      promotion_id: d.promotionId,
      next_epoch: d.nextEpoch,
      sequence: d.sequence,
      generation: d.generation,
      new_primary_region: d.newPrimaryRegion,
      new_primary_broker_id: d.newPrimaryBrokerId,
      started_at_ms: BigInt(d.startedAtMs),
    })
    .execute();
}

export async function clearDemotion(trx: Transaction<Database>): Promise<void> {
  await trx.deleteFrom('broker_demotion').execute();
}

export async function readAppliedPosition(db: Db): Promise<AppliedPositionRecord | undefined> {
  const row = await db
    .selectFrom('replication_applied')
    .selectAll()
    .where('id', '=', 1)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    sourceBrokerId: row.source_broker_id,
    sourceGeneration: BigInt(row.source_generation),
    sequence: BigInt(row.applied_seq),
    epoch: BigInt(row.epoch),
    lastCreatedAtMs: Number(row.last_created_at_ms),
    lastAppliedAtMs: Number(row.last_applied_at_ms),
  };
}

export async function readLogInfo(db: Db): Promise<LogInfo> {
  const log = await db
    .selectFrom('replication_log')
    .select(['generation', 'last_seq'])
    .executeTakeFirstOrThrow();
  const published = await db
    .selectFrom('replication_published')
    .select('published_seq')
    .executeTakeFirstOrThrow();
  return {
    generation: BigInt(log.generation),
    lastSeq: BigInt(log.last_seq),
    publishedSeq: BigInt(published.published_seq),
  };
}
