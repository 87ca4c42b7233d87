import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createAuthorizer, parseAuthorizationEntries } from './authorization.js';

const admin = { username: 'admin', groups: [], consoleAccess: true };
const app = { username: 'app', groups: ['apps'], consoleAccess: false };
const loner = { username: 'loner', groups: [], consoleAccess: false };

describe('the default rule set', () => {
  const authorizer = createAuthorizer(undefined);

  it('gives console users (admins) every right on every destination', () => {
    for (const right of ['read', 'write', 'admin'] as const) {
      expect(authorizer.allows(admin, right, 'queue', 'payroll')).toBe(true);
      expect(authorizer.allows(admin, right, 'topic', 'ActiveMQ.DLQ')).toBe(true);
    }
  });

  it('gives other users their groups namespaces only: app cannot read payroll', () => {
    expect(authorizer.allows(app, 'read', 'queue', 'payroll')).toBe(false);
    expect(authorizer.allows(app, 'write', 'queue', 'payroll')).toBe(false);
    expect(authorizer.allows(app, 'read', 'queue', 'apps')).toBe(true);
    expect(authorizer.allows(app, 'admin', 'topic', 'apps.orders.eu')).toBe(true);
    expect(authorizer.allows(app, 'read', 'queue', 'appsx')).toBe(false);
    expect(authorizer.allows(app, 'read', 'queue', 'ActiveMQ.DLQ')).toBe(false);
    expect(authorizer.allows(loner, 'write', 'queue', 'anything')).toBe(false);
  });

  it('refuses with Forbidden naming the right and the destination', () => {
    let caught: unknown;
    try {
      authorizer.check(app, 'read', { kind: 'queue', name: 'payroll' });
    } catch (error) {
      caught = error;
    }
    expect(hasErrorCode(caught, 'Forbidden')).toBe(true);
    expect((caught as Error).message).toBe(
      'user "app" is not authorized: reading /queue/payroll needs the read right',
    );
  });

  it('lets anyone use temporary destinations', () => {
    expect(() =>
      authorizer.check(loner, 'admin', { kind: 'queue', name: 'reply-1', temporary: true }),
    ).not.toThrow();
  });
});

describe('configured entries', () => {
  const authorizer = createAuthorizer(
    parseAuthorizationEntries(
      JSON.stringify([
        { queue: '>', read: 'admins', write: 'admins', admin: 'admins' },
        { queue: 'orders.>', read: 'apps', write: ['apps'], admin: 'apps' },
        { topic: 'prices.*', read: 'users', write: 'admins' },
      ]),
    ),
  );

  it('adds up the rights of every matching entry, per kind', () => {
    expect(authorizer.allows(app, 'read', 'queue', 'orders.eu')).toBe(true);
    // As in ActiveMQ, `orders.>` covers `orders` itself, but not a name that only starts alike.
    expect(authorizer.allows(app, 'read', 'queue', 'orders')).toBe(true);
    expect(authorizer.allows(app, 'read', 'queue', 'ordersx')).toBe(false);
    expect(authorizer.allows(app, 'read', 'queue', 'payroll')).toBe(false);
    expect(authorizer.allows(admin, 'read', 'queue', 'orders.eu')).toBe(true);
    expect(authorizer.allows(loner, 'read', 'topic', 'prices.eur')).toBe(true);
    expect(authorizer.allows(loner, 'read', 'topic', 'prices.eur.usd')).toBe(false);
    expect(authorizer.allows(loner, 'write', 'topic', 'prices.eur')).toBe(false);
    expect(authorizer.allows(admin, 'read', 'topic', 'orders.eu')).toBe(false);
  });

  it('with an empty list, grants nothing', () => {
    expect(createAuthorizer([]).allows(admin, 'read', 'queue', 'a')).toBe(false);
  });
});

describe('parseAuthorizationEntries', () => {
  it('names the entry at fault', () => {
    expect(() => parseAuthorizationEntries('{')).toThrow('not JSON');
    expect(() => parseAuthorizationEntries('{}')).toThrow('a JSON list');
    expect(() => parseAuthorizationEntries('[{"read": "a"}]')).toThrow(
      'entry 0 must name exactly one of "queue" or "topic"',
    );
    expect(() => parseAuthorizationEntries('[{"queue": "a", "topic": "b"}]')).toThrow(
      'exactly one',
    );
    expect(() => parseAuthorizationEntries('[{"queue": "a.>.b"}]')).toThrow(
      '> may only be the last part',
    );
    expect(() => parseAuthorizationEntries('[{"queue": "a", "reed": "x"}]')).toThrow(
      'unknown field "reed"',
    );
    expect(() => parseAuthorizationEntries('[{"queue": "a", "read": 3}]')).toThrow(
      '"read" must be',
    );
  });
});
