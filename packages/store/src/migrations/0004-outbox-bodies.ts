import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- An outbox event whose messages' bodies were left out, because the messages table holds
    -- them: a SEND's body is written once, not twice. The relay puts them back before it
    -- publishes; a message already gone was consumed by a later event of the same outbox.
    ALTER TABLE replication_events ADD COLUMN bodies_in_store boolean NOT NULL DEFAULT false;
  `.execute(db);
}
