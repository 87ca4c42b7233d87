import { notFound } from '@crdr/errors';
import type { Database, Kysely } from '@crdr/store';
import { assertValidNewUser, assertValidUserChanges } from '../domain/user.rules.js';
import type { UserRecord, UserRepository } from '../adapters/pg/user.repository.js';
import type { ReplicatedChange } from '../adapters/pg/store-writer.js';
import type { Authenticator, PasswordVerifier } from './authenticator.js';
import type { UserDirectory } from './broker-engine.js';

/** Runs a change of users in a store transaction, with its replication event when replicating. */
export type UserWrite = <T>(
  work: (db: Kysely<Database>, emit: (change: ReplicatedChange) => void) => Promise<T>,
) => Promise<T>;

const replicated = (user: UserRecord): ReplicatedChange => ({
  usersChanged: {
    upserted: [
      {
        username: user.username,
        passwordHash: user.passwordHash,
        groups: [...user.groups],
        consoleAccess: user.consoleAccess,
        replicationUser: user.replicationUser,
        createdAtMs: String(user.createdAtMs),
      },
    ],
  },
});

/** The broker's users: validated by the domain rules, hashed, stored, and checked on login. */
export function createUserDirectory(options: {
  readonly users: UserRepository;
  readonly repositoryFor: (db: Kysely<Database>) => UserRepository;
  readonly write: UserWrite;
  readonly hasher: PasswordVerifier;
  readonly authenticator: Authenticator;
}): UserDirectory {
  const { users, repositoryFor, write, hasher, authenticator } = options;
  return {
    authenticate: (username, password, source) =>
      authenticator.authenticate(username, password, source),
    async create(request) {
      assertValidNewUser(request);
      // scrypt is slow: hash before entering the serial writer.
      const passwordHash = await hasher.hash(request.password);
      await write(async (db, emit) => {
        const created = await repositoryFor(db).create({
          username: request.username,
          passwordHash,
          groups: request.groups,
          consoleAccess: request.consoleAccess,
          replicationUser: request.replicationUser,
        });
        emit(replicated(created));
      });
      authenticator.invalidate(request.username);
    },
    async update(request) {
      const current = await users.get(request.username);
      if (current === undefined) throw notFound(`user "${request.username}" does not exist`);
      assertValidUserChanges(request, current);
      const passwordHash =
        request.password === undefined ? undefined : await hasher.hash(request.password);
      await write(async (db, emit) => {
        const updated = await repositoryFor(db).update(request.username, {
          ...(passwordHash === undefined ? {} : { passwordHash }),
          ...(request.groups === undefined ? {} : { groups: request.groups }),
          ...(request.consoleAccess === undefined ? {} : { consoleAccess: request.consoleAccess }),
          ...(request.replicationUser === undefined
            ? {}
            : { replicationUser: request.replicationUser }),
        });
        emit(replicated(updated));
      });
      authenticator.invalidate(request.username);
    },
    async delete(username) {
      await write(async (db, emit) => {
        await repositoryFor(db).delete(username);
        emit({ usersChanged: { deleted: [username] } });
      });
      authenticator.invalidate(username);
    },
    list: () => users.list(),
  };
}
