import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { parseUsers } from './users.js';

function usersError(...values: string[]): string {
  try {
    parseUsers(values);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a usage error');
}

describe('parseUsers', () => {
  it('reads aws shorthand, one user per value', () => {
    expect(
      parseUsers([
        'Username=admin,Password=secret,ConsoleAccess=true',
        'Username=repl,Password=r,ReplicationUser=TRUE,Groups=[a, b]',
      ]),
    ).toEqual([
      {
        username: 'admin',
        password: 'secret',
        consoleAccess: true,
        groups: [],
        replicationUser: false,
      },
      {
        username: 'repl',
        password: 'r',
        consoleAccess: false,
        groups: ['a', 'b'],
        replicationUser: true,
      },
    ]);
  });

  it('keeps quoted commas, escaped quotes and = signs in values', () => {
    const [user] = parseUsers([`Username=u,Password="a,b\\"c=d",ConsoleAccess=false`]);
    expect(user?.password).toBe('a,b"c=d');
    const [other] = parseUsers(["Username=u,Password='x,y'"]);
    expect(other?.password).toBe('x,y');
    const [equals] = parseUsers(['Username=u,Password=p=q']);
    expect(equals?.password).toBe('p=q');
  });

  it('reads a JSON array and a JSON object', () => {
    expect(
      parseUsers([
        '[{"Username":"a","Password":"pa","ConsoleAccess":true},{"Username":"b","Password":"pb","Groups":["g"]}]',
        '{"Username":"c","Password":"pc","ReplicationUser":true}',
      ]).map((user) => [user.username, user.consoleAccess, user.groups, user.replicationUser]),
    ).toEqual([
      ['a', true, [], false],
      ['b', false, ['g'], false],
      ['c', false, [], true],
    ]);
  });

  it('names the entry and what is wrong with it', () => {
    expect(usersError('Username=a,Password=p', 'Username=b')).toBe(
      '--users entry 2: missing Password; format: Username=U,Password=P[,ConsoleAccess=true][,Groups=[a,b]][,ReplicationUser=true]',
    );
    expect(usersError('Username=a,Password=p,Admin=true')).toBe(
      '--users entry 1: unknown key "Admin"; allowed: Username, Password, ConsoleAccess, Groups, ReplicationUser',
    );
    expect(usersError('Username=a,Password=p,ConsoleAccess=yes')).toBe(
      '--users entry 1: bad value "yes" for ConsoleAccess; allowed: true, false',
    );
    expect(usersError('Username=a,Password=x,y')).toMatch(
      /^--users entry 1: expected Key=Value, got "y" \(quote a value/,
    );
    expect(usersError('Username=a,Username=b,Password=p')).toBe(
      '--users entry 1: Username is given twice',
    );
    expect(usersError('Username=,Password=p')).toBe('--users entry 1: Username must not be empty');
    expect(usersError('[{"Username":"a"')).toMatch(/^--users entry 1: invalid JSON/);
    expect(usersError('[{"Username":"a","Password":1}]')).toBe(
      '--users entry 1: Password has an unsupported value 1',
    );
    expect(usersError('Username=a,Password="p')).toBe(
      '--users entry 1: unterminated quote in Password',
    );
    expect(usersError('Username=a,Password=p', 'Username=a,Password=q')).toBe(
      '--users names a twice',
    );
  });
});
