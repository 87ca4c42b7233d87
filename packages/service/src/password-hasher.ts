import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt password hashes, encoded as `scrypt$N$r$p$saltBase64$hashBase64` so that the cost can
 * grow later: a hash records its own parameters, and old hashes keep verifying.
 */
export interface ScryptParameters {
  /** N, a power of two. */
  readonly cost: number;
  /** r. */
  readonly blockSize: number;
  /** p. */
  readonly parallelization: number;
}

export interface PasswordHasherOptions {
  /** Parameters for new hashes; tests use a low cost. */
  readonly scrypt?: Partial<ScryptParameters>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
}

export const defaultScryptParameters: ScryptParameters = Object.freeze({
  cost: 16_384,
  blockSize: 8,
  parallelization: 1,
});

const scheme = 'scrypt';
const saltBytes = 16;
const keyBytes = 32;
// Bounds on what a stored hash may ask for, so a corrupt row cannot make verification eat the
// host's memory: scrypt needs about 128·N·r bytes.
const maxMemoryBytes = 256 * 1024 * 1024;

export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  // Fail at construction, not at the first hash.
  resolveParameters(options);
  return {
    hash: (password) => hashPassword(password, options),
    verify: verifyPassword,
  };
}

export async function hashPassword(
  password: string,
  options: PasswordHasherOptions = {},
): Promise<string> {
  const parameters = resolveParameters(options);
  const salt = randomBytes(saltBytes);
  const key = await deriveKey(password, salt, keyBytes, parameters);
  return [
    scheme,
    parameters.cost,
    parameters.blockSize,
    parameters.parallelization,
    salt.toString('base64'),
    key.toString('base64'),
  ].join('$');
}

/** False for a wrong password and for an encoding this module did not write. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (parsed === undefined) return false;
  const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed.parameters);
  return timingSafeEqual(key, parsed.key);
}

/**
 * Whether a string is a hash this module wrote (and can verify): how stored credentials written
 * before hashing, in plain text, are told apart from hashes.
 */
export function isPasswordHash(encoded: string): boolean {
  return parse(encoded) !== undefined;
}

interface ParsedHash {
  readonly parameters: ScryptParameters;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const encodedPattern =
  /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function parse(encoded: string): ParsedHash | undefined {
  const match = encodedPattern.exec(encoded);
  if (match === null) return undefined;
  const [, cost, blockSize, parallelization, salt, key] = match;
  const parameters: ScryptParameters = {
    cost: Number(cost),
    blockSize: Number(blockSize),
    parallelization: Number(parallelization),
  };
  const saltBuffer = Buffer.from(salt ?? '', 'base64');
  const keyBuffer = Buffer.from(key ?? '', 'base64');
  if (!validParameters(parameters) || saltBuffer.length < 8 || keyBuffer.length < 16) {
    return undefined;
  }
  return { parameters, salt: saltBuffer, key: keyBuffer };
}

function resolveParameters(options: PasswordHasherOptions): ScryptParameters {
  const parameters = { ...defaultScryptParameters, ...options.scrypt };
  if (!validParameters(parameters)) {
    throw new RangeError(
      `invalid scrypt parameters N=${parameters.cost} r=${parameters.blockSize} p=${parameters.parallelization}`,
    );
  }
  return parameters;
}

function validParameters({ cost, blockSize, parallelization }: ScryptParameters): boolean {
  return (
    Number.isInteger(cost) &&
    Number.isInteger(blockSize) &&
    Number.isInteger(parallelization) &&
    cost >= 2 &&
    (cost & (cost - 1)) === 0 &&
    blockSize >= 1 &&
    parallelization >= 1 &&
    parallelization <= 16 &&
    128 * cost * blockSize <= maxMemoryBytes
  );
}

function deriveKey(
  password: string,
  salt: Buffer,
  length: number,
  { cost, blockSize, parallelization }: ScryptParameters,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      length,
      {
        N: cost,
        r: blockSize,
        p: parallelization,
        // Node refuses work above maxmem (32 MiB by default); allow what the parameters need.
        maxmem: 2 * 128 * cost * blockSize + 1024 * 1024,
      },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}
