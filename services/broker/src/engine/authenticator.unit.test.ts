import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createPasswordHasher } from '@crdr/service';
import {
  createAuthenticator,
  type CredentialStore,
  type PasswordVerifier,
  type StoredCredentials,
} from './authenticator.js';

const hasher = createPasswordHasher({ scrypt: { cost: 1024 } });

async function given(
  users: ReadonlyArray<Omit<StoredCredentials, 'passwordHash'> & { password: string }>,
) {
  const stored = new Map<string, StoredCredentials>();
  for (const { password, ...user } of users) {
    stored.set(user.username, { ...user, passwordHash: await hasher.hash(password) });
  }
  const counting = { verifications: 0 };
  const store: CredentialStore = { get: (username) => Promise.resolve(stored.get(username)) };
  const verifier: PasswordVerifier = {
    hash: (password) => hasher.hash(password),
    verify: (password, encoded) => {
      counting.verifications += 1;
      return hasher.verify(password, encoded);
    },
  };
  let now = 0;
  const authenticator = createAuthenticator({
    users: store,
    hasher: verifier,
    nowMs: () => now,
  });
  return {
    authenticator,
    stored,
    counting,
    advanceMs: (ms: number) => {
      now += ms;
    },
  };
}

const alice = {
  username: 'alice',
  password: 'alice-password-1',
  groups: ['admins'],
  consoleAccess: true,
  replicationUser: false,
};
const replicator = {
  username: 'replicator',
  password: 'replicator-password',
  groups: [],
  consoleAccess: false,
  replicationUser: true,
};

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a failure'),
    (error: unknown) => error,
  );
}

describe('authenticator', () => {
  it('returns the principal for the right credentials', async () => {
    const { authenticator } = await given([alice]);
    expect(await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1')).toEqual({
      username: 'alice',
      groups: ['admins'],
      consoleAccess: true,
    });
  });

  it('refuses an unknown user and a wrong password with the same error, after one scrypt each', async () => {
    const { authenticator, counting } = await given([alice]);
    const unknownUser = await failure(
      authenticator.authenticate('mallory', 'alice-password-1', '127.0.0.1'),
    );
    expect(counting.verifications).toBe(1);
    const wrongPassword = await failure(
      authenticator.authenticate('alice', 'wrong-password-1', '127.0.0.1'),
    );
    expect(counting.verifications).toBe(2);
    for (const error of [unknownUser, wrongPassword]) {
      expect(hasErrorCode(error, 'Unauthenticated')).toBe(true);
    }
    expect(unknownUser).toEqual(wrongPassword);
    expect((unknownUser as Error).message).toBe('invalid username or password');
  });

  it('forbids a replication user only once its password is right', async () => {
    const { authenticator } = await given([replicator]);
    const forbidden = await failure(
      authenticator.authenticate('replicator', 'replicator-password', '127.0.0.1'),
    );
    expect(hasErrorCode(forbidden, 'Forbidden')).toBe(true);
    expect((forbidden as Error).message).toBe(
      'user "replicator" is a replication user and cannot connect as a client',
    );
    const wrong = await failure(
      authenticator.authenticate('replicator', 'not-the-password', '127.0.0.1'),
    );
    expect(hasErrorCode(wrong, 'Unauthenticated')).toBe(true);
  });

  it('reuses a successful verification for 60 s, and only for the same password', async () => {
    const { authenticator, counting, advanceMs } = await given([alice]);
    await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    expect(counting.verifications).toBe(1);
    await failure(authenticator.authenticate('alice', 'alice-password-2', '127.0.0.1'));
    expect(counting.verifications).toBe(2);
    advanceMs(59_999);
    await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    expect(counting.verifications).toBe(2);
    advanceMs(1);
    await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    expect(counting.verifications).toBe(3);
  });

  it('shares one verification between concurrent logins', async () => {
    const { authenticator, counting } = await given([alice]);
    const principals = await Promise.all(
      Array.from({ length: 20 }, () =>
        authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1'),
      ),
    );
    expect(counting.verifications).toBe(1);
    expect(new Set(principals).size).toBe(1);
  });

  it('forgets a user on invalidate, also when a login was under way', async () => {
    const { authenticator, stored, counting } = await given([alice]);
    const underWay = authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    authenticator.invalidate('alice');
    stored.set('alice', { ...stored.get('alice')!, groups: ['readers'] });
    await underWay;
    expect(
      (await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1')).groups,
    ).toEqual(['readers']);
    expect(counting.verifications).toBe(2);

    stored.delete('alice');
    authenticator.invalidate('alice');
    const error = await failure(
      authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1'),
    );
    expect(hasErrorCode(error, 'Unauthenticated')).toBe(true);
  });
});

describe('authenticator invalidateAll', () => {
  it('forgets every user, also a first login under way', async () => {
    const { authenticator, stored, counting } = await given([alice]);
    const underWay = authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1');
    authenticator.invalidateAll();
    stored.set('alice', { ...stored.get('alice')!, consoleAccess: false });
    await underWay;
    expect(
      (await authenticator.authenticate('alice', 'alice-password-1', '127.0.0.1')).consoleAccess,
    ).toBe(false);
    expect(counting.verifications).toBe(2);
  });
});
