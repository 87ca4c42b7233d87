import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The primary's outbox: each replicable change's event, written in the change's own
    -- transaction. Rows are removed once the relay has published them to JetStream.
    CREATE TABLE replication_events (
      seq bigint PRIMARY KEY,
      epoch bigint NOT NULL,
      created_at_ms bigint NOT NULL,
      payload bytea NOT NULL
    );
    -- The primary's side of its log: the last sequence written (by the store writer) and the
    -- last one published (by the relay), in two rows so the two never wait on each other's lock.
    CREATE TABLE replication_log (
      id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      last_seq bigint NOT NULL DEFAULT 0,
      -- Grows each time replication is turned on: a new log, from sequence 1, starting with a
      -- snapshot of the store. The relay recreates the stream when it meets a new generation.
      generation bigint NOT NULL DEFAULT 0
    );
    INSERT INTO replication_log (id) VALUES (1);
    CREATE TABLE replication_published (
      id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      published_seq bigint NOT NULL DEFAULT 0,
      published_at_ms bigint NOT NULL DEFAULT 0
    );
    INSERT INTO replication_published (id) VALUES (1);
    -- The replica's side: the last event applied, committed with the changes it made.
    CREATE TABLE replication_applied (
      id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      source_broker_id text NOT NULL,
      epoch bigint NOT NULL,
      applied_seq bigint NOT NULL,
      last_created_at_ms bigint NOT NULL,
      last_applied_at_ms bigint NOT NULL
    );
  `.execute(db);
}
