import { describe, expect, it } from 'vitest';
import {
  createPasswordHasher,
  defaultScryptParameters,
  hashPassword,
  verifyPassword,
} from './password-hasher.js';

// Low cost: the tests check behaviour, not strength.
const cheap = { scrypt: { cost: 1024, blockSize: 8, parallelization: 1 } };

describe('password hasher', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const encoded = await hashPassword('correct-horse-battery', cheap);
    expect(await verifyPassword('correct-horse-battery', encoded)).toBe(true);
    expect(await verifyPassword('correct-horse-batterY', encoded)).toBe(false);
    expect(await verifyPassword('', encoded)).toBe(false);
  });

  it('records its parameters and a random salt in the encoding', async () => {
    const [a, b] = await Promise.all([
      hashPassword('same password', cheap),
      hashPassword('same password', cheap),
    ]);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    const salt = Buffer.from(a.split('$')[4] ?? '', 'base64');
    expect(salt).toHaveLength(16);
  });

  it('uses N=16384, r=8, p=1 by default', async () => {
    expect(defaultScryptParameters).toEqual({ cost: 16384, blockSize: 8, parallelization: 1 });
    const encoded = await createPasswordHasher().hash('default cost pw');
    expect(encoded.startsWith('scrypt$16384$8$1$')).toBe(true);
    expect(await verifyPassword('default cost pw', encoded)).toBe(true);
  });

  it('verifies a hash made with other parameters than its own', async () => {
    const old = await hashPassword('unicode ✓ pässword', {
      scrypt: { cost: 256, blockSize: 4, parallelization: 2 },
    });
    expect(await createPasswordHasher(cheap).verify('unicode ✓ pässword', old)).toBe(true);
  });

  it('refuses malformed or unknown encodings instead of throwing', async () => {
    const encoded = await hashPassword('correct-horse-battery', cheap);
    const parts = encoded.split('$');
    const malformed = [
      '',
      'plaintext',
      encoded.replace(/^scrypt/, 'bcrypt'),
      [...parts.slice(0, 1), '1000', ...parts.slice(2)].join('$'), // N not a power of two
      [...parts.slice(0, 1), '2097152', ...parts.slice(2)].join('$'), // 2 GiB of memory
      parts.slice(0, 5).join('$'),
      `${encoded}$extra`,
    ];
    for (const bad of malformed) {
      expect(await verifyPassword('correct-horse-battery', bad)).toBe(false);
    }
  });

  it('refuses invalid parameters when created', () => {
    expect(() => createPasswordHasher({ scrypt: { cost: 1000 } })).toThrow(RangeError);
    expect(() => createPasswordHasher({ scrypt: { blockSize: 0 } })).toThrow(RangeError);
  });
});
