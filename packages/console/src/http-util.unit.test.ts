import { describe, expect, it } from 'vitest';
import { parseBootstrapAdmin, safeNextPath } from './login.routes.js';
import {
  contentSecurityPolicy,
  describeError,
  parseCookies,
  serializeCookie,
} from './http-util.js';
import { CrdrError } from '@crdr/errors';
import { safeEqual } from './session.store.js';

describe('cookies', () => {
  it('are HttpOnly and SameSite=Strict', () => {
    expect(serializeCookie('s', 'a b')).toBe('s=a%20b; Path=/; HttpOnly; SameSite=Strict');
    expect(serializeCookie('s', '', { maxAgeSeconds: 0, secure: true })).toBe(
      's=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
    );
  });

  it('are parsed from a Cookie header', () => {
    const cookies = parseCookies('a=1; crdr_console_session=x%2By; broken; b=%E0%A4%A');
    expect(cookies.get('a')).toBe('1');
    expect(cookies.get('crdr_console_session')).toBe('x+y');
    expect(cookies.get('b')).toBe('%E0%A4%A');
  });
});

describe('sign-in helpers', () => {
  it('parse the bootstrap admin, a password may hold colons', () => {
    expect(parseBootstrapAdmin('root:pa:ss')).toEqual({ username: 'root', password: 'pa:ss' });
    expect(() => parseBootstrapAdmin('root')).toThrow('user:password');
    expect(() => parseBootstrapAdmin('root:')).toThrow('user:password');
  });

  it('only redirect to a path of the console after sign-in', () => {
    expect(safeNextPath('/brokers/b-1')).toBe('/brokers/b-1');
    expect(safeNextPath('//evil.example/')).toBe('/brokers');
    expect(safeNextPath('/\\evil.example')).toBe('/brokers');
    expect(safeNextPath('https://evil.example/')).toBe('/brokers');
    expect(safeNextPath(undefined)).toBe('/brokers');
  });

  it('compare secrets of any length', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
  });
});

describe('the CSP', () => {
  it('allows nothing from outside the console and no inline script', () => {
    expect(contentSecurityPolicy).toContain("default-src 'none'");
    expect(contentSecurityPolicy).toContain("script-src 'self'");
    expect(contentSecurityPolicy).not.toContain('unsafe-inline');
  });
});

describe('errors', () => {
  it('are shown as the API gave them', () => {
    expect(describeError(new CrdrError('Conflict', 'broker name "x" is taken'))).toBe(
      'Conflict: broker name "x" is taken',
    );
  });
});
