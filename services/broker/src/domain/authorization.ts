import { badRequest, forbidden, type CrdrError } from '@crdr/errors';
import { formatDestination, wildcardMatcher, type DestinationKind } from './destination.js';

/**
 * Per-destination rights, as ActiveMQ's authorizationPlugin grants them: `read` (SUBSCRIBE,
 * browse), `write` (SEND) and `admin` (creating a destination, which ActiveMQ does on first
 * use), each to groups of users, per destination pattern with ActiveMQ's wildcards.
 */
export type Right = 'read' | 'write' | 'admin';

/** One `<authorizationEntry queue="..." read="..." write="..." admin="..."/>`. */
export interface AuthorizationEntry {
  readonly kind: DestinationKind;
  /** A physical name or an ActiveMQ wildcard (`.` separates parts, `*` one part, `>` the rest). */
  readonly pattern: string;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly admin: readonly string[];
}

/** Who asks: a user's stored groups and whether it has console access. */
export interface AuthorizationSubject {
  readonly username: string;
  readonly groups: readonly string[];
  readonly consoleAccess: boolean;
}

/** Every user with console access is a member of this group, as Amazon MQ's admins are. */
export const adminsGroup = 'admins';
/** Every user is a member of this group. */
export const usersGroup = 'users';

/**
 * Decides rights from a set of entries. As in ActiveMQ, the rights of every entry whose pattern
 * matches the destination add up. With no entries configured, the default rule set applies:
 * `admins` (console users) have every right on every queue and topic; every other user has every
 * right on the destinations of its own groups' namespaces (`G` and `G.>` for each group G), and
 * none elsewhere. Temporary destinations belong to the connection that made them: any user may
 * use them.
 */
export interface Authorizer {
  allows(subject: AuthorizationSubject, right: Right, kind: DestinationKind, name: string): boolean;
  /** Throws Forbidden naming the missing right and the destination. */
  check(
    subject: AuthorizationSubject,
    right: Right,
    destination: {
      readonly kind: DestinationKind;
      readonly name: string;
      readonly temporary?: boolean;
    },
  ): void;
}

interface CompiledEntry {
  readonly kind: DestinationKind;
  readonly matches: (name: string) => boolean;
  readonly rights: Readonly<Record<Right, ReadonlySet<string>>>;
}

/** Groups a subject is in, the implicit ones included. */
export function effectiveGroups(subject: AuthorizationSubject): ReadonlySet<string> {
  const groups = new Set(subject.groups);
  groups.add(usersGroup);
  if (subject.consoleAccess) groups.add(adminsGroup);
  return groups;
}

/** A physical name matches a pattern; a plain name matches itself only. */
function compilePattern(pattern: string): (name: string) => boolean {
  const parts = pattern.split('.');
  if (!parts.includes('*') && !parts.includes('>')) return (name) => name === pattern;
  return wildcardMatcher(pattern);
}

/** `G` and everything below it, `G.>`. */
function inNamespace(group: string, name: string): boolean {
  // The broker's own destinations (ActiveMQ.DLQ) are never a group's.
  if (name.startsWith('ActiveMQ.')) return false;
  return name === group || name.startsWith(`${group}.`);
}

export function createAuthorizer(entries: readonly AuthorizationEntry[] | undefined): Authorizer {
  const compiled: CompiledEntry[] | undefined = entries?.map((entry) => ({
    kind: entry.kind,
    matches: compilePattern(entry.pattern),
    rights: {
      read: new Set(entry.read),
      write: new Set(entry.write),
      admin: new Set(entry.admin),
    },
  }));

  function allows(
    subject: AuthorizationSubject,
    right: Right,
    kind: DestinationKind,
    name: string,
  ): boolean {
    const groups = effectiveGroups(subject);
    if (compiled === undefined) {
      if (groups.has(adminsGroup)) return true;
      return subject.groups.some((group) => inNamespace(group, name));
    }
    for (const entry of compiled) {
      if (entry.kind !== kind || !entry.matches(name)) continue;
      for (const group of entry.rights[right]) if (groups.has(group)) return true;
    }
    return false;
  }

  return {
    allows,
    check(subject, right, destination) {
      if (destination.temporary === true) return;
      if (allows(subject, right, destination.kind, destination.name)) return;
      throw permissionDenied(subject.username, right, destination.kind, destination.name);
    },
  };
}

export function permissionDenied(
  username: string,
  right: Right,
  kind: DestinationKind,
  name: string,
): CrdrError {
  const shown = formatDestination({ kind, name, temporary: false });
  const why =
    right === 'admin'
      ? `${shown} does not exist and creating it needs the admin right`
      : `${right === 'read' ? 'reading' : 'writing'} ${shown} needs the ${right} right`;
  return forbidden(`user "${username}" is not authorized: ${why}`, {
    details: { right, destination: shown },
  });
}

/**
 * Parses ActiveMQ-style entries from JSON: a list of objects with exactly one of `queue` or
 * `topic` (the pattern) and `read`, `write`, `admin` as comma-separated group names (ActiveMQ's
 * XML attributes) or lists. Throws BadRequest naming the entry at fault.
 */
export function parseAuthorizationEntries(json: string): AuthorizationEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw badRequest(`authorization entries are not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(raw)) throw badRequest('authorization entries must be a JSON list');
  return raw.map((item: unknown, index) => {
    const at = `authorization entry ${index}`;
    if (typeof item !== 'object' || item === null) throw badRequest(`${at} must be an object`);
    const record = item as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!['queue', 'topic', 'read', 'write', 'admin'].includes(key)) {
        throw badRequest(`${at} has an unknown field "${key}"`);
      }
    }
    const hasQueue = typeof record['queue'] === 'string';
    const hasTopic = typeof record['topic'] === 'string';
    if (hasQueue === hasTopic) {
      throw badRequest(`${at} must name exactly one of "queue" or "topic" (a pattern)`);
    }
    const kind: DestinationKind = hasQueue ? 'queue' : 'topic';
    const pattern = String(record[kind]);
    if (pattern === '' || pattern.includes(',')) {
      throw badRequest(`${at}: the pattern must be a non-empty name without ","`);
    }
    try {
      compilePattern(pattern);
    } catch (error) {
      throw badRequest(`${at}: ${(error as Error).message}`);
    }
    const groups = (right: Right): string[] => {
      const value = record[right];
      if (value === undefined) return [];
      const list =
        typeof value === 'string'
          ? value.split(',')
          : Array.isArray(value) && value.every((v) => typeof v === 'string')
            ? value
            : undefined;
      if (list === undefined) {
        throw badRequest(`${at}: "${right}" must be a comma-separated string or a list of groups`);
      }
      return list.map((g) => g.trim()).filter((g) => g !== '');
    };
    return { kind, pattern, read: groups('read'), write: groups('write'), admin: groups('admin') };
  });
}
