import type { Metadata } from '@grpc/grpc-js';

/** The metadata key credentials travel in (lower case, as HTTP/2 requires). */
export const authorizationMetadataKey = 'authorization';

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/** `Basic base64(username:password)`, the value of the `authorization` metadata. */
export function formatBasicAuth(credentials: BasicCredentials): string {
  const token = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8');
  return `Basic ${token.toString('base64')}`;
}

const BASIC = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i;

/**
 * Reads `authorization: Basic base64(username:password)` from call metadata. Undefined when it
 * is absent or malformed (not Basic, not base64, no colon, empty username): the caller answers
 * Unauthenticated either way. The password may contain colons; the username may not.
 */
export function parseBasicAuth(metadata: Metadata): BasicCredentials | undefined {
  const [value] = metadata.get(authorizationMetadataKey);
  if (typeof value !== 'string') return undefined;
  const match = BASIC.exec(value);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
