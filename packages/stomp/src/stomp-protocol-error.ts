/** What was wrong with the bytes a peer sent; a closed set, test it instead of the message. */
export type StompProtocolErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'HEADER_TOO_LONG'
  | 'MALFORMED_FRAME'
  | 'INVALID_ESCAPE'
  | 'INVALID_CONTENT_LENGTH';

/** A peer broke the STOMP frame grammar or a configured limit; the connection should be closed. */
export class StompProtocolError extends Error {
  readonly code: StompProtocolErrorCode;

  constructor(code: StompProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StompProtocolError';
    this.code = code;
  }
}

export function isStompProtocolError(e: unknown): e is StompProtocolError {
  return e instanceof StompProtocolError;
}

/** Quotes a peer-supplied string for an error message, bounded so a huge line cannot bloat it. */
export function quoteForMessage(text: string, maxChars = 64): string {
  return JSON.stringify(text.length > maxChars ? `${text.slice(0, maxChars)}…` : text);
}
