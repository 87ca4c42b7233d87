import { badRequest, type CrdrError } from '@crdr/errors';

/**
 * Amazon MQ's rules for broker users. Each `check*` returns the first violation as a BadRequest
 * naming the field (`details.field`), or undefined; the `assert*` forms throw it.
 */

/** Amazon MQ: letters, digits and `- . _ ~`, 2-100 characters. Groups follow the same rule. */
const namePattern = /^[A-Za-z0-9._~-]{2,100}$/;
const passwordMinLength = 12;
const passwordMaxLength = 250;
const passwordMinUniqueCharacters = 4;
const passwordForbidden = /[,:=]/;

/** The fields of a user that the rules look at; a create request fits it. */
export interface UserFields {
  readonly username: string;
  readonly password: string;
  readonly groups: readonly string[];
  readonly consoleAccess: boolean;
  readonly replicationUser: boolean;
}

/** An update: absent fields keep their current value. */
export interface UserFieldChanges {
  readonly password?: string;
  readonly groups?: readonly string[];
  readonly consoleAccess?: boolean;
  readonly replicationUser?: boolean;
}

export interface UserFlags {
  readonly consoleAccess: boolean;
  readonly replicationUser: boolean;
}

export function checkUsername(username: string): CrdrError | undefined {
  if (namePattern.test(username)) return undefined;
  return badRequest(
    `invalid username "${username}": it must be 2-100 characters of letters, digits and - . _ ~`,
    { details: { field: 'username' } },
  );
}

/** The message never repeats the password. */
export function checkPassword(password: string): CrdrError | undefined {
  const characters = [...password];
  const fail = (rule: string): CrdrError =>
    badRequest(`invalid password: it ${rule}`, { details: { field: 'password' } });
  if (characters.length < passwordMinLength) {
    return fail(`must be at least ${passwordMinLength} characters long`);
  }
  if (characters.length > passwordMaxLength) {
    return fail(`must be at most ${passwordMaxLength} characters long`);
  }
  if (new Set(characters).size < passwordMinUniqueCharacters) {
    return fail(`must contain at least ${passwordMinUniqueCharacters} unique characters`);
  }
  if (passwordForbidden.test(password)) {
    return fail('must not contain commas, colons, or equal signs (, : =)');
  }
  return undefined;
}

export function checkGroups(groups: readonly string[]): CrdrError | undefined {
  const bad = groups.find((group) => !namePattern.test(group));
  if (bad === undefined) return undefined;
  return badRequest(
    `invalid group "${bad}": each group must be 2-100 characters of letters, digits and - . _ ~`,
    { details: { field: 'groups' } },
  );
}

export function checkUserFlags(flags: UserFlags): CrdrError | undefined {
  if (!(flags.consoleAccess && flags.replicationUser)) return undefined;
  return badRequest(
    'ConsoleAccess and ReplicationUser are mutually exclusive: a replication user cannot have console access',
    { details: { field: 'consoleAccess' } },
  );
}

export function checkNewUser(user: UserFields): CrdrError | undefined {
  return (
    checkUsername(user.username) ??
    checkPassword(user.password) ??
    checkGroups(user.groups) ??
    checkUserFlags(user)
  );
}

/** Checks the changed fields, and the flags as they will be once the change applies. */
export function checkUserChanges(
  changes: UserFieldChanges,
  current: UserFlags,
): CrdrError | undefined {
  return (
    (changes.password === undefined ? undefined : checkPassword(changes.password)) ??
    (changes.groups === undefined ? undefined : checkGroups(changes.groups)) ??
    checkUserFlags({
      consoleAccess: changes.consoleAccess ?? current.consoleAccess,
      replicationUser: changes.replicationUser ?? current.replicationUser,
    })
  );
}

export function assertValidNewUser(user: UserFields): void {
  const error = checkNewUser(user);
  if (error !== undefined) throw error;
}

export function assertValidUserChanges(changes: UserFieldChanges, current: UserFlags): void {
  const error = checkUserChanges(changes, current);
  if (error !== undefined) throw error;
}
