/** Why the client lost, or never had, its connection; a closed set. */
export type StompConnectionErrorCode =
  | 'CONNECT_TIMEOUT'
  | 'CONNECTION_CLOSED'
  | 'HEARTBEAT_TIMEOUT'
  | 'PROTOCOL_ERROR'
  | 'RECEIPT_TIMEOUT';

/** The client's connection failed; pending operations are rejected with this. */
export class StompConnectionError extends Error {
  readonly code: StompConnectionErrorCode;

  constructor(code: StompConnectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StompConnectionError';
    this.code = code;
  }
}

export function isStompConnectionError(e: unknown): e is StompConnectionError {
  return e instanceof StompConnectionError;
}
