import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { forbidden, hasErrorCode, resourceExhausted, unauthenticated } from '@crdr/errors';
import type { LoginThrottle } from '@crdr/service';
import type { Principal } from './engine.types.js';

/** What the authenticator reads of a stored user (the user repository fits it). */
export interface StoredCredentials {
  readonly username: string;
  readonly passwordHash: string;
  readonly groups: readonly string[];
  readonly consoleAccess: boolean;
  readonly replicationUser: boolean;
}

export interface CredentialStore {
  get(username: string): Promise<StoredCredentials | undefined>;
}

/** The password hasher (`@crdr/service`'s `createPasswordHasher`) fits it. */
export interface PasswordVerifier {
  hash(password: string): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
}

export interface AuthenticatorOptions {
  readonly users: CredentialStore;
  readonly hasher: PasswordVerifier;
  /** How long a successful verification is reused; default 60 s. */
  readonly cacheTtlMs?: number;
  /** Most cached verifications; the oldest go first. Default 10 000. */
  readonly cacheMaxEntries?: number;
  /** Milliseconds, for the cache's expiry; default `performance.now`. */
  readonly nowMs?: () => number;
  /** Slows, then refuses, password guessing; none when absent. */
  readonly throttle?: LoginThrottle;
}

export interface Authenticator {
  /**
   * Unauthenticated `invalid username or password` for an unknown user and for a wrong password
   * alike; Forbidden for a replication user with the right password; ResourceExhausted for a
   * user refused from an address after too many wrong passwords (`@crdr/service`'s login
   * throttle says how tries are slowed before that). `source` is the client's address.
   */
  authenticate(username: string, password: string, source: string): Promise<Principal>;
  /** Forgets cached verifications of a user; call it whenever the user changes or goes. */
  invalidate(username: string): void;
  /**
   * Forgets every cached verification: for users changed behind this process's back (a replica
   * whose users the replicator writes, on promotion; a standby that becomes active).
   */
  invalidateAll(): void;
}

interface CacheEntry {
  readonly passwordDigest: Buffer;
  readonly principal: Principal;
  readonly expiresAtMs: number;
}

const invalidCredentials = 'invalid username or password';

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { users, hasher } = options;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
  const nowMs = options.nowMs ?? (() => performance.now());

  // scrypt is deliberately slow, and a client opening many connections sends the same
  // credentials each time: a verified password is reused for a while, keyed by its SHA-256 so
  // the cache never holds a password. One entry per user: a second password simply misses.
  const cache = new Map<string, CacheEntry>();
  // Bumped by invalidate() and invalidateAll(), so a verification that read the user before the change cannot put
  // the old user back into the cache when it finishes.
  const generations = new Map<string, number>();
  // Concurrent logins with the same credentials share one verification.
  const inFlight = new Map<string, Promise<Principal>>();
  // An unknown user costs one scrypt too, so the time taken does not tell which part was wrong.
  let dummyHash: Promise<string> | undefined;

  let allGeneration = 0;
  // Both counters only grow, so their sum changes whenever either does.
  const generation = (username: string) => allGeneration + (generations.get(username) ?? 0);

  async function verify(
    username: string,
    password: string,
    passwordDigest: Buffer,
  ): Promise<Principal> {
    const seenGeneration = generation(username);
    const user = await users.get(username);
    if (user === undefined) {
      dummyHash ??= hasher.hash('not a password of any user');
      await hasher.verify(password, await dummyHash);
      throw unauthenticated(invalidCredentials);
    }
    if (!(await hasher.verify(password, user.passwordHash))) {
      throw unauthenticated(invalidCredentials);
    }
    if (user.replicationUser) {
      throw forbidden(`user "${username}" is a replication user and cannot connect as a client`);
    }
    const principal: Principal = Object.freeze({
      username: user.username,
      groups: Object.freeze([...user.groups]),
      consoleAccess: user.consoleAccess,
    });
    if (generation(username) === seenGeneration) {
      cache.delete(username);
      if (cache.size >= cacheMaxEntries) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(username, { passwordDigest, principal, expiresAtMs: nowMs() + cacheTtlMs });
    }
    return principal;
  }

  function check(username: string, password: string): Promise<Principal> {
    const passwordDigest = createHash('sha256').update(password, 'utf8').digest();
    const cached = cache.get(username);
    if (cached !== undefined) {
      if (cached.expiresAtMs <= nowMs()) cache.delete(username);
      else if (timingSafeEqual(cached.passwordDigest, passwordDigest)) {
        return Promise.resolve(cached.principal);
      }
    }
    const key = `${username}\u0000${passwordDigest.toString('hex')}`;
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const verification: Promise<Principal> = verify(username, password, passwordDigest).finally(
      () => {
        if (inFlight.get(key) === verification) inFlight.delete(key);
      },
    );
    inFlight.set(key, verification);
    return verification;
  }

  return {
    async authenticate(username, password, source) {
      const { throttle } = options;
      if (throttle === undefined) return check(username, password);
      const verdict = throttle.check(source, username);
      if (!verdict.allowed) {
        throw resourceExhausted(
          `too many failed logins from ${source}; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
        );
      }
      // The delay comes before the check, so a guesser learns nothing sooner by waiting less.
      if (verdict.delayMs > 0) await sleep(verdict.delayMs);
      try {
        const principal = await check(username, password);
        throttle.succeeded(source, username);
        return principal;
      } catch (error) {
        if (hasErrorCode(error, 'Unauthenticated')) {
          const answerDelayMs = throttle.failed(source, username);
          if (answerDelayMs > 0) await sleep(answerDelayMs);
        }
        throw error;
      }
    },

    invalidate(username) {
      cache.delete(username);
      generations.set(username, (generations.get(username) ?? 0) + 1);
      // A login already under way with the old credentials must not be shared any more.
      for (const key of inFlight.keys()) {
        if (key.startsWith(`${username}\u0000`)) inFlight.delete(key);
      }
    },

    invalidateAll() {
      allGeneration += 1;
      cache.clear();
      inFlight.clear();
    },
  };
}
