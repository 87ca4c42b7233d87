import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createDb, createPool, migrateToLatest, type Database, type Kysely } from '@crdr/store';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { createAuthenticator } from '../../engine/authenticator.js';
import { createPasswordHasher } from '@crdr/service';
import { createUserRepository, type NewUserRecord } from './user.repository.js';

const hasher = createPasswordHasher({ scrypt: { cost: 1024 } });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a failure'),
    (error: unknown) => error,
  );
}

describe('user repository', () => {
  let database: TestDatabase;
  let db: Kysely<Database>;

  beforeAll(async () => {
    database = await createTestDatabase('broker_users');
    db = createDb(createPool(database.url, { max: 4 }));
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const user = async (username: string, overrides: Partial<NewUserRecord> = {}) => ({
    username,
    passwordHash: await hasher.hash(`${username}-password`),
    groups: ['g1', 'g2'],
    consoleAccess: false,
    replicationUser: false,
    ...overrides,
  });

  it('creates, reads, lists, updates and deletes users', async () => {
    const users = createUserRepository(db);
    const created = await users.create(await user('carol', { consoleAccess: true }));
    expect(created).toMatchObject({ username: 'carol', groups: ['g1', 'g2'], consoleAccess: true });
    expect(typeof created.createdAtMs).toBe('bigint');
    expect(Number(created.createdAtMs)).toBeGreaterThan(Date.now() - 60_000);
    await users.create(await user('bob'));

    expect(await users.get('carol')).toEqual(created);
    expect(await users.get('nobody')).toBeUndefined();
    expect(await users.list()).toEqual([
      { username: 'bob', groups: ['g1', 'g2'], consoleAccess: false, replicationUser: false },
      { username: 'carol', groups: ['g1', 'g2'], consoleAccess: true, replicationUser: false },
    ]);

    const updated = await users.update('carol', { groups: [], consoleAccess: false });
    expect(updated).toEqual({ ...created, groups: [], consoleAccess: false });
    expect(await users.update('carol', {})).toEqual(updated);

    await users.delete('carol');
    await users.delete('bob');
    expect(await users.list()).toEqual([]);
  });

  it('refuses a taken username with Conflict and a missing one with NotFound', async () => {
    const users = createUserRepository(db);
    await users.create(await user('dave'));
    const taken = await failure(users.create(await user('dave')));
    expect(hasErrorCode(taken, 'Conflict')).toBe(true);
    expect((taken as Error).message).toBe('user "dave" already exists');

    for (const missing of [
      () => users.update('erin', { groups: ['x1'] }),
      () => users.update('erin', {}),
      () => users.delete('erin'),
    ]) {
      const error = await failure(missing());
      expect(hasErrorCode(error, 'NotFound')).toBe(true);
      expect((error as Error).message).toBe('user "erin" does not exist');
    }
    await users.delete('dave');
  });

  it('refuses console access for a replication user as a BadRequest, even when one flag is stored', async () => {
    const users = createUserRepository(db);
    await users.create(await user('repl', { replicationUser: true }));
    const error = await failure(users.update('repl', { consoleAccess: true }));
    expect(hasErrorCode(error, 'BadRequest')).toBe(true);
    expect((error as Error).message).toMatch(/mutually exclusive/);
    expect((await users.get('repl'))?.consoleAccess).toBe(false);
    await users.delete('repl');
  });

  it('ensureUser inserts a missing user and leaves an existing one unchanged', async () => {
    const users = createUserRepository(db);
    const first = await user('admin', { consoleAccess: true });
    expect(await users.ensureUser(first)).toBe(true);
    const second = await user('admin', { groups: [] });
    expect(await users.ensureUser(second)).toBe(false);
    expect(await users.get('admin')).toMatchObject({
      passwordHash: first.passwordHash,
      groups: ['g1', 'g2'],
      consoleAccess: true,
    });
    await users.delete('admin');
  });

  it('works inside a transaction, which a rollback undoes', async () => {
    await db
      .transaction()
      .execute(async (trx) => {
        await createUserRepository(trx).create(await user('frank'));
        expect(await createUserRepository(trx).get('frank')).toBeDefined();
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await createUserRepository(db).get('frank')).toBeUndefined();
  });

  describe('with the authenticator', () => {
    it('refuses an unknown user and a wrong password alike, and forbids a replication user', async () => {
      const users = createUserRepository(db);
      await users.create({
        ...(await user('grace')),
        passwordHash: await hasher.hash('grace-secret-pw'),
      });
      await users.create({
        ...(await user('replicator', { replicationUser: true })),
        passwordHash: await hasher.hash('replicator-secret'),
      });
      const authenticator = createAuthenticator({ users, hasher });

      expect(await authenticator.authenticate('grace', 'grace-secret-pw', '127.0.0.1')).toEqual({
        username: 'grace',
        groups: ['g1', 'g2'],
        consoleAccess: false,
      });
      const unknownUser = await failure(
        authenticator.authenticate('heidi', 'grace-secret-pw', '127.0.0.1'),
      );
      const wrongPassword = await failure(
        authenticator.authenticate('grace', 'heidi-secret-pw', '127.0.0.1'),
      );
      expect(hasErrorCode(unknownUser, 'Unauthenticated')).toBe(true);
      expect(unknownUser).toEqual(wrongPassword);
      expect((wrongPassword as Error).message).toBe('invalid username or password');

      const forbidden = await failure(
        authenticator.authenticate('replicator', 'replicator-secret', '127.0.0.1'),
      );
      expect(hasErrorCode(forbidden, 'Forbidden')).toBe(true);

      // A password change takes effect at once for a broker that invalidates on change.
      await users.update('grace', { passwordHash: await hasher.hash('grace-new-secret') });
      authenticator.invalidate('grace');
      expect(
        hasErrorCode(
          await failure(authenticator.authenticate('grace', 'grace-secret-pw', '127.0.0.1')),
          'Unauthenticated',
        ),
      ).toBe(true);
      expect(
        (await authenticator.authenticate('grace', 'grace-new-secret', '127.0.0.1')).username,
      ).toBe('grace');
    });
  });
});
