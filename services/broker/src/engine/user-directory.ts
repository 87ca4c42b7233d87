import { badRequest, notFound } from '@crdr/errors';
import { isPasswordHash } from '@crdr/service';
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

/** Stands in for the password of a user given by its hash, for the other fields' checks. */
const validPassword = 'hash-given-000';

/** The broker's users: validated by the domain rules, hashed, stored, and checked on login. */
export function createUserDirectory(options: {
  readonly users: UserRepository;
  readonly repositoryFor: (db: Kysely<Database>) => UserRepository;
  readonly write: UserWrite;
  readonly hasher: PasswordVerifier;
  readonly authenticator: Authenticator;
}): UserDirectory {
  const { users, repositoryFor, write, hasher, authenticator } = options;
  const hashOf = (request: {
    readonly password?: string;
    readonly passwordHash?: string;
  }): Promise<string> => {
    if (request.passwordHash === undefined) return hasher.hash(request.password ?? '');
    if (request.password !== undefined || !isPasswordHash(request.passwordHash)) {
      throw badRequest(
        'invalid password hash: it must be scrypt$N$r$p$salt$key, given instead of a password',
        { details: { field: 'passwordHash' } },
      );
    }
    return Promise.resolve(request.passwordHash);
  };
  return {
    authenticate: (username, password, source) =>
      authenticator.authenticate(username, password, source),
    async create(request) {
      // A hash was made from a password the control plane checked against the same rules.
      assertValidNewUser({ ...request, password: request.password ?? validPassword });
      // scrypt is slow: hash before entering the serial writer.
      const passwordHash = await hashOf(request);
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
        request.password === undefined && request.passwordHash === undefined
          ? undefined
          : await hashOf(request);
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
