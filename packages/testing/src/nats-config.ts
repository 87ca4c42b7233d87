/**
 * Typed pieces of the nats-server configuration file, in the server's own key names so that what
 * a test writes reads like the NATS docs. Anything not typed here passes through as a
 * `NatsConfigBlock`.
 */

/**
 * A `{ key: value }` block of the NATS config file, written as it is (as JSON, a syntax the NATS
 * config parser accepts), e.g. `{ max_file_store: 1073741824 }`.
 */
export type NatsConfigBlock = { readonly [key: string]: unknown };

/**
 * Subjects a user may (`allow`) or may not (`deny`) use; wildcards `*` and `>` as in NATS.
 * Beware: nats-server reads an empty `allow` list as no restriction at all; to refuse every
 * subject write `{ deny: ['>'] }`.
 */
export interface NatsSubjectPermission {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** A user's `permissions` block. With an `allow` list, every other subject is refused. */
export interface NatsPermissions {
  readonly publish?: NatsSubjectPermission;
  readonly subscribe?: NatsSubjectPermission;
  /** Lets the user publish replies to requests it received (`allow_responses` in NATS). */
  readonly allow_responses?: boolean | { readonly max?: number; readonly expires?: string };
}

/** One entry of `authorization { users: [...] }`: user and password, optional permissions. */
export interface NatsUser {
  readonly user: string;
  readonly password: string;
  readonly permissions?: NatsPermissions;
}

/**
 * Renders top-level keys as a NATS config file. Each value is written in JSON, which the NATS
 * config parser accepts, so quoting (`"$JS.API.>"`, paths with spaces) is never an issue.
 */
export function renderNatsConfig(config: NatsConfigBlock): string {
  return Object.entries(config)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: ${JSON.stringify(value, null, 2)}`)
    .join('\n')
    .concat('\n');
}
