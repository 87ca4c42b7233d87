import type { ErrorCode } from '@crdr/errors';
import { isCrdrError } from '@crdr/errors';

/**
 * A mistake in the command line (unknown verb or option, missing or bad value): exit status 2,
 * before any call is made. Its code in `--output json` is BadRequest, as the API would say.
 */
export class UsageError extends Error {
  readonly code: ErrorCode = 'BadRequest';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}

/** Exit statuses: 0 success, 1 the call (or its transport) failed, 2 the command line is wrong. */
export const exitCodes = { ok: 0, apiError: 1, usageError: 2 } as const;

/** What the CLI says about a failure: one line on stderr, and the JSON object on stdout. */
export interface FormattedError {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}

/** Where the failed call went, so transport failures can name it. */
export interface ErrorContext {
  /** `host:port` the verb called, when one was resolved. */
  readonly endpoint?: string;
  /** Where the endpoint came from (`--endpoint-url`, the endpoints file's path). */
  readonly endpointSource?: string;
  /** The Region whose service was called. */
  readonly region?: string;
  /** What was called ("control plane", "metrics service"). */
  readonly serviceLabel?: string;
}

const stackHint =
  'Is the stack running? Start it with `pnpm stack up`, or pass --endpoint-url HOST:PORT.';

/** A multi-line message would break the one-line promise: keep its first line. */
function oneLine(message: string): string {
  const trimmed = message.trim();
  const firstLine = trimmed.split('\n')[0] ?? '';
  return firstLine.length === 0 ? 'unknown error' : firstLine;
}

/**
 * Turns anything a verb threw into the code, one-line message and exit status the CLI reports.
 * gRPC's own UNAVAILABLE / DEADLINE_EXCEEDED (no `crdr-error-code` trailer, so
 * `details.grpcStatus` is set) mean the endpoint did not answer: the message names it.
 */
export function formatError(error: unknown, context: ErrorContext = {}): FormattedError {
  if (isUsageError(error)) {
    return { code: error.code, message: oneLine(error.message), exitCode: exitCodes.usageError };
  }
  if (isCrdrError(error)) {
    const transport = error.details.grpcStatus;
    const target = describeTarget(context);
    if (transport === 'UNAVAILABLE' && target !== undefined) {
      return {
        code: error.code,
        message: `cannot reach ${target}: ${transportReason(error.message)}. ${stackHint}`,
        exitCode: exitCodes.apiError,
      };
    }
    if (transport === 'DEADLINE_EXCEEDED' && target !== undefined) {
      return {
        code: error.code,
        message: `${target} did not answer in time: ${transportReason(error.message)}`,
        exitCode: exitCodes.apiError,
      };
    }
    if (transport === 'UNIMPLEMENTED' && target !== undefined) {
      return {
        code: error.code,
        message: `${target} does not implement this call (${oneLine(error.message)}); is it an older version?`,
        exitCode: exitCodes.apiError,
      };
    }
    return { code: error.code, message: oneLine(error.message), exitCode: exitCodes.apiError };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'Internal', message: oneLine(message), exitCode: exitCodes.apiError };
}

/** grpc-js's transport messages, without their noise ("Resolution note:", nested "Error: "). */
export function transportReason(message: string): string {
  return oneLine(message)
    .replace(/\s*Resolution note:.*$/, '')
    .replace(/Error: /g, '')
    .replace(/[.\s]+$/, '');
}

function describeTarget(context: ErrorContext): string | undefined {
  if (context.endpoint === undefined) return undefined;
  const what = context.serviceLabel ?? 'the service';
  const region = context.region === undefined ? '' : ` of ${context.region}`;
  const source = context.endpointSource === undefined ? '' : ` (from ${context.endpointSource})`;
  return `${what}${region} at ${context.endpoint}${source}`;
}

/** The object printed on stdout with `--output json`, as the AWS APIs shape their errors. */
export function errorDocument(error: FormattedError): { Error: { Code: string; Message: string } } {
  return { Error: { Code: error.code, Message: error.message } };
}
