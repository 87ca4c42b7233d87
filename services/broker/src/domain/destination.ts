import { badRequest } from '@crdr/errors';

/** ActiveMQ's dead letter queue, where messages go after too many redeliveries or on expiry. */
export const deadLetterQueueName = 'ActiveMQ.DLQ';

export type DestinationKind = 'queue' | 'topic';

export interface DestinationName {
  readonly kind: DestinationKind;
  /** The physical name, as ActiveMQ has it: `/queue/a/b` is the queue `a/b`. */
  readonly name: string;
  /** Temporary destinations live in memory only and are never replicated. */
  readonly temporary: boolean;
  /**
   * A temporary destination as its connection names it (`/temp-queue/NAME`: NAME is that
   * connection's own alias) rather than by its broker-wide name (`/remote-temp-queue/ID:...`,
   * ActiveMQ's form for every other connection).
   */
  readonly alias?: true;
}

const prefixes: ReadonlyArray<
  readonly [string, DestinationKind, { temporary: boolean; alias?: true }]
> = [
  ['/queue/', 'queue', { temporary: false }],
  ['/topic/', 'topic', { temporary: false }],
  ['/temp-queue/', 'queue', { temporary: true, alias: true }],
  ['/temp-topic/', 'topic', { temporary: true, alias: true }],
  ['/remote-temp-queue/', 'queue', { temporary: true }],
  ['/remote-temp-topic/', 'topic', { temporary: true }],
];

/** Whether a destination header names a temporary destination by a connection's alias. */
export function namesTemporaryAlias(destination: string): boolean {
  return destination.includes('/temp-');
}

/**
 * What ActiveMQ refuses in a physical name, plus what this broker cannot keep: control characters
 * (which no header carries safely) and `,`, which separates the parts of a composite destination.
 */
// eslint-disable-next-line no-control-regex
const forbidden = /[\u0000-\u001f\u007f,]/;
const maxNameLength = 200;

/**
 * Parses one destination, `/queue/NAME`, `/topic/NAME` or a temporary form, with a clear error
 * otherwise. NAME is kept as the client wrote it, `/` included (ActiveMQ's physical name); a
 * wildcard (`*` or `>` as a part) is allowed only where `allowWildcards` says so.
 */
export function parseDestination(
  destination: string,
  options: { readonly allowWildcards?: boolean } = {},
): DestinationName {
  for (const [prefix, kind, { temporary, alias }] of prefixes) {
    if (destination.startsWith(prefix)) {
      const name = destination.slice(prefix.length);
      validateDestinationName(name, destination);
      if (options.allowWildcards !== true && isWildcard(name)) {
        throw badRequest(
          `invalid destination "${destination}": a wildcard (* or > as a part of the name) is allowed only on SUBSCRIBE`,
          { details: { field: 'destination' } },
        );
      }
      if (temporary && isWildcard(name)) {
        throw badRequest(
          `invalid destination "${destination}": a temporary destination cannot be a wildcard`,
          { details: { field: 'destination' } },
        );
      }
      return alias === true ? { kind, name, temporary, alias } : { kind, name, temporary };
    }
  }
  throw badRequest(
    `invalid destination "${destination}": it must start with /queue/, /topic/, /temp-queue/, /temp-topic/, /remote-temp-queue/ or /remote-temp-topic/`,
    { details: { field: 'destination' } },
  );
}

/**
 * Parses a destination header that may be composite, `/queue/a,/topic/b` (ActiveMQ's composite
 * destinations). A part without a prefix is of the kind of the part before it, as in ActiveMQ's
 * `queue://a,b`. Duplicates are dropped; order is kept.
 */
export function parseDestinations(
  destination: string,
  options: { readonly allowWildcards?: boolean } = {},
): DestinationName[] {
  if (!destination.includes(',')) return [parseDestination(destination, options)];
  const out: DestinationName[] = [];
  const seen = new Set<string>();
  let previousPrefix: string | undefined;
  for (const part of destination.split(',')) {
    const trimmed = part.trim();
    const hasPrefix = prefixes.some(([prefix]) => trimmed.startsWith(prefix));
    if (trimmed === '' || (!hasPrefix && previousPrefix === undefined)) {
      throw badRequest(
        `invalid destination "${destination}": each part of a composite destination must be a destination such as /queue/a (got "${trimmed}")`,
        { details: { field: 'destination' } },
      );
    }
    const full = hasPrefix ? trimmed : previousPrefix! + trimmed;
    const parsed = parseDestination(full, options);
    previousPrefix = formatDestination(parsed).slice(0, -parsed.name.length);
    const key = formatDestination(parsed);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parsed);
  }
  return out;
}

export function validateDestinationName(name: string, shown = name): void {
  if (name.length === 0 || name.length > maxNameLength || forbidden.test(name)) {
    throw badRequest(
      `invalid destination "${shown}": the name must be 1-${maxNameLength} characters, without control characters or ","`,
      { details: { field: 'destination' } },
    );
  }
}

/** Whether a physical name is a wildcard: a part (between dots) that is `*` or `>`. */
export function isWildcard(name: string): boolean {
  if (!name.includes('*') && !name.includes('>')) return false;
  return name.split('.').some((part) => part === '*' || part === '>');
}

/**
 * ActiveMQ's wildcards: `.` separates the parts of a name, `*` matches exactly one part and `>`
 * (the last part) matches the remaining parts, none included: ActiveMQ 5.17 delivers `a` to a
 * subscriber of `a.>` (checked by the differential suite). Returns a matcher for physical names.
 */
export function wildcardMatcher(pattern: string): (name: string) => boolean {
  const parts = pattern.split('.');
  const last = parts.length - 1;
  if (parts.slice(0, last).includes('>')) {
    throw badRequest(`invalid wildcard "${pattern}": > may only be the last part`, {
      details: { field: 'destination' },
    });
  }
  const open = parts[last] === '>';
  const fixed = open ? parts.slice(0, last) : parts;
  return (name) => {
    const candidate = name.split('.');
    if (open ? candidate.length < fixed.length : candidate.length !== fixed.length) return false;
    for (let i = 0; i < fixed.length; i++) {
      const want = fixed[i]!;
      if (want !== '*' && want !== candidate[i]) return false;
    }
    return true;
  };
}

export function formatDestination(destination: DestinationName): string {
  const prefix = !destination.temporary
    ? `/${destination.kind}/`
    : destination.alias === true
      ? `/temp-${destination.kind}/`
      : `/remote-temp-${destination.kind}/`;
  return prefix + destination.name;
}

/** A temporary destination is apart from the ordinary one of the same name. */
export function destinationKey(kind: DestinationKind, name: string, temporary = false): string {
  return `${temporary ? 'temp-' : ''}${kind}:${name}`;
}
