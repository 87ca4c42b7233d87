import { notFound } from '@crdr/errors';
import { assertValidNewUser, assertValidUserChanges } from '../domain/user.rules.js';
import type { UserRepository } from '../adapters/pg/user.repository.js';
import type { Authenticator, PasswordVerifier } from './authenticator.js';
import type { UserDirectory } from './broker-engine.js';

/** The broker's users: validated by the domain rules, hashed, stored, and checked on login. */
export function createUserDirectory(options: {
  readonly users: UserRepository;
  readonly hasher: PasswordVerifier;
  readonly authenticator: Authenticator;
}): UserDirectory {
  const { users, hasher, authenticator } = options;
  return {
    authenticate: (username, password) => authenticator.authenticate(username, password),
    async create(request) {
      assertValidNewUser(request);
      await users.create({
        username: request.username,
        passwordHash: await hasher.hash(request.password),
        groups: request.groups,
        consoleAccess: request.consoleAccess,
        replicationUser: request.replicationUser,
      });
      authenticator.invalidate(request.username);
    },
    async update(request) {
      const current = await users.get(request.username);
      if (current === undefined) throw notFound(`user "${request.username}" does not exist`);
      assertValidUserChanges(request, current);
      await users.update(request.username, {
        ...(request.password === undefined
          ? {}
          : { passwordHash: await hasher.hash(request.password) }),
        ...(request.groups === undefined ? {} : { groups: request.groups }),
        ...(request.consoleAccess === undefined ? {} : { consoleAccess: request.consoleAccess }),
        ...(request.replicationUser === undefined
          ? {}
          : { replicationUser: request.replicationUser }),
      });
      authenticator.invalidate(request.username);
    },
    async delete(username) {
      await users.delete(username);
      authenticator.invalidate(username);
    },
    list: () => users.list(),
  };
}
