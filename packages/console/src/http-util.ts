import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, CrdrError } from '@crdr/errors';
import { toHtmlString, type SafeHtml } from './html.js';

/**
 * Nothing but the console's own origin: no inline script, no CDN, no font, no framing. Inline
 * SVG is markup, not a resource, so the sparklines need nothing more.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(response: ServerResponse): void {
  response.setHeader('Content-Security-Policy', contentSecurityPolicy);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendHtml(response: ServerResponse, status: number, body: SafeHtml): void {
  const text = toHtmlString(body);
  response.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(text);
}

export function redirect(response: ServerResponse, location: string): void {
  // 303: the browser follows with a GET, so a reload never re-posts a form.
  response.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  response.end();
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const raw = part.slice(index + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(raw));
    } catch {
      cookies.set(name, raw);
    }
  }
  return cookies;
}

export interface CookieOptions {
  readonly maxAgeSeconds?: number;
  readonly secure?: boolean;
}

/** HttpOnly, SameSite=Strict, Path=/ always: the console's cookies are never readable by script. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** The largest form the console accepts (a Send To body may be large). */
export const maxFormBytes = 4 * 1024 * 1024;

/** Reads an `application/x-www-form-urlencoded` body. */
export async function readForm(request: IncomingMessage): Promise<Map<string, string>> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    throw badRequest(`expected a form (application/x-www-form-urlencoded), got "${type ?? ''}"`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxFormBytes)
      throw new CrdrError('ResourceExhausted', `the form is larger than ${maxFormBytes} bytes`);
    chunks.push(chunk);
  }
  const form = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
    // The first value wins: a field is never silently replaced by a later duplicate.
    if (!form.has(key)) form.set(key, value);
  }
  return form;
}

/** An error as the console shows it: the API's code and message, as given. */
export function describeError(error: unknown): string {
  if (error instanceof CrdrError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status that matches an error code. */
export function httpStatusOf(error: unknown): number {
  if (!(error instanceof CrdrError)) return 500;
  switch (error.code) {
    case 'BadRequest':
      return 400;
    case 'Unauthenticated':
      return 401;
    case 'Forbidden':
      return 403;
    case 'NotFound':
      return 404;
    case 'Conflict':
    case 'FailedPrecondition':
    case 'Aborted':
      return 409;
    case 'ResourceExhausted':
      return 413;
    case 'Unavailable':
      return 503;
    case 'DeadlineExceeded':
      return 504;
    default:
      return 500;
  }
}
