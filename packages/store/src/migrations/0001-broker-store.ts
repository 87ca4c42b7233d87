import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE broker_meta (
      id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      broker_id text NOT NULL,
      role text NOT NULL CHECK (role IN ('PRIMARY', 'REPLICA')),
      epoch bigint NOT NULL DEFAULT 0,
      primary_region text,
      primary_broker_id text,
      data_replication_mode text NOT NULL DEFAULT 'NONE' CHECK (data_replication_mode IN ('NONE', 'CRDR')),
      updated_at_ms bigint NOT NULL
    );
    CREATE TABLE destinations (
      id serial PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('queue', 'topic')),
      name text NOT NULL,
      created_at_ms bigint NOT NULL,
      UNIQUE (kind, name)
    );
    CREATE TABLE stores (
      id serial PRIMARY KEY,
      destination_id integer NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('queue', 'durable')),
      client_id text,
      subscription_name text,
      selector text,
      dispatched_hwm bigint NOT NULL DEFAULT 0,
      created_at_ms bigint NOT NULL,
      CHECK ((kind = 'queue') = (client_id IS NULL AND subscription_name IS NULL))
    );
    CREATE UNIQUE INDEX stores_one_queue ON stores (destination_id) WHERE kind = 'queue';
    CREATE UNIQUE INDEX stores_durable_name ON stores (client_id, subscription_name) WHERE kind = 'durable';
    -- No foreign key to stores: its per-row check costs more than the insert itself on the hot
    -- path; whoever deletes a store deletes its messages in the same transaction.
    CREATE TABLE messages (
      store_id integer NOT NULL,
      priority smallint NOT NULL CHECK (priority BETWEEN 0 AND 9),
      seq bigint NOT NULL,
      message_id text NOT NULL,
      destination text NOT NULL,
      headers jsonb NOT NULL,
      body bytea NOT NULL,
      expires_at_ms bigint,
      enqueued_at_ms bigint NOT NULL,
      redelivery_count integer NOT NULL DEFAULT 0,
      PRIMARY KEY (store_id, priority, seq)
    );
    CREATE INDEX messages_expiry ON messages (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
    CREATE TABLE scheduled_messages (
      id bigserial PRIMARY KEY,
      message_id text NOT NULL,
      destination text NOT NULL,
      priority smallint NOT NULL,
      persistent boolean NOT NULL,
      headers jsonb NOT NULL,
      body bytea NOT NULL,
      expires_at_ms bigint,
      deliver_at_ms bigint NOT NULL,
      created_at_ms bigint NOT NULL
    );
    CREATE INDEX scheduled_messages_due ON scheduled_messages (deliver_at_ms);
    CREATE TABLE users (
      username text PRIMARY KEY,
      password_hash text NOT NULL,
      groups text[] NOT NULL DEFAULT '{}',
      console_access boolean NOT NULL DEFAULT false,
      replication_user boolean NOT NULL DEFAULT false,
      created_at_ms bigint NOT NULL,
      CHECK (NOT (console_access AND replication_user))
    );
    CREATE TABLE leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      token bigint NOT NULL,
      expires_at_ms bigint NOT NULL
    );
  `.execute(db);
}
