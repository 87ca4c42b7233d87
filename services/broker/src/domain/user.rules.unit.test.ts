import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import {
  assertValidNewUser,
  assertValidUserChanges,
  checkGroups,
  checkNewUser,
  checkPassword,
  checkUserChanges,
  checkUserFlags,
  checkUsername,
} from './user.rules.js';

const valid = {
  username: 'alice',
  password: 'correct-horse-battery',
  groups: ['admins', 'team.a_b~c-d'],
  consoleAccess: false,
  replicationUser: false,
};

describe('user rules', () => {
  it('accept a user that follows every rule', () => {
    expect(checkNewUser(valid)).toBeUndefined();
    expect(() => assertValidNewUser(valid)).not.toThrow();
  });

  it('take usernames of 2-100 letters, digits and - . _ ~', () => {
    for (const ok of ['ab', 'a.b_c~d-e', 'A1', 'x'.repeat(100)]) {
      expect(checkUsername(ok)).toBeUndefined();
    }
    for (const bad of ['a', 'x'.repeat(101), 'has space', 'a:b', 'a,b', 'é-name', '']) {
      const error = checkUsername(bad);
      expect(hasErrorCode(error, 'BadRequest')).toBe(true);
      expect(error?.details['field']).toBe('username');
      expect(error?.message).toMatch(/username/);
    }
  });

  it('take passwords of 12-250 characters with 4 unique ones and no , : =', () => {
    expect(checkPassword('abcdefghijkl')).toBeUndefined();
    expect(checkPassword('x'.repeat(246) + 'abcd')).toBeUndefined();
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ['short-pass1', /at least 12 characters/],
      ['x'.repeat(247) + 'abcd', /at most 250 characters/],
      ['aaaaaabbbbbb', /4 unique characters/],
      ['password,1234', /commas, colons, or equal signs/],
      ['password:1234', /commas, colons, or equal signs/],
      ['password=1234', /commas, colons, or equal signs/],
    ];
    for (const [password, message] of cases) {
      const error = checkPassword(password);
      expect(hasErrorCode(error, 'BadRequest')).toBe(true);
      expect(error?.details['field']).toBe('password');
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain(password);
    }
  });

  it('count characters, not UTF-16 units, in a password', () => {
    expect(checkPassword('🔑'.repeat(8) + 'abcd')).toBeUndefined();
    expect(checkPassword('🔑'.repeat(4) + 'abcdefg')).toBeDefined();
  });

  it('take groups that follow the username rule', () => {
    expect(checkGroups([])).toBeUndefined();
    const error = checkGroups(['ok', 'no good']);
    expect(hasErrorCode(error, 'BadRequest')).toBe(true);
    expect(error?.details['field']).toBe('groups');
    expect(error?.message).toContain('"no good"');
  });

  it('refuse ConsoleAccess together with ReplicationUser', () => {
    expect(checkUserFlags({ consoleAccess: true, replicationUser: false })).toBeUndefined();
    expect(checkUserFlags({ consoleAccess: false, replicationUser: true })).toBeUndefined();
    const error = checkUserFlags({ consoleAccess: true, replicationUser: true });
    expect(hasErrorCode(error, 'BadRequest')).toBe(true);
    expect(error?.message).toBe(
      'ConsoleAccess and ReplicationUser are mutually exclusive: a replication user cannot have console access',
    );
    expect(() =>
      assertValidNewUser({ ...valid, consoleAccess: true, replicationUser: true }),
    ).toThrow(/mutually exclusive/);
  });

  describe('on update', () => {
    it('check only the fields that change', () => {
      expect(checkUserChanges({}, valid)).toBeUndefined();
      expect(checkUserChanges({ groups: ['x'] }, valid)?.details['field']).toBe('groups');
      expect(checkUserChanges({ password: 'short' }, valid)?.details['field']).toBe('password');
    });

    it('check the flags as they will be after the change', () => {
      const replicator = { consoleAccess: false, replicationUser: true };
      expect(() => assertValidUserChanges({ consoleAccess: true }, replicator)).toThrow(
        /mutually exclusive/,
      );
      expect(
        checkUserChanges({ consoleAccess: true, replicationUser: false }, replicator),
      ).toBeUndefined();
    });
  });
});
