import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Flash } from './views/layout.js';

/** How a user signed in: as the Region's bootstrap administrator, or as a broker's console user. */
export type SessionKind = 'bootstrap' | 'broker';

export interface Session {
  readonly id: string;
  readonly username: string;
  /**
   * Kept in memory only, for the Basic credentials of the user's broker calls; never logged,
   * never rendered, gone when the session ends.
   */
  readonly password: string;
  readonly kind: SessionKind;
  readonly csrfToken: string;
  readonly createdAtMs: number;
  lastSeenAtMs: number;
  flash?: Flash;
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time, whatever their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

/** Sessions in memory: a restart of the control plane signs everyone out, by design. */
export class SessionStore {
  readonly #idleMs: number;
  readonly #sessions = new Map<string, Session>();

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  create(username: string, password: string, kind: SessionKind, nowMs: number): Session {
    const session: Session = {
      id: randomToken(),
      username,
      password,
      kind,
      csrfToken: randomToken(),
      createdAtMs: nowMs,
      lastSeenAtMs: nowMs,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value, touched; undefined when unknown or idle too long. */
  get(id: string | undefined, nowMs: number): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (nowMs - session.lastSeenAtMs > this.#idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenAtMs = nowMs;
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  sweep(nowMs: number): void {
    for (const [id, session] of this.#sessions) {
      if (nowMs - session.lastSeenAtMs > this.#idleMs) this.#sessions.delete(id);
    }
  }

  get size(): number {
    return this.#sessions.size;
  }

  clear(): void {
    this.#sessions.clear();
  }
}

/** Takes the session's one-shot notice. */
export function takeFlash(session: Session): Flash | undefined {
  const flash = session.flash;
  delete session.flash;
  return flash;
}
