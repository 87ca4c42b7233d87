import { conflict, CrdrError, notFound } from '@crdr/errors';
import { sql, type Database, type Kysely } from '@crdr/store';
import { checkUserFlags } from '../../domain/user.rules.js';
import type { UserInfo } from '../../engine/engine.types.js';

/** A stored user. The password is only ever stored hashed (see `adapters/crypto`). */
export interface UserRecord extends UserInfo {
  readonly passwordHash: string;
  readonly createdAtMs: bigint;
}

export interface NewUserRecord extends UserInfo {
  readonly passwordHash: string;
}

/** Absent fields keep their stored value. */
export interface UserRecordChanges {
  readonly passwordHash?: string;
  readonly groups?: readonly string[];
  readonly consoleAccess?: boolean;
  readonly replicationUser?: boolean;
}

export interface UserRepository {
  /** Conflict when the username is taken. */
  create(user: NewUserRecord): Promise<UserRecord>;
  /** NotFound when there is no such user; returns the user as stored after the change. */
  update(username: string, changes: UserRecordChanges): Promise<UserRecord>;
  /** NotFound when there is no such user. */
  delete(username: string): Promise<void>;
  /** Every user by username, without password hashes. */
  list(): Promise<readonly UserInfo[]>;
  get(username: string): Promise<UserRecord | undefined>;
  /**
   * Inserts the user when the username is free and leaves an existing one unchanged (the
   * start-up `--user NAME:PASSWORD`); true when it inserted.
   */
  ensureUser(user: NewUserRecord): Promise<boolean>;
}

// The database clock, like the lease, so that two brokers on one store agree.
const nowMs = sql<bigint>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
const checkViolation = '23514';

/**
 * The users table. Give it a transaction (`createUserRepository(trx)`) to change users in the
 * same transaction as their replication event and the lease check.
 */
export function createUserRepository(db: Kysely<Database>): UserRepository {
  const columns = [
    'username',
    'password_hash',
    'groups',
    'console_access',
    'replication_user',
    'created_at_ms',
  ] as const;

  const insert = (user: NewUserRecord) =>
    db
      .insertInto('users')
      .values({
        username: user.username,
        password_hash: user.passwordHash,
        groups: [...user.groups],
        console_access: user.consoleAccess,
        replication_user: user.replicationUser,
        created_at_ms: nowMs,
      })
      .onConflict((oc) => oc.column('username').doNothing())
      .returning(columns)
      .executeTakeFirst()
      .catch(mapCheckViolation);

  return {
    async create(user) {
      const row = await insert(user);
      if (row === undefined) throw conflict(`user "${user.username}" already exists`);
      return toRecord(row);
    },

    async update(username, changes) {
      const set = {
        ...(changes.passwordHash === undefined ? {} : { password_hash: changes.passwordHash }),
        ...(changes.groups === undefined ? {} : { groups: [...changes.groups] }),
        ...(changes.consoleAccess === undefined ? {} : { console_access: changes.consoleAccess }),
        ...(changes.replicationUser === undefined
          ? {}
          : { replication_user: changes.replicationUser }),
      };
      const row =
        Object.keys(set).length === 0
          ? await db
              .selectFrom('users')
              .select(columns)
              .where('username', '=', username)
              .executeTakeFirst()
          : await db
              .updateTable('users')
              .set(set)
              .where('username', '=', username)
              .returning(columns)
              .executeTakeFirst()
              .catch(mapCheckViolation);
      if (row === undefined) throw userNotFound(username);
      return toRecord(row);
    },

    async delete(username) {
      const result = await db
        .deleteFrom('users')
        .where('username', '=', username)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n) throw userNotFound(username);
    },

    async list() {
      const rows = await db
        .selectFrom('users')
        .select(['username', 'groups', 'console_access', 'replication_user'])
        .orderBy('username')
        .execute();
      return rows.map((row) => ({
        username: row.username,
        groups: row.groups,
        consoleAccess: row.console_access,
        replicationUser: row.replication_user,
      }));
    },

    async get(username) {
      const row = await db
        .selectFrom('users')
        .select(columns)
        .where('username', '=', username)
        .executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    async ensureUser(user) {
      return (await insert(user)) !== undefined;
    },
  };
}

function userNotFound(username: string) {
  return notFound(`user "${username}" does not exist`, { details: { field: 'username' } });
}

// The table's CHECK is the last guard of the ConsoleAccess/ReplicationUser rule (an update may
// set one flag while the other is stored); it fails with the domain rule's error.
function mapCheckViolation(error: unknown): never {
  if ((error as { code?: unknown }).code === checkViolation) {
    const ruleError = checkUserFlags({ consoleAccess: true, replicationUser: true });
    if (ruleError !== undefined) {
      throw new CrdrError(ruleError.code, ruleError.message, {
        cause: error,
        details: ruleError.details,
      });
    }
  }
  throw error;
}

interface UserRow {
  readonly username: string;
  readonly password_hash: string;
  readonly groups: string[];
  readonly console_access: boolean;
  readonly replication_user: boolean;
  readonly created_at_ms: bigint;
}

function toRecord(row: UserRow): UserRecord {
  return {
    username: row.username,
    passwordHash: row.password_hash,
    groups: row.groups,
    consoleAccess: row.console_access,
    replicationUser: row.replication_user,
    createdAtMs: row.created_at_ms,
  };
}
