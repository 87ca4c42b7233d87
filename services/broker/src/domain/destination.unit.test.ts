import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  destinationKey,
  formatDestination,
  namesTemporaryAlias,
  isWildcard,
  parseDestination,
  parseDestinations,
  wildcardMatcher,
} from './destination.js';

describe('parseDestination', () => {
  it('keeps the physical name as ActiveMQ does, / included', () => {
    expect(parseDestination('/queue/test/ruby/stomp/x')).toEqual({
      kind: 'queue',
      name: 'test/ruby/stomp/x',
      temporary: false,
    });
    expect(parseDestination('/topic/a b#c')).toMatchObject({ kind: 'topic', name: 'a b#c' });
    expect(parseDestination('/temp-queue/r1')).toMatchObject({ temporary: true });
  });

  it('tells a connection’s temporary alias from the broker-wide /remote-temp-* name', () => {
    expect(parseDestination('/temp-queue/replies')).toEqual({
      kind: 'queue',
      name: 'replies',
      temporary: true,
      alias: true,
    });
    const remote = parseDestination('/remote-temp-topic/ID:b-1-2:s3:1');
    expect(remote).toEqual({ kind: 'topic', name: 'ID:b-1-2:s3:1', temporary: true });
    expect(formatDestination(remote)).toBe('/remote-temp-topic/ID:b-1-2:s3:1');
    expect(namesTemporaryAlias('/queue/a,/temp-queue/b')).toBe(true);
    expect(namesTemporaryAlias('/remote-temp-queue/ID:x:1')).toBe(false);
    expect(destinationKey('queue', 'x', true)).not.toBe(destinationKey('queue', 'x'));
  });

  it('refuses a missing prefix, an empty name, control characters and a comma', () => {
    expect(() => parseDestination('/elsewhere/x')).toThrow('must start with /queue/');
    expect(() => parseDestination('/queue/')).toThrow('1-200 characters');
    expect(() => parseDestination('/queue/a\u0001')).toThrow('control characters');
    expect(() => parseDestination('/queue/a,b')).toThrow('","');
  });

  it('allows a wildcard only where asked', () => {
    expect(() => parseDestination('/topic/a.*')).toThrow('only on SUBSCRIBE');
    expect(parseDestination('/topic/a.>', { allowWildcards: true }).name).toBe('a.>');
    expect(() => parseDestination('/temp-topic/a.*', { allowWildcards: true })).toThrow(
      'temporary',
    );
    // Not a part of its own: an ordinary name.
    expect(parseDestination('/queue/a*b.c>d').name).toBe('a*b.c>d');
  });
});

describe('parseDestinations', () => {
  it('splits a composite destination, a bare part taking the kind before it', () => {
    expect(parseDestinations('/queue/a,/topic/b,c,/queue/a').map(formatDestination)).toEqual([
      '/queue/a',
      '/topic/b',
      '/topic/c',
    ]);
  });

  it('refuses an empty part or a first part without a prefix', () => {
    expect(() => parseDestinations('/queue/a,')).toThrow('each part of a composite');
    expect(() => parseDestinations('a,/queue/b')).toThrow('each part of a composite');
  });
});

describe('wildcards', () => {
  it('matches * as one part and > as the rest, none included', () => {
    const star = wildcardMatcher('a.*.c');
    expect(star('a.b.c')).toBe(true);
    expect(star('a.b.x.c')).toBe(false);
    expect(star('a.c')).toBe(false);
    const rest = wildcardMatcher('a.>');
    expect(rest('a.b')).toBe(true);
    expect(rest('a.b.c')).toBe(true);
    // None included: ActiveMQ 5.17 delivers a.> the root a too (the differential suite).
    expect(rest('a')).toBe(true);
    expect(rest('ab.c')).toBe(false);
    expect(wildcardMatcher('>')('anything.at.all')).toBe(true);
    expect(() => wildcardMatcher('a.>.b')).toThrow('last part');
    expect(isWildcard('a.*')).toBe(true);
    expect(isWildcard('a*')).toBe(false);
  });

  it('a pattern without wildcards matches only itself; * matches every one-part change; > its prefixes (property)', () => {
    const part = fc.stringMatching(/^[a-z0-9]{1,4}$/);
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        fc.nat(),
        part,
        (parts, i, other) => {
          const name = parts.join('.');
          expect(wildcardMatcher(name)(name)).toBe(true);
          const k = i % parts.length;
          const pattern = parts.map((p, j) => (j === k ? '*' : p)).join('.');
          const changed = parts.map((p, j) => (j === k ? other : p)).join('.');
          expect(wildcardMatcher(pattern)(changed)).toBe(true);
          expect(wildcardMatcher(parts.slice(0, k + 1).join('.') + '.>')(name)).toBe(true);
          expect(wildcardMatcher(parts.join('.') + '.x.>')(name)).toBe(false);
        },
      ),
    );
  });
});
