import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BasicCredentials } from '@crdr/proto';
import { sourceAddress } from '@crdr/service';
import type { ConsoleContext } from './context.js';
import {
  describeError,
  parseCookies,
  readForm,
  redirect,
  sendHtml,
  serializeCookie,
} from './http-util.js';
import { randomToken, safeEqual, type Session } from './session.store.js';
import { loginPage } from './views/login.js';

/**
 * Cookies are scoped to a host, not a port: the consoles of two Regions on one host each need
 * their own cookie names, or signing in to one would sign out of the other.
 */
export function cookieNames(region: string): { readonly session: string; readonly login: string } {
  const suffix = region.replace(/[^A-Za-z0-9_-]/g, '_');
  return { session: `crdr_console_session_${suffix}`, login: `crdr_console_login_${suffix}` };
}

/** `user:password` as credentials; the password may itself hold colons. */
export function parseBootstrapAdmin(value: string | BasicCredentials): BasicCredentials {
  if (typeof value !== 'string') return value;
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1)
    throw new Error('bootstrapAdmin must be "user:password" with both parts non-empty');
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** A redirect target after sign-in: a path of this console only. */
export function safeNextPath(next: string | undefined | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\'))
    return '/brokers';
  return next;
}

/**
 * GET shows the sign-in form with a double-submit token (cookie and hidden field); POST checks
 * the token, then the bootstrap administrator, then the brokers' console users, and opens a
 * fresh session (a new id: no fixation).
 */
export async function handleLogin(
  context: ConsoleContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const cookies = parseCookies(request.headers.cookie);
  if (request.method === 'GET') {
    // Several tabs (or a favicon request) must not invalidate each other's forms: an existing
    // token is kept.
    const existing = cookies.get(context.cookieNames.login);
    const token =
      existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomToken();
    response.setHeader(
      'Set-Cookie',
      serializeCookie(context.cookieNames.login, token, context.cookieOptions),
    );
    sendHtml(
      response,
      200,
      loginPage(context.region, token, { next: safeNextPath(url.searchParams.get('next')) }),
    );
    return;
  }
  const form = await readForm(request);
  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const next = safeNextPath(form.get('next'));
  const retry = (status: number, message: string): void => {
    const token = randomToken();
    response.setHeader(
      'Set-Cookie',
      serializeCookie(context.cookieNames.login, token, context.cookieOptions),
    );
    sendHtml(
      response,
      status,
      loginPage(context.region, token, { username, next, flash: { kind: 'error', message } }),
    );
  };
  const expected = cookies.get(context.cookieNames.login);
  if (!expected || !safeEqual(expected, form.get('_login') ?? '')) {
    retry(403, 'The sign-in form expired; please sign in again.');
    return;
  }
  if (username === '' || password === '') {
    retry(400, 'Enter a username and a password.');
    return;
  }
  const source = sourceAddress(request.socket.remoteAddress ?? '?');
  const verdict = context.loginThrottle.check(source, username);
  if (!verdict.allowed) {
    context.logger?.warn({ user: username, source }, 'console sign-in refused: too many failures');
    retry(
      429,
      `Too many failed sign-ins from this address; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s.`,
    );
    return;
  }
  // The delay comes before the check, so a guesser learns nothing sooner by waiting less.
  if (verdict.delayMs > 0) await sleep(verdict.delayMs);
  let kind: Session['kind'] | undefined;
  if (
    context.bootstrap &&
    safeEqual(username, context.bootstrap.username) &&
    safeEqual(password, context.bootstrap.password)
  ) {
    kind = 'bootstrap';
  } else {
    try {
      if (await context.backend.verifyConsoleUser(username, password)) kind = 'broker';
    } catch (error) {
      context.logger?.warn(
        { user: username, error: describeError(error) },
        'console sign-in check failed',
      );
      retry(503, `Cannot check the credentials now: ${describeError(error)}`);
      return;
    }
  }
  if (kind === undefined) {
    context.logger?.info({ user: username, source }, 'console sign-in refused');
    const answerDelayMs = context.loginThrottle.failed(source, username);
    if (answerDelayMs > 0) await sleep(answerDelayMs);
    retry(401, 'Wrong username or password, or the user has no console access.');
    return;
  }
  context.loginThrottle.succeeded(source, username);
  const session = context.sessions.create(username, password, kind, Date.now());
  context.logger?.info({ user: username, kind }, 'console sign-in');
  response.setHeader('Set-Cookie', [
    serializeCookie(context.cookieNames.session, session.id, context.cookieOptions),
    serializeCookie(context.cookieNames.login, '', { ...context.cookieOptions, maxAgeSeconds: 0 }),
  ]);
  redirect(response, next);
}
