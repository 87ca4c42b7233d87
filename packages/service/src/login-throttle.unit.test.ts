import { describe, expect, it } from 'vitest';
import { createLoginThrottle, sourceAddress } from './login-throttle.js';

function clock() {
  let now = 1_000_000;
  return { nowMs: () => now, advance: (ms: number) => (now += ms) };
}

describe('login throttle', () => {
  it('checks the first wrong passwords for a user at once, then delays each try, doubling to a cap', () => {
    const time = clock();
    const throttle = createLoginThrottle({
      ...time,
      freeFailures: 2,
      baseDelayMs: 100,
      maxDelayMs: 700,
      lockoutFailures: 0,
    });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const verdict = throttle.check(`10.0.0.${i}`, 'app');
      delays.push(verdict.allowed ? verdict.delayMs : -1);
      throttle.failed(`10.0.0.${i}`, 'app');
    }
    expect(delays).toEqual([0, 0, 100, 200, 400, 700]);
    // Another user is not slowed.
    expect(throttle.check('10.0.0.1', 'ops')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('never refuses a user guessed at from many addresses', () => {
    const time = clock();
    const throttle = createLoginThrottle({ ...time, lockoutFailures: 3 });
    for (let i = 0; i < 50; i++) throttle.failed(`10.0.${i}.1`, 'admin');
    expect(throttle.check('10.9.9.9', 'admin').allowed).toBe(true);
  });

  it('refuses one user from one address that failed too often, until the window has passed', () => {
    const time = clock();
    const throttle = createLoginThrottle({ ...time, lockoutFailures: 5, windowMs: 60_000 });
    for (let i = 0; i < 5; i++) throttle.failed('10.0.0.1', 'app');
    expect(throttle.check('10.0.0.1', 'app')).toEqual({ allowed: false, retryAfterMs: 60_000 });
    // The same address as another user, and the same user from another address, still get in.
    expect(throttle.check('10.0.0.1', 'metrics').allowed).toBe(true);
    expect(throttle.check('10.0.0.2', 'app').allowed).toBe(true);
    time.advance(59_999);
    expect(throttle.check('10.0.0.1', 'app').allowed).toBe(false);
    time.advance(1);
    expect(throttle.check('10.0.0.1', 'app')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('answers the refusals of an address that sprays many users later and later', () => {
    const time = clock();
    const throttle = createLoginThrottle({ ...time, freeFailures: 2, baseDelayMs: 100 });
    const answers = [0, 1, 2, 3, 4].map((i) => throttle.failed('10.0.0.1', `user${i}`));
    expect(answers).toEqual([0, 0, 100, 200, 400]);
    expect(throttle.failed('10.0.0.2', 'user9')).toBe(0);
  });

  it("forgets a user's failures after a success, and everyone's after the window", () => {
    const time = clock();
    const throttle = createLoginThrottle({ ...time, freeFailures: 0, windowMs: 1_000 });
    throttle.failed('a', 'app');
    expect(throttle.check('a', 'app')).toEqual({ allowed: true, delayMs: 250 });
    throttle.succeeded('a', 'app');
    expect(throttle.check('a', 'app')).toEqual({ allowed: true, delayMs: 0 });
    throttle.failed('a', 'ops');
    time.advance(1_000);
    expect(throttle.check('a', 'ops')).toEqual({ allowed: true, delayMs: 0 });
  });

  it('remembers at most maxKeys keys, dropping the oldest', () => {
    const time = clock();
    const throttle = createLoginThrottle({ ...time, freeFailures: 0, maxKeys: 2 });
    throttle.failed('s', 'u1');
    throttle.failed('s', 'u2');
    throttle.failed('s', 'u3');
    expect(throttle.check('s', 'u1')).toEqual({ allowed: true, delayMs: 0 });
    expect(throttle.check('s', 'u3')).toEqual({ allowed: true, delayMs: 250 });
  });
});

describe('sourceAddress', () => {
  it.each([
    ['127.0.0.1:5555', '127.0.0.1'],
    ['ipv4:127.0.0.1:5555', '127.0.0.1'],
    ['ipv6:[::1]:5555', '::1'],
    ['::1:5555', '::1'],
    ['?:0', '?'],
    ['unix:/tmp/sock', 'unix:/tmp/sock'],
  ])('%s is %s', (peer, address) => {
    expect(sourceAddress(peer)).toBe(address);
  });
});
