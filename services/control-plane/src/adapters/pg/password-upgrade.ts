import type pg from 'pg';

/**
 * Replaces the plain-text passwords of broker users that events recorded before passwords were
 * hashed (`{"username", "password", "groups", ...}` anywhere in an event) by their scrypt hash
 * (`passwordHash`), in place, in one transaction. Runs at start before anything reads the store,
 * so the registry only ever folds hashes; a store without such rows is left as it is. The
 * control plane's own admin credentials (`adminUser`, no `groups`) are not users and are kept.
 */
export async function hashStoredPasswords(
  pool: pg.Pool,
  hash: (password: string) => Promise<string>,
  table = 'broker_events',
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ position: string; data: unknown }>(
      `SELECT position, data FROM ${table} WHERE data::text LIKE '%"password"%' FOR UPDATE`,
    );
    let upgraded = 0;
    for (const row of rows) {
      const { value, changed } = await upgrade(row.data, hash);
      if (!changed) continue;
      await client.query(`UPDATE ${table} SET data = $2::jsonb WHERE position = $1`, [
        row.position,
        JSON.stringify(value),
      ]);
      upgraded += 1;
    }
    await client.query('COMMIT');
    return upgraded;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function upgrade(
  value: unknown,
  hash: (password: string) => Promise<string>,
): Promise<{ value: unknown; changed: boolean }> {
  if (Array.isArray(value)) {
    let changed = false;
    const out: unknown[] = [];
    for (const item of value) {
      const next = await upgrade(item, hash);
      changed ||= next.changed;
      out.push(next.value);
    }
    return { value: out, changed };
  }
  if (value === null || typeof value !== 'object') return { value, changed: false };
  const record = value as Record<string, unknown>;
  const isUser =
    typeof record['username'] === 'string' &&
    typeof record['password'] === 'string' &&
    Array.isArray(record['groups']);
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    if (isUser && key === 'password') continue;
    const next = await upgrade(item, hash);
    changed ||= next.changed;
    out[key] = next.value;
  }
  if (isUser) {
    out['passwordHash'] = await hash(record['password'] as string);
    changed = true;
  }
  return { value: out, changed };
}
