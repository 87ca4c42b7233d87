import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BasicCredentials } from '@crdr/proto';
import type { LoginThrottle } from '@crdr/service';
import type { ConsoleBackend } from './console.backend.js';
import type { CookieOptions } from './http-util.js';
import type { Session, SessionStore } from './session.store.js';
import type { Viewer } from './views/layout.js';

/** The little of a pino logger the console uses; passwords are never part of what it logs. */
export interface ConsoleLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
}

export interface ConsoleContext {
  readonly region: string;
  readonly backend: ConsoleBackend;
  readonly sessions: SessionStore;
  readonly logger: ConsoleLogger | undefined;
  readonly refreshIntervalMs: number;
  /** Aborted when the server stops: ends the SSE streams. */
  readonly stopping: AbortSignal;
  readonly bootstrap: BasicCredentials | undefined;
  readonly cookieNames: { readonly session: string; readonly login: string };
  readonly cookieOptions: CookieOptions;
  /** Other Regions' consoles by Region name, for links between them. */
  readonly peerConsoles: Readonly<Record<string, string>>;
  /** Slows, then refuses, password guessing at the sign-in form. */
  readonly loginThrottle: LoginThrottle;
}

export interface RequestScope {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  readonly segments: readonly string[];
  readonly session: Session;
}

export function viewerOf(session: Session): Viewer {
  return { username: session.username, csrfToken: session.csrfToken };
}
