import type { StompFrame } from './frame.js';

/** The server answered with an ERROR frame: its `message` header, all its headers and its body. */
export class StompServerError extends Error {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;

  constructor(headers: Readonly<Record<string, string>>, body: Buffer) {
    const detail =
      body.length > 0 ? `: ${body.toString('utf8', 0, Math.min(body.length, 1024)).trim()}` : '';
    super(`STOMP server error: ${headers['message'] ?? '(no message header)'}${detail}`);
    this.name = 'StompServerError';
    this.headers = headers;
    this.body = body;
  }

  static fromFrame(frame: StompFrame): StompServerError {
    return new StompServerError(frame.headers, frame.body);
  }
}

export function isStompServerError(e: unknown): e is StompServerError {
  return e instanceof StompServerError;
}
