import { z } from 'zod';

/**
 * Config is parsed once, at start-up, from an environment-like record and fails fast with one
 * message naming every variable at fault (docs/style.md §9). Nothing else reads `process.env`.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): Readonly<z.infer<S>> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join('.') || '(root)';
      return `${path}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** A TCP port; 0 asks the OS for a free one. */
export const port = () => z.coerce.number().int().min(0).max(65535);
/** A duration or size given as a whole non-negative number of its unit. */
export const count = () => z.coerce.number().int().min(0);
export const positive = () => z.coerce.number().int().min(1);
export const bool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const defaultPgUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

export { z };
