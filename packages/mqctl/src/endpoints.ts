import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { unavailable } from '@crdr/errors';
import { UsageError } from './errors.js';

/** Where `pnpm stack up` writes the endpoints, relative to the repository root. */
export const endpointsFileName = join('.stack', 'endpoints.json');

/** Overrides the search for `.stack/endpoints.json`. */
export const endpointsFileEnv = 'MQCTL_ENDPOINTS_FILE';
/** The default Region when `--region` is not given. */
export const regionEnv = 'MQCTL_REGION';
export const defaultRegion = 'region-a';

/**
 * `.stack/endpoints.json`: `{"regions": {"region-a": {"controlPlane": "127.0.0.1:PORT",
 * "metricsHttp": ..., "metricsGrpc": ..., ...}}}`. Every Region's entry is a map from endpoint
 * key to address, so a service added later only adds a key.
 */
export interface EndpointsFile {
  readonly path: string;
  readonly regions: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const stackHint = 'Start the stack with `pnpm stack up`, or pass --endpoint-url HOST:PORT.';

/** Validates the file's content; errors name the file and what is wrong in it. */
export function parseEndpointsFile(text: string, path: string): EndpointsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw unavailable(`${path} is not valid JSON (${(error as Error).message}). ${stackHint}`);
  }
  const regions = (parsed as { regions?: unknown } | null)?.regions;
  if (typeof regions !== 'object' || regions === null || Array.isArray(regions)) {
    throw unavailable(`${path} has no "regions" object. ${stackHint}`);
  }
  const result: Record<string, Record<string, string>> = {};
  for (const [region, entry] of Object.entries(regions)) {
    if (typeof entry !== 'object' || entry === null) continue;
    result[region] = Object.fromEntries(
      Object.entries(entry as Record<string, unknown>).filter(
        (pair): pair is [string, string] => typeof pair[1] === 'string',
      ),
    );
  }
  return { path, regions: result };
}

/** `regions[region][key]` of the file, or an error naming what is missing. */
export function endpointFromFile(file: EndpointsFile, region: string, key: string): string {
  const entry = file.regions[region];
  if (entry === undefined) {
    const known = Object.keys(file.regions);
    throw new UsageError(
      `unknown Region "${region}": ${file.path} has ${known.length === 0 ? 'no Regions' : known.join(', ')}`,
    );
  }
  const address = entry[key];
  if (address === undefined || address.length === 0) {
    throw unavailable(
      `${file.path} has no ${key} endpoint for ${region}; is that service part of the stack? ${stackHint}`,
    );
  }
  return normalizeEndpoint(address, `${key} of ${region} in ${file.path}`);
}

/**
 * `HOST:PORT`, also written `grpc://HOST:PORT` or `http://HOST:PORT`, as grpc-js takes it
 * (`HOST:PORT`). Errors name where the value came from.
 */
export function normalizeEndpoint(value: string, source: string): string {
  const text = value.trim();
  const withoutScheme = text.replace(/^(grpc|grpcs|http|https|dns):\/\//i, '').replace(/\/+$/, '');
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(withoutScheme);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new UsageError(`bad endpoint "${value}" (${source}); expected HOST:PORT`);
  }
  return `${match[1]}:${port}`;
}

/**
 * The endpoints file to use: `$MQCTL_ENDPOINTS_FILE` when set, else the first
 * `.stack/endpoints.json` found from `cwd` upward.
 */
export function findEndpointsFile(
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const override = env[endpointsFileEnv];
  if (override !== undefined && override.length > 0) {
    const path = resolve(cwd, override);
    if (!existsSync(path)) {
      throw unavailable(`${path} (from ${endpointsFileEnv}) does not exist. ${stackHint}`);
    }
    return path;
  }
  for (let directory = resolve(cwd); ; directory = dirname(directory)) {
    const candidate = join(directory, endpointsFileName);
    if (existsSync(candidate)) return candidate;
    if (dirname(directory) === directory) break;
  }
  throw unavailable(
    `no ${endpointsFileName} in ${resolve(cwd)} or any directory above it. ${stackHint}`,
  );
}

export function loadEndpointsFile(path: string): EndpointsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unavailable(`cannot read ${path} (${(error as Error).message}). ${stackHint}`);
  }
  return parseEndpointsFile(text, path);
}

/** The Region to talk to: `--region`, else `$MQCTL_REGION`, else region-a. */
export function resolveRegion(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (flag !== undefined) return flag;
  const fromEnv = env[regionEnv];
  return fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : defaultRegion;
}
