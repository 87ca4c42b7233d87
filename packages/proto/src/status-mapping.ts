import { Metadata, status } from '@grpc/grpc-js';
import type { ErrorCode } from '@crdr/errors';
import { CrdrError, isCrdrError, isErrorCode, toCrdrError } from '@crdr/errors';

/** Trailer naming the `CrdrError` code, so the client restores the exact code. */
export const errorCodeMetadataKey = 'crdr-error-code';
/** Binary trailer with the error's `details` as UTF-8 JSON (binary: values need not be ASCII). */
export const errorDetailsMetadataKey = 'crdr-error-details-bin';

/**
 * The one table from error code to gRPC status (server side).
 *
 * `Conflict` goes to ABORTED, not ALREADY_EXISTS: our conflicts are mostly state conflicts (a
 * stale epoch, a concurrent change, a name taken by a resource in another state), which gRPC
 * spells ABORTED ("retry at a higher level"); ALREADY_EXISTS would tell a generic client that
 * the thing it wanted is there. Clients of ours read the exact code from `crdr-error-code`.
 */
export const grpcStatusByErrorCode = {
  BadRequest: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  Conflict: status.ABORTED,
  Forbidden: status.PERMISSION_DENIED,
  Unauthenticated: status.UNAUTHENTICATED,
  FailedPrecondition: status.FAILED_PRECONDITION,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  Unavailable: status.UNAVAILABLE,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Aborted: status.ABORTED,
  Internal: status.INTERNAL,
} as const satisfies Readonly<Record<ErrorCode, status>>;

/**
 * The one table from gRPC status to error code (client side), for statuses that carry no
 * `crdr-error-code` trailer: those grpc-js makes up itself (UNAVAILABLE when the server cannot be
 * reached, DEADLINE_EXCEEDED, CANCELLED) and those from servers that are not ours.
 */
export const errorCodeByGrpcStatus = {
  [status.OK]: 'Internal', // never an error; here only so the table is total
  [status.CANCELLED]: 'Aborted',
  [status.UNKNOWN]: 'Internal',
  [status.INVALID_ARGUMENT]: 'BadRequest',
  [status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [status.NOT_FOUND]: 'NotFound',
  [status.ALREADY_EXISTS]: 'Conflict',
  [status.PERMISSION_DENIED]: 'Forbidden',
  [status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.ABORTED]: 'Aborted',
  [status.OUT_OF_RANGE]: 'BadRequest',
  [status.UNIMPLEMENTED]: 'Internal',
  [status.INTERNAL]: 'Internal',
  [status.UNAVAILABLE]: 'Unavailable',
  [status.DATA_LOSS]: 'Internal',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
} as const satisfies Readonly<Record<status, ErrorCode>>;

/** What a handler answers with when it fails: a status with its trailers. */
export interface GrpcErrorStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

/** What the client is told about an error that is not a `CrdrError`: nothing that could leak. */
export const internalErrorMessage = 'internal error';

/**
 * Maps anything a handler threw to the status it answers with. A `CrdrError` keeps its message
 * and, in trailers, its code and details; anything else is INTERNAL with a generic message (the
 * server logs the original; its message and stack never reach the client).
 */
export function toGrpcStatus(error: unknown): GrpcErrorStatus {
  const metadata = new Metadata();
  if (!isCrdrError(error)) {
    metadata.set(errorCodeMetadataKey, 'Internal');
    return { code: status.INTERNAL, details: internalErrorMessage, metadata };
  }
  metadata.set(errorCodeMetadataKey, error.code);
  if (Object.keys(error.details).length > 0) {
    metadata.set(errorDetailsMetadataKey, Buffer.from(JSON.stringify(error.details), 'utf8'));
  }
  return { code: grpcStatusByErrorCode[error.code], details: error.message, metadata };
}

/** The parts of a grpc-js `ServiceError` (or a `StatusObject`) this module reads. */
interface StatusLike {
  readonly code: number;
  readonly details: string;
  readonly metadata?: Metadata | null;
}

function isStatusLike(error: unknown): error is StatusLike {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; details?: unknown };
  return (
    typeof candidate.code === 'number' &&
    Number.isInteger(candidate.code) &&
    typeof candidate.details === 'string'
  );
}

function readDetails(metadata: Metadata): Record<string, string> | undefined {
  const [value] = metadata.get(errorDetailsMetadataKey);
  if (!Buffer.isBuffer(value)) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const details: Record<string, string> = {};
    for (const [key, item] of Object.entries(parsed)) {
      if (typeof item === 'string') details[key] = item;
    }
    return details;
  } catch {
    return undefined;
  }
}

function statusName(code: number): string {
  return (status as Record<number, string | undefined>)[code] ?? String(code);
}

/**
 * Turns a failed call into the `CrdrError` the server threw: the code from the
 * `crdr-error-code` trailer (else from the status, by {@link errorCodeByGrpcStatus}), the status
 * details as the message, the details from their trailer; the gRPC error is the cause. A status
 * that did not come from one of our servers has `details.grpcStatus` set to the status name.
 * A `CrdrError` is returned as it is; anything else becomes an Internal `CrdrError`.
 */
export function fromGrpcError(error: unknown): CrdrError {
  if (isCrdrError(error)) return error;
  if (!isStatusLike(error)) return toCrdrError(error);
  const metadata = error.metadata instanceof Metadata ? error.metadata : new Metadata();
  const [codeValue] = metadata.get(errorCodeMetadataKey);
  if (typeof codeValue === 'string' && isErrorCode(codeValue)) {
    const details = readDetails(metadata);
    return new CrdrError(codeValue, error.details, {
      cause: error,
      ...(details === undefined ? {} : { details }),
    });
  }
  const code: ErrorCode =
    (errorCodeByGrpcStatus as Record<number, ErrorCode | undefined>)[error.code] ?? 'Internal';
  return new CrdrError(code, error.details, {
    cause: error,
    details: { grpcStatus: statusName(error.code) },
  });
}
