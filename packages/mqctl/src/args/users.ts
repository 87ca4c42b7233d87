import { UsageError } from '../errors.js';

/** One `--users` entry, as CreateBroker takes it. */
export interface UserSpec {
  readonly username: string;
  readonly password: string;
  readonly consoleAccess: boolean;
  readonly groups: readonly string[];
  readonly replicationUser: boolean;
}

const userKeys = ['Username', 'Password', 'ConsoleAccess', 'Groups', 'ReplicationUser'] as const;
type UserKey = (typeof userKeys)[number];
type UserFields = Partial<Record<UserKey, string | boolean | readonly string[]>>;

const example = 'Username=U,Password=P[,ConsoleAccess=true][,Groups=[a,b]][,ReplicationUser=true]';

function fail(where: string, problem: string): never {
  throw new UsageError(`--users ${where}: ${problem}`);
}

function canonicalKey(key: string, where: string): UserKey {
  const match = userKeys.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  if (match === undefined) {
    fail(where, `unknown key "${key}"; allowed: ${userKeys.join(', ')}`);
  }
  return match;
}

/**
 * Reads aws shorthand: `Key=Value` pairs separated by commas. A value may be quoted ('..' or
 * "..", backslash escapes the quote) to hold commas, or bracketed (`Groups=[a,b]`) for a list.
 */
export function parseShorthand(text: string, where: string): UserFields {
  const fields: UserFields = {};
  let position = 0;
  while (position < text.length) {
    const equals = text.indexOf('=', position);
    const comma = text.indexOf(',', position);
    if (equals < 0 || (comma >= 0 && comma < equals)) {
      const fragment = text.slice(position, comma < 0 ? undefined : comma);
      fail(
        where,
        `expected Key=Value, got "${fragment}" (quote a value that holds a comma: Password="a,b"); format: ${example}`,
      );
    }
    const key = canonicalKey(text.slice(position, equals).trim(), where);
    if (key in fields) fail(where, `${key} is given twice`);
    position = equals + 1;
    const opener = text[position];
    let value: string | readonly string[];
    if (opener === '"' || opener === "'") {
      let quoted = '';
      position++;
      for (;;) {
        const char = text[position];
        if (char === undefined) fail(where, `unterminated quote in ${key}`);
        position++;
        if (char === '\\' && (text[position] === opener || text[position] === '\\')) {
          quoted += text[position];
          position++;
        } else if (char === opener) {
          break;
        } else {
          quoted += char;
        }
      }
      value = quoted;
    } else if (opener === '[') {
      const close = text.indexOf(']', position);
      if (close < 0) fail(where, `unterminated [ in ${key}`);
      value = text
        .slice(position + 1, close)
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
      position = close + 1;
    } else {
      const end = text.indexOf(',', position);
      value = text.slice(position, end < 0 ? undefined : end);
      position = end < 0 ? text.length : end;
    }
    fields[key] = value;
    if (position < text.length) {
      if (text[position] !== ',') fail(where, `expected "," after ${key}'s value`);
      position++;
    }
  }
  return fields;
}

function fromJson(value: unknown, where: string): UserFields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, 'expected a JSON object such as {"Username": "U", "Password": "P"}');
  }
  const fields: UserFields = {};
  for (const [rawKey, item] of Object.entries(value)) {
    const key = canonicalKey(rawKey, where);
    if (
      typeof item === 'string' ||
      typeof item === 'boolean' ||
      (Array.isArray(item) && item.every((entry) => typeof entry === 'string'))
    ) {
      fields[key] = item;
    } else {
      fail(where, `${key} has an unsupported value ${JSON.stringify(item)}`);
    }
  }
  return fields;
}

function asText(fields: UserFields, key: 'Username' | 'Password', where: string): string {
  const value = fields[key];
  if (value === undefined) fail(where, `missing ${key}; format: ${example}`);
  if (typeof value !== 'string') fail(where, `${key} must be a string`);
  if (value.length === 0) fail(where, `${key} must not be empty`);
  return value;
}

function asBoolean(fields: UserFields, key: 'ConsoleAccess' | 'ReplicationUser', where: string) {
  const value = fields[key];
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) {
    return value.toLowerCase() === 'true';
  }
  return fail(where, `bad value ${JSON.stringify(value)} for ${key}; allowed: true, false`);
}

function asGroups(fields: UserFields, where: string): readonly string[] {
  const value = fields.Groups;
  if (value === undefined) return [];
  if (typeof value === 'string') return value.length === 0 ? [] : [value];
  if (typeof value === 'boolean') fail(where, 'Groups must be a list such as Groups=[a,b]');
  return value;
}

function toUser(fields: UserFields, where: string): UserSpec {
  return {
    username: asText(fields, 'Username', where),
    password: asText(fields, 'Password', where),
    consoleAccess: asBoolean(fields, 'ConsoleAccess', where),
    groups: asGroups(fields, where),
    replicationUser: asBoolean(fields, 'ReplicationUser', where),
  };
}

/**
 * Parses the values given to `--users`: each is aws shorthand
 * (`Username=U,Password=P,ConsoleAccess=true,ReplicationUser=true`), a JSON object, or a JSON
 * array of objects. Errors name the entry (1-based) and what is wrong with it.
 */
export function parseUsers(values: readonly string[]): UserSpec[] {
  const users: UserSpec[] = [];
  for (const raw of values) {
    const text = raw.trim();
    if (text.startsWith('[') || text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        fail(`entry ${users.length + 1}`, `invalid JSON (${(error as Error).message})`);
      }
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
        const where = `entry ${users.length + 1}`;
        users.push(toUser(fromJson(item, where), where));
      }
    } else {
      const where = `entry ${users.length + 1}`;
      users.push(toUser(parseShorthand(text, where), where));
    }
  }
  const seen = new Set<string>();
  for (const user of users) {
    if (seen.has(user.username)) throw new UsageError(`--users names ${user.username} twice`);
    seen.add(user.username);
  }
  return users;
}
