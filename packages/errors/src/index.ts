/**
 * The project's typed errors. Every error that crosses a service boundary carries one code from a
 * closed set; callers test it with {@link hasErrorCode} or the predicates below, never by message.
 * The codes follow Amazon MQ's API errors where one exists (BadRequest, NotFound, Conflict,
 * Forbidden) and gRPC's status vocabulary for the rest.
 */
export const errorCodes = [
  'BadRequest',
  'NotFound',
  'Conflict',
  'Forbidden',
  'Unauthenticated',
  'FailedPrecondition',
  'ResourceExhausted',
  'Unavailable',
  'DeadlineExceeded',
  'Aborted',
  'Internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface CrdrErrorOptions {
  readonly cause?: unknown;
  /** Machine-readable facts about the failure (the field at fault, the current state...). */
  readonly details?: Readonly<Record<string, string>>;
}

export class CrdrError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: CrdrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrdrError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isCrdrError(error: unknown): error is CrdrError {
  return error instanceof CrdrError;
}

export function hasErrorCode(error: unknown, code: ErrorCode): error is CrdrError {
  return isCrdrError(error) && error.code === code;
}

export function isErrorCode(value: string): value is ErrorCode {
  return (errorCodes as readonly string[]).includes(value);
}

type Factory = (message: string, options?: CrdrErrorOptions) => CrdrError;
const factory =
  (code: ErrorCode): Factory =>
  (message, options) =>
    new CrdrError(code, message, options);

export const badRequest = factory('BadRequest');
export const notFound = factory('NotFound');
export const conflict = factory('Conflict');
export const forbidden = factory('Forbidden');
export const unauthenticated = factory('Unauthenticated');
export const failedPrecondition = factory('FailedPrecondition');
export const resourceExhausted = factory('ResourceExhausted');
export const unavailable = factory('Unavailable');
export const deadlineExceeded = factory('DeadlineExceeded');
export const aborted = factory('Aborted');
export const internal = factory('Internal');

/** Turns anything thrown into a CrdrError, keeping the original as the cause. */
export function toCrdrError(error: unknown): CrdrError {
  if (isCrdrError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CrdrError('Internal', message, { cause: error });
}
