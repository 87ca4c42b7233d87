import type { ErrorCode } from '@crdr/errors';
import { isCrdrError } from '@crdr/errors';

/**
 * A mistake in the command line (unknown verb or option, missing or bad value, a bad --query or
 * --cli-input-json): exit status 252, before any call is made. Its code in `--output json` is
 * BadRequestException, as the API would say.
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

/**
 * Exit statuses, as the aws CLI's: 0 success, 252 the command line is wrong, 254 the service
 * answered with an error, 255 anything else (unreachable endpoint, no endpoints file, a --wait
 * that failed or timed out), 130 interrupted (Ctrl-C).
 */
export const exitCodes = {
  ok: 0,
  usageError: 252,
  serviceError: 254,
  otherError: 255,
  interrupted: 130,
} as const;

/**
 * The AWS API's exception names (Amazon MQ's: BadRequestException, NotFoundException,
 * ConflictException, ForbiddenException, UnauthorizedException, InternalServerErrorException)
 * for the project's error codes. A failed precondition is a state conflict.
 */
export const awsErrorCodes: Readonly<Record<ErrorCode, string>> = {
  BadRequest: 'BadRequestException',
  NotFound: 'NotFoundException',
  Conflict: 'ConflictException',
  Forbidden: 'ForbiddenException',
  Unauthenticated: 'UnauthorizedException',
  FailedPrecondition: 'ConflictException',
  ResourceExhausted: 'ThrottlingException',
  Unavailable: 'InternalServerErrorException',
  DeadlineExceeded: 'InternalServerErrorException',
  Aborted: 'ConflictException',
  Internal: 'InternalServerErrorException',
};

/** botocore's names for failures that never reached a service. */
const endpointConnectionError = 'EndpointConnectionError';
const readTimeoutError = 'ReadTimeoutError';

/**
 * Codes of failures mqctl finds itself: no endpoint to call (Unavailable), a --wait that timed out
 * or saw the broker end in a failed state (botocore's WaiterError).
 */
const localErrorCodes: Partial<Record<ErrorCode, string>> = {
  Unavailable: endpointConnectionError,
  DeadlineExceeded: 'WaiterError',
  FailedPrecondition: 'WaiterError',
};

/** Errors that came back from a service (marked by the CLI's clients): exit 254. */
const serviceErrors = new WeakSet<object>();

export function markServiceError(error: unknown): void {
  if (typeof error === 'object' && error !== null) serviceErrors.add(error);
}

export function isServiceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && serviceErrors.has(error);
}

/** The proto field names servers put in messages, and the AWS API's names for them. */
const awsFieldNames: Readonly<Record<string, string>> = {
  broker_id: 'BrokerId',
  broker_name: 'BrokerName',
  engine_type: 'EngineType',
  engine_version: 'EngineVersion',
  host_instance_type: 'HostInstanceType',
  deployment_mode: 'DeploymentMode',
  data_replication_mode: 'DataReplicationMode',
  data_replication_primary_broker_arn: 'DataReplicationPrimaryBrokerArn',
  creator_request_id: 'CreatorRequestId',
  console_access: 'ConsoleAccess',
  replication_user: 'ReplicationUser',
  max_results: 'MaxResults',
  next_token: 'NextToken',
  metric_name: 'MetricName',
  start_time_ms: 'StartTime',
  end_time_ms: 'EndTime',
  period_seconds: 'Period',
  'users.username': 'Users.Username',
  'users.password': 'Users.Password',
  'users.groups': 'Users.Groups',
  users: 'Users',
  username: 'Username',
  password: 'Password',
  groups: 'Groups',
  mode: 'Mode',
  action: 'Action',
};

/**
 * A server's message with proto field names (`invalid data_replication_primary_broker_arn: ...`)
 * in the AWS API's names (`invalid DataReplicationPrimaryBrokerArn: ...`). Only the field a
 * message starts with (`invalid FIELD`) and snake_case names of known fields are renamed, so
 * values quoted in the message are left alone.
 */
export function withAwsFieldNames(message: string): string {
  const leading = /^invalid ([a-z_.]+)/.exec(message);
  let result = message;
  if (leading !== null) {
    const field = leading[1] ?? '';
    const renamed = awsFieldNames[field];
    if (renamed !== undefined) result = `invalid ${renamed}${message.slice(leading[0].length)}`;
  }
  return result.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (word) => awsFieldNames[word] ?? word);
}

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
    return {
      code: awsErrorCodes[error.code],
      message: oneLine(error.message),
      exitCode: exitCodes.usageError,
    };
  }
  if (isCrdrError(error)) {
    const transport = error.details.grpcStatus;
    const target = describeTarget(context);
    if (transport === 'UNAVAILABLE' && target !== undefined) {
      return {
        code: endpointConnectionError,
        message: `cannot reach ${target}: ${transportReason(error.message)}. ${stackHint}`,
        exitCode: exitCodes.otherError,
      };
    }
    if (transport === 'DEADLINE_EXCEEDED' && target !== undefined) {
      return {
        code: readTimeoutError,
        message: `${target} did not answer in time: ${transportReason(error.message)}`,
        exitCode: exitCodes.otherError,
      };
    }
    if (transport === 'UNIMPLEMENTED' && target !== undefined) {
      return {
        code: awsErrorCodes[error.code],
        message: `${target} does not implement this call (${oneLine(error.message)}); is it an older version?`,
        exitCode: exitCodes.serviceError,
      };
    }
    const fromService = isServiceError(error);
    return {
      code: fromService
        ? awsErrorCodes[error.code]
        : (localErrorCodes[error.code] ?? awsErrorCodes[error.code]),
      message: fromService ? withAwsFieldNames(oneLine(error.message)) : oneLine(error.message),
      exitCode: fromService ? exitCodes.serviceError : exitCodes.otherError,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: awsErrorCodes.Internal,
    message: oneLine(message),
    exitCode: exitCodes.otherError,
  };
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
