import { isStompVersion, isUnescapedCommand } from './frame.js';
import type { StompFrame, StompVersion } from './frame.js';
import { unescapeHeader } from './header-escaping.js';
import {
  StompProtocolError,
  isStompProtocolError,
  quoteForMessage,
} from './stomp-protocol-error.js';
import { negotiateVersion } from './version-negotiation.js';

/** Limits that bound what one connection can make the parser hold. */
export interface FrameParserOptions {
  /** Largest frame, command and header lines plus body, in bytes (the final NUL excluded). */
  maxFrameBytes: number;
  /** Most header lines in one frame, repeated names included. */
  maxHeaders: number;
  /** Longest single header (or command) line in bytes, its EOL excluded. */
  maxHeaderBytes: number;
}

export const defaultFrameParserOptions: FrameParserOptions = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxHeaders: 100,
  maxHeaderBytes: 8192,
};

export interface FrameParser {
  /**
   * Feeds bytes; returns the complete frames found (and counts heart-beat EOLs). Throws
   * StompProtocolError on a violation; after that the parser is unusable and every later call
   * throws the same error. Frames completed earlier in the failing chunk are not returned.
   */
  push(chunk: Buffer): StompFrame[];
  /**
   * Sets the version whose escaping rules apply to the next frames. The parser also adopts a
   * version by itself, so that frames pipelined in the same chunk decode right: after CONNECT or
   * STOMP the one a server supporting 1.0-1.2 negotiates from `accept-version`, after CONNECTED
   * its `version` header (1.0 when absent). Before any of them: 1.2.
   */
  setVersion(v: StompVersion): void;
  readonly version: StompVersion;
  /** EOLs received between frames (heart-beats), cumulative. */
  readonly heartbeatsSeen: number;
  /** Bytes of the incomplete frame held so far; never above maxFrameBytes plus one chunk. */
  readonly bufferedBytes: number;
}

export function createFrameParser(options?: Partial<FrameParserOptions>): FrameParser {
  return new StompFrameParser({ ...defaultFrameParserOptions, ...options });
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const COLON = ':';
const READING_HEAD = 0;
const READING_BODY = 1;
const NO_CONTENT_LENGTH = -1;
const decimal = /^[0-9]+$/;

class StompFrameParser implements FrameParser {
  version: StompVersion = '1.2';
  heartbeatsSeen = 0;

  private readonly limits: FrameParserOptions;
  private failure: StompProtocolError | undefined;
  private state = READING_HEAD;
  // The frame being read. `command` is undefined until its command line has arrived.
  private command: string | undefined;
  private headers: Record<string, string> = Object.create(null) as Record<string, string>;
  private headerCount = 0;
  private unescaped = false;
  private contentLength = NO_CONTENT_LENGTH;
  /** Command and header bytes of this frame read so far, EOLs included. */
  private headBytes = 0;
  // A line split over chunks, copied so that callers may reuse their buffers.
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  // A body split over chunks; bytes already scanned for the NUL are never scanned again.
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;

  constructor(limits: FrameParserOptions) {
    this.limits = limits;
  }

  get bufferedBytes(): number {
    return this.headBytes + this.lineBytes + this.bodyBytes;
  }

  setVersion(v: StompVersion): void {
    this.version = v;
  }

  push(chunk: Buffer): StompFrame[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: StompFrame[] = [];
    try {
      let pos = 0;
      while (pos < chunk.length) {
        pos =
          this.state === READING_HEAD
            ? this.readLine(chunk, pos)
            : this.readBody(chunk, pos, frames);
      }
    } catch (e) {
      if (isStompProtocolError(e)) this.fail(e);
      throw e;
    }
    return frames;
  }

  private fail(e: StompProtocolError): void {
    this.failure = e;
    this.lineParts = [];
    this.bodyParts = [];
    this.headBytes = this.lineBytes = this.bodyBytes = 0;
  }

  /** Reads one command/header line, or buffers its beginning; returns where to continue. */
  private readLine(chunk: Buffer, pos: number): number {
    const eol = chunk.indexOf(LF, pos);
    if (eol === -1) {
      this.bufferPartialLine(chunk, pos);
      return chunk.length;
    }
    let line = chunk;
    let start = pos;
    let end = eol;
    if (this.lineBytes > 0) {
      this.lineParts.push(chunk.subarray(pos, eol));
      line = Buffer.concat(this.lineParts, this.lineBytes + (eol - pos));
      start = 0;
      end = line.length;
      this.lineParts = [];
      this.lineBytes = 0;
    }
    this.headBytes += end - start + 1;
    if (end > start && line[end - 1] === CR) end--;
    if (this.command === undefined) this.readCommandLine(line, start, end);
    else if (end === start) this.endOfHeaders();
    else this.readHeaderLine(line, start, end);
    return eol + 1;
  }

  private bufferPartialLine(chunk: Buffer, pos: number): void {
    const partBytes = chunk.length - pos;
    // One extra byte may be the CR of a CRLF, which is not part of the line.
    if (this.lineBytes + partBytes > this.limits.maxHeaderBytes + 1) this.lineTooLong();
    this.checkFrameSize(this.headBytes + this.lineBytes + partBytes);
    this.lineParts.push(Buffer.from(chunk.subarray(pos)));
    this.lineBytes += partBytes;
  }

  private lineTooLong(): never {
    const what = this.command === undefined ? 'command line' : 'header line';
    throw new StompProtocolError(
      'HEADER_TOO_LONG',
      `${what} exceeds ${this.limits.maxHeaderBytes} bytes`,
    );
  }

  private checkFrameSize(bytes: number): void {
    if (bytes > this.limits.maxFrameBytes) {
      throw new StompProtocolError(
        'FRAME_TOO_LARGE',
        `frame exceeds the maximum size of ${this.limits.maxFrameBytes} bytes`,
      );
    }
  }

  private readCommandLine(line: Buffer, start: number, end: number): void {
    if (end === start) {
      // An EOL between frames is a heart-beat.
      this.heartbeatsSeen++;
      this.headBytes = 0;
      return;
    }
    if (end - start > this.limits.maxHeaderBytes) this.lineTooLong();
    for (let i = start; i < end; i++) {
      const b = line[i]!;
      if (b < 0x41 || b > 0x5a) {
        const shown = quoteForMessage(line.toString('utf8', start, Math.min(end, start + 256)));
        throw new StompProtocolError(
          'MALFORMED_FRAME',
          `invalid command ${shown}: a command is made of the letters A-Z only`,
        );
      }
    }
    this.command = line.toString('latin1', start, end);
    this.unescaped = isUnescapedCommand(this.command);
    this.headers = Object.create(null) as Record<string, string>;
    this.headerCount = 0;
    this.contentLength = NO_CONTENT_LENGTH;
    this.checkFrameSize(this.headBytes);
  }

  private readHeaderLine(line: Buffer, start: number, end: number): void {
    if (end - start > this.limits.maxHeaderBytes) this.lineTooLong();
    this.checkFrameSize(this.headBytes);
    if (++this.headerCount > this.limits.maxHeaders) {
      throw new StompProtocolError(
        'TOO_MANY_HEADERS',
        `too many headers: the limit is ${this.limits.maxHeaders}`,
      );
    }
    const text = line.toString('utf8', start, end);
    const colon = text.indexOf(COLON);
    if (colon === -1) {
      throw new StompProtocolError(
        'MALFORMED_FRAME',
        `header line without ':' (got ${quoteForMessage(text)})`,
      );
    }
    let name = text.slice(0, colon);
    let value = text.slice(colon + 1);
    if (!this.unescaped) {
      name = unescapeHeader(name, this.version);
      value = unescapeHeader(value, this.version);
    }
    if (name in this.headers) return; // the first occurrence wins
    this.headers[name] = value;
    if (name === 'content-length') {
      this.contentLength = parseContentLength(value);
      // Refuse an oversized frame as soon as it is announced, before any of its body arrives.
      this.checkFrameSize(this.headBytes + this.contentLength);
    }
  }

  private endOfHeaders(): void {
    this.checkFrameSize(this.headBytes);
    if (this.contentLength !== NO_CONTENT_LENGTH)
      this.checkFrameSize(this.headBytes + this.contentLength);
    this.state = READING_BODY;
  }

  private readBody(chunk: Buffer, pos: number, frames: StompFrame[]): number {
    if (this.contentLength !== NO_CONTENT_LENGTH) {
      const missing = this.contentLength - this.bodyBytes;
      if (chunk.length - pos <= missing) {
        this.bufferBody(chunk, pos, chunk.length);
        return chunk.length;
      }
      const end = pos + missing;
      if (chunk[end] !== NUL) {
        throw new StompProtocolError(
          'MALFORMED_FRAME',
          `missing NUL after the ${this.contentLength} body bytes announced by content-length`,
        );
      }
      frames.push(this.completeFrame(chunk, pos, end));
      return end + 1;
    }
    const nul = chunk.indexOf(NUL, pos);
    const end = nul === -1 ? chunk.length : nul;
    this.checkFrameSize(this.headBytes + this.bodyBytes + (end - pos));
    if (nul === -1) {
      this.bufferBody(chunk, pos, end);
      return end;
    }
    frames.push(this.completeFrame(chunk, pos, end));
    return end + 1;
  }

  private bufferBody(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.bodyParts.push(Buffer.from(chunk.subarray(start, end)));
    this.bodyBytes += end - start;
  }

  /** Builds the frame whose body ends with chunk[start, end) and resets for the next one. */
  private completeFrame(chunk: Buffer, start: number, end: number): StompFrame {
    let body: Buffer;
    if (this.bodyBytes === 0) {
      body = Buffer.allocUnsafe(end - start);
      chunk.copy(body, 0, start, end);
    } else {
      this.bodyParts.push(chunk.subarray(start, end));
      body = Buffer.concat(this.bodyParts, this.bodyBytes + (end - start));
    }
    const frame: StompFrame = { command: this.command!, headers: this.headers, body };
    this.adoptVersion(frame);
    this.state = READING_HEAD;
    this.command = undefined;
    this.headBytes = 0;
    this.bodyParts = [];
    this.bodyBytes = 0;
    return frame;
  }

  private adoptVersion(frame: StompFrame): void {
    if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
      this.version = negotiateVersion(frame.headers['accept-version']) ?? this.version;
    } else if (frame.command === 'CONNECTED') {
      const v = frame.headers['version'] ?? '1.0';
      if (isStompVersion(v)) this.version = v;
    }
  }
}

function parseContentLength(value: string): number {
  if (!decimal.test(value)) {
    throw new StompProtocolError(
      'INVALID_CONTENT_LENGTH',
      `invalid content-length ${quoteForMessage(value)}: expected a non-negative decimal integer`,
    );
  }
  // Digits beyond 2^53 lose precision but stay far above any frame limit, which rejects them.
  return Number(value);
}
