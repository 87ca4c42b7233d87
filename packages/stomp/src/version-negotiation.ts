import { isStompVersion, stompVersions } from './frame.js';
import type { StompVersion } from './frame.js';

/**
 * The version a server picks for a CONNECT/STOMP frame's `accept-version` header: the highest one
 * both sides support; a missing header means 1.0 (STOMP 1.2, "Protocol Negotiation"). Returns
 * undefined when there is no common version, and the server should answer ERROR.
 */
export function negotiateVersion(
  acceptVersion: string | undefined,
  supported: readonly StompVersion[] = stompVersions,
): StompVersion | undefined {
  if (acceptVersion === undefined) return supported.includes('1.0') ? '1.0' : undefined;
  let best: StompVersion | undefined;
  for (const raw of acceptVersion.split(',')) {
    const v = raw.trim();
    if (isStompVersion(v) && supported.includes(v) && (best === undefined || v > best)) best = v;
  }
  return best;
}
