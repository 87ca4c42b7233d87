import { randomBytes } from 'node:crypto';
import { dropDatabase, ensureDatabase } from '@crdr/store';

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database on the test Postgres (`PG_URL`, default the local server), so that
 * spec files run in parallel without sharing state (docs/style.md §10).
 */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const base = new URL(process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/${prefix}_${randomBytes(6).toString('hex')}`;
  const url = base.toString();
  await ensureDatabase(url);
  return { url, drop: () => dropDatabase(url) };
}
