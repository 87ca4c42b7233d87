import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Which log of the source broker the applied sequence counts: each new log (replication
    -- turned on, a promotion) has a new generation and starts again from sequence 1.
    ALTER TABLE replication_applied ADD COLUMN source_generation bigint NOT NULL DEFAULT 0;
    -- A primary being demoted by a switchover (one row while it lasts): it serves no client,
    -- and its log ends with the switchover marker at \`sequence\`.
    CREATE TABLE broker_demotion (
      id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      promotion_id text NOT NULL,
      next_epoch bigint NOT NULL,
      sequence bigint NOT NULL,
      generation bigint NOT NULL,
      new_primary_region text,
      new_primary_broker_id text,
      started_at_ms bigint NOT NULL
    );
  `.execute(db);
}
