/** Why a header could not be written in the frame's encoding; a closed set. */
export type StompEncodeErrorCode = 'UNENCODABLE_HEADER';

/**
 * A header cannot be represented in the frame's encoding: for instance a line feed in a STOMP 1.0
 * value, or in any CONNECT/CONNECTED header, which are never escaped. Writing it anyway would let
 * the value inject extra header lines.
 */
export class StompEncodeError extends Error {
  readonly code: StompEncodeErrorCode;

  constructor(code: StompEncodeErrorCode, message: string) {
    super(message);
    this.name = 'StompEncodeError';
    this.code = code;
  }
}

export function isStompEncodeError(e: unknown): e is StompEncodeError {
  return e instanceof StompEncodeError;
}
