/**
 * Slows and then stops password guessing, for every surface that takes a password (STOMP, the
 * broker's gRPC, the console). Three rules, with time passed in:
 *
 * - **Per user, a growing delay before the check.** After `freeFailures` wrong passwords for one
 *   user (from any address), each further try for that user waits `baseDelayMs`, doubling up to
 *   `maxDelayMs`, before its password is even checked. The right password still gets in, so
 *   guessing from many addresses cannot lock the user out.
 * - **Per address and user, a limit.** After `lockoutFailures` wrong passwords for one user from
 *   one address, that address may not sign in as that user, even with the right password, until
 *   `windowMs` has passed since the last failure. Other users from the same address (a NAT, or
 *   the control plane and the metrics service beside the clients) are not affected.
 * - **Per address, a growing delay before a refusal.** After `freeFailures` wrong passwords from
 *   one address, for any users, each further refusal to that address is answered only after the
 *   same growing delay: spraying many users from one place slows down, while a right password
 *   from there is answered at once.
 *
 * A failure is forgotten `windowMs` after the last one of its key; a success clears the user's
 * counts. Memory is bounded: past `maxKeys` keys per rule the oldest are dropped.
 */
export interface LoginThrottleOptions {
  /** Wrong passwords before any delay; default 3. */
  readonly freeFailures?: number;
  /** The first delay; default 250 ms. */
  readonly baseDelayMs?: number;
  /** The longest delay; default 5 s. */
  readonly maxDelayMs?: number;
  /** Wrong passwords for one user from one address before it is refused; default 10; 0: never. */
  readonly lockoutFailures?: number;
  /** How long failures are remembered after the last one; default 15 minutes. */
  readonly windowMs?: number;
  /** The most keys remembered per rule; default 100 000. */
  readonly maxKeys?: number;
  readonly nowMs: () => number;
}

export type LoginVerdict =
  | { readonly allowed: true; readonly delayMs: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

export interface LoginThrottle {
  /** Asked before a password is checked: refused, or allowed after `delayMs`. */
  check(source: string, username: string): LoginVerdict;
  /** A wrong password (or an unknown user); returns how long to wait before saying so. */
  failed(source: string, username: string): number;
  /** The right password. */
  succeeded(source: string, username: string): void;
}

interface Failures {
  count: number;
  lastMs: number;
}

/** Failures per key within a window, oldest keys dropped past a bound. */
class FailureCounts {
  readonly #entries = new Map<string, Failures>();
  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  get(key: string, now: number): Failures | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.lastMs >= this.windowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  add(key: string, now: number): number {
    const count = (this.get(key, now)?.count ?? 0) + 1;
    // Re-inserted, so that insertion order stays age order.
    this.#entries.delete(key);
    this.#entries.set(key, { count, lastMs: now });
    while (this.#entries.size > this.maxKeys) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    return count;
  }

  clear(key: string): void {
    this.#entries.delete(key);
  }
}

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const freeFailures = options.freeFailures ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const lockoutFailures = options.lockoutFailures ?? 10;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const { nowMs } = options;
  const byUser = new FailureCounts(windowMs, maxKeys);
  const bySourceAndUser = new FailureCounts(windowMs, maxKeys);
  const bySource = new FailureCounts(windowMs, maxKeys);
  const pair = (source: string, username: string): string => `${source}\u0000${username}`;

  const delayFor = (failures: number): number => {
    if (failures === 0 || failures < freeFailures) return 0;
    const doublings = Math.min(failures - Math.max(freeFailures, 1), 30);
    return Math.min(maxDelayMs, baseDelayMs * 2 ** doublings);
  };

  return {
    check(source, username) {
      const now = nowMs();
      const locked = bySourceAndUser.get(pair(source, username), now);
      if (lockoutFailures > 0 && locked !== undefined && locked.count >= lockoutFailures) {
        return { allowed: false, retryAfterMs: Math.max(1, locked.lastMs + windowMs - now) };
      }
      return { allowed: true, delayMs: delayFor(byUser.get(username, now)?.count ?? 0) };
    },
    failed(source, username) {
      const now = nowMs();
      byUser.add(username, now);
      bySourceAndUser.add(pair(source, username), now);
      // The failure just counted is not held against its own answer.
      return delayFor(bySource.add(source, now) - 1);
    },
    succeeded(source, username) {
      byUser.clear(username);
      bySourceAndUser.clear(pair(source, username));
    },
  };
}

/**
 * The address part of a peer as a socket or gRPC names it (`127.0.0.1:5555`,
 * `ipv4:127.0.0.1:5555`, `ipv6:[::1]:5555`, `::1:5555`): failures count per address, not per
 * connection.
 */
export function sourceAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(bare);
  if (bracketed !== null) return bracketed[1]!;
  const colon = bare.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(bare.slice(colon + 1)) ? bare.slice(0, colon) : bare;
}
