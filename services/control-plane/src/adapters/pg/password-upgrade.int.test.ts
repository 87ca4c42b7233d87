import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@crdr/store';
import { hashPassword, verifyPassword } from '@crdr/service';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import type pg from 'pg';
import { asBrokerId, type BrokerEvent } from '../../domain/broker.types.js';
import { createBrokerRepository } from './broker.repository.js';
import { createEventStore } from './event-store.js';
import { hashStoredPasswords } from './password-upgrade.js';

let database: TestDatabase;
let pool: pg.Pool;
const at = '2026-01-01T00:00:00.000Z';
const hash = (password: string): Promise<string> =>
  hashPassword(password, { scrypt: { cost: 1024 } });

beforeAll(async () => {
  database = await createTestDatabase('cp_password_upgrade');
  pool = createPool(database.url, { max: 4 });
  await createEventStore<BrokerEvent>(pool).migrate();
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** Events as a control plane recorded them before passwords were hashed. */
async function recordPlainTextEvents(stream: string): Promise<void> {
  const user = (username: string, password: string) => ({
    username,
    password,
    consoleAccess: false,
    groups: ['apps'],
    replicationUser: false,
  });
  const events = [
    {
      type: 'BrokerCreationRequested',
      brokerId: 'b-old',
      brokerArn: 'arn:mq:region-a:local:broker:old:b-old',
      region: 'region-a',
      spec: {
        brokerName: 'old',
        engineType: 'ACTIVEMQ',
        engineVersion: '5.18.4',
        hostInstanceType: 'mq.m5.large',
        deploymentMode: 'SINGLE_INSTANCE',
        users: [user('app', 'app-password-1')],
      },
      adminUser: { username: 'crdr-cp-region-a', password: 'admin-secret-xyz' },
      at,
    },
    { type: 'UserCreated', user: user('late', 'late-password-1'), at },
    { type: 'UserUpdated', user: user('late', 'late-password-2'), at },
  ];
  let version = 0;
  for (const event of events) {
    version += 1;
    await pool.query(
      'INSERT INTO broker_events (stream_id, version, type, data) VALUES ($1, $2, $3, $4::jsonb)',
      [stream, version, event.type, JSON.stringify(event)],
    );
  }
}

describe('hashStoredPasswords', () => {
  it('replaces plain-text user passwords by their hash in place, once; the registry folds hashes', async () => {
    await recordPlainTextEvents('broker-b-old');
    expect(await hashStoredPasswords(pool, hash)).toBe(3);

    const { rows } = await pool.query<{ data: unknown }>(
      'SELECT data FROM broker_events ORDER BY position',
    );
    const text = JSON.stringify(rows);
    for (const secret of ['app-password-1', 'late-password-1', 'late-password-2']) {
      expect(text).not.toContain(secret);
    }
    // The control plane's own credentials are not a user's: kept for its admin calls.
    expect(text).toContain('admin-secret-xyz');

    const broker = await createBrokerRepository(createEventStore<BrokerEvent>(pool)).load(
      asBrokerId('b-old'),
    );
    const late = broker.users.find((u) => u.username === 'late')!;
    expect(await verifyPassword('late-password-2', late.passwordHash)).toBe(true);
    expect(await verifyPassword('late-password-1', late.passwordHash)).toBe(false);
    const app = broker.users.find((u) => u.username === 'app')!;
    expect(await verifyPassword('app-password-1', app.passwordHash)).toBe(true);
    expect(app).not.toHaveProperty('password');

    // Run again at the next start: nothing left to do, the hashes stay as they are.
    expect(await hashStoredPasswords(pool, hash)).toBe(0);
    const again = await pool.query<{ data: unknown }>(
      'SELECT data FROM broker_events ORDER BY position',
    );
    expect(JSON.stringify(again.rows)).toBe(text);
  });
});
