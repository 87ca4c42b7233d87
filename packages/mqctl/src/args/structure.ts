import { UsageError } from '../errors.js';

/**
 * An aws structure option: JSON (`{"General": true}`) or shorthand `Key=Value,Key=Value` (a
 * value quoted with "..." may hold commas). Keys are checked against `keys` (case-insensitively,
 * canonical spelling returned) unless `keys` is undefined (a map such as --tags).
 */
export function parseStructure(
  flag: string,
  text: string,
  keys: readonly string[] | undefined,
): Record<string, string | number | boolean> {
  let raw: Record<string, unknown>;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`--${flag} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError(`--${flag} must be a JSON object or Key=Value,Key=Value`);
    }
    raw = parsed as Record<string, unknown>;
  } else {
    raw = {};
    for (const pair of trimmed.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
      const equals = pair.indexOf('=');
      if (equals <= 0) {
        throw new UsageError(`--${flag}: expected Key=Value, got "${pair}"`);
      }
      raw[pair.slice(0, equals).trim()] = pair
        .slice(equals + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
    }
  }
  const result: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(raw)) {
    const canonical =
      keys === undefined ? key : keys.find((known) => known.toLowerCase() === key.toLowerCase());
    if (canonical === undefined) {
      throw new UsageError(`--${flag}: unknown key "${key}"; allowed: ${(keys ?? []).join(', ')}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`--${flag}: ${canonical} must be a string, number or boolean`);
    }
    result[canonical] = value;
  }
  return result;
}

/** `true`/`false` (any case), as shorthand gives them, or a JSON boolean. */
export function booleanField(
  flag: string,
  key: string,
  value: string | number | boolean | undefined,
): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new UsageError(`--${flag}: ${key} must be true or false (got "${value}")`);
}
