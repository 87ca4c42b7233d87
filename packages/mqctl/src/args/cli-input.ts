import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { FlagSpec, FlagSpecs } from '../flags.js';

/** The raw value of an option as the parser collects it. */
export type RawValue = string | boolean | string[];

/** `broker-id` → `BrokerId`: the API's name of a flag, unless the spec names it. */
export function inputNameOf(name: string, spec: FlagSpec): string {
  return (
    spec.inputName ??
    name
      .split('-')
      .map((part) => (part.length === 0 ? part : `${part[0]?.toUpperCase()}${part.slice(1)}`))
      .join('')
  );
}

/** `--cli-input-json` takes the JSON itself or `file://PATH`, as aws does. */
export function readCliInput(value: string): Record<string, unknown> {
  let text = value;
  if (value.startsWith('file://')) {
    const path = value.slice('file://'.length);
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--cli-input-json: cannot read ${path} (${(error as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--cli-input-json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--cli-input-json must be a JSON object of the API names and values');
  }
  return parsed as Record<string, unknown>;
}

function toRaw(key: string, spec: FlagSpec, value: unknown): RawValue {
  const wrong = (expected: string): UsageError =>
    new UsageError(
      `--cli-input-json: ${key} must be ${expected} (got ${JSON.stringify(value) ?? 'undefined'})`,
    );
  switch (spec.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('true or false');
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrong('a whole number');
      return String(value);
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      if (typeof value === 'object' && value !== null) return JSON.stringify(value);
      throw wrong('a string');
    case 'list':
      if (!Array.isArray(value)) throw wrong('a list');
      if (value.every((item) => typeof item === 'string' || typeof item === 'number')) {
        return value.map(String);
      }
      // Lists of structures (--users): their flag reads a JSON array.
      return [JSON.stringify(value)];
  }
}

/**
 * Lays `--cli-input-json`'s values under those given on the command line (which win, as with
 * aws). A key that names no option of the verb is refused, naming the keys it takes.
 */
export function mergeCliInput(
  input: Readonly<Record<string, unknown>>,
  verb: string,
  specs: FlagSpecs,
  values: Map<string, RawValue>,
): void {
  const byInputName = new Map(
    Object.entries(specs).map(([name, spec]) => [inputNameOf(name, spec), [name, spec] as const]),
  );
  for (const [key, value] of Object.entries(input)) {
    const entry = byInputName.get(key);
    if (entry === undefined) {
      const known = [...byInputName.keys()];
      throw new UsageError(
        `--cli-input-json: unknown parameter ${key} for ${verb}; it takes ${known.length === 0 ? 'none' : known.join(', ')}`,
      );
    }
    const [name, spec] = entry;
    if (value === null || values.has(name)) continue;
    values.set(name, toRaw(key, spec, value));
  }
}

function placeholder(spec: FlagSpec): unknown {
  if (spec.skeleton !== undefined) return spec.skeleton;
  switch (spec.type) {
    case 'boolean':
      return true;
    case 'integer':
      return 0;
    case 'string':
      return spec.choices?.[0] ?? '';
    case 'list':
      return [''];
  }
}

/** What `--generate-cli-skeleton input` prints: every option of the verb by its API name. */
export function cliSkeleton(specs: FlagSpecs): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [inputNameOf(name, spec), placeholder(spec)]),
  );
}
