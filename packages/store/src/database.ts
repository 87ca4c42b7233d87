import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import pg from 'pg';
import { CrdrError } from '@crdr/errors';
import type { Database } from './schema.js';
import { migrations as brokerMigrations } from './migrations/index.js';

// int8 arrives as bigint everywhere (sequence numbers are bigint end to end, docs/style.md §3).
type ParseValue = (value: string) => unknown;
function getTypeParser(oid: number, format?: string): ParseValue {
  if (oid === 20 && format !== 'binary') return (value) => BigInt(value);
  return pg.types.getTypeParser(oid, format as 'text') as ParseValue;
}
const types = { getTypeParser: getTypeParser as typeof pg.types.getTypeParser };

export interface PoolOptions {
  readonly max?: number;
  readonly applicationName?: string;
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    application_name: options.applicationName ?? 'crdr',
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next query fails.
  pool.on('error', () => undefined);
  // A connection lost while a client is checked out between two statements (a transaction
  // waiting on the caller) would be an uncaught 'error' event; the client's next query fails
  // with it instead, and the pool discards the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function createDb<T = Database>(pool: pg.Pool): Kysely<T> {
  return new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new CrdrError(
      'BadRequest',
      `database name "${name}" may hold only letters, digits and _`,
    );
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"`).catch((error: unknown) => {
        // Two processes may race to create it; either way it exists now.
        // 42P04 duplicate_database, or 23505 when both inserts reach the catalog at once.
        const code = (error as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Applies every pending migration; safe to run from several processes at once. */
export async function migrateToLatest<T>(
  db: Kysely<T>,
  migrations: Readonly<Record<string, Migration>> = brokerMigrations,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    // Whatever the migration threw, as text; `unknown` keeps String() from assuming an object.
    const reason: unknown = error;
    throw new CrdrError('Internal', `migration ${failed} failed: ${String(reason)}`, {
      cause: error,
    });
  }
}
