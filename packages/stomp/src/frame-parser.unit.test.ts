import { describe, expect, it } from 'vitest';
import type { StompFrame, StompVersion } from './frame.js';
import { encodeFrame } from './frame-encoder.js';
import { createFrameParser } from './frame-parser.js';
import type { FrameParserOptions } from './frame-parser.js';
import { isStompProtocolError } from './stomp-protocol-error.js';
import type { StompProtocolErrorCode } from './stomp-protocol-error.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function parseAll(
  input: Buffer,
  options?: Partial<FrameParserOptions>,
  version?: StompVersion,
): StompFrame[] {
  const parser = createFrameParser(options);
  if (version !== undefined) parser.setVersion(version);
  return parser.push(input);
}

function plain(
  frames: StompFrame[],
): { command: string; headers: Record<string, string>; body: string }[] {
  return frames.map((f) => ({
    command: f.command,
    headers: { ...f.headers },
    body: f.body.toString('latin1'),
  }));
}

function protocolError(fn: () => unknown): { code: StompProtocolErrorCode; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isStompProtocolError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a StompProtocolError');
}

describe('frame parser', () => {
  it('parses a frame with headers and a NUL-terminated body', () => {
    const frames = parseAll(bytes('SEND\ndestination:/queue/a\nx:1\n\nhello\0'));
    expect(plain(frames)).toEqual([
      { command: 'SEND', headers: { destination: '/queue/a', x: '1' }, body: 'hello' },
    ]);
    expect(Object.getPrototypeOf(frames[0]!.headers)).toBeNull();
  });

  it('keeps the first occurrence of a repeated header', () => {
    const [frame] = parseAll(bytes('MESSAGE\nfoo:first\nfoo:second\n\n\0'));
    expect(frame!.headers['foo']).toBe('first');
  });

  it("splits a header on its first ':' only", () => {
    const [frame] = parseAll(bytes('SEND\nurl:http://x:80/y\nempty:\n\n\0'));
    expect({ ...frame!.headers }).toEqual({ url: 'http://x:80/y', empty: '' });
  });

  it('accepts CRLF line endings and counts heart-beat EOLs between frames', () => {
    const parser = createFrameParser();
    const frames = parser.push(bytes('\n\r\nSEND\r\na:b\r\n\r\nx\0\n\nACK\nid:1\n\n\0\r\n'));
    expect(plain(frames)).toEqual([
      { command: 'SEND', headers: { a: 'b' }, body: 'x' },
      { command: 'ACK', headers: { id: '1' }, body: '' },
    ]);
    expect(parser.heartbeatsSeen).toBe(5);
  });

  it('counts a CRLF heart-beat split between chunks once', () => {
    const parser = createFrameParser();
    expect(parser.push(bytes('\r'))).toEqual([]);
    expect(parser.push(bytes('\n'))).toEqual([]);
    expect(parser.heartbeatsSeen).toBe(1);
  });

  it('reads exactly content-length bytes, NULs and binary included', () => {
    const body = Buffer.from([0, 1, 0, 255, 10, 13, 0]);
    const [frame] = parseAll(encodeFrame('SEND', { destination: '/queue/b' }, body));
    expect(frame!.body).toEqual(body);
    expect(frame!.headers['content-length']).toBe('7');
  });

  it('decodes header names and values as UTF-8', () => {
    const [frame] = parseAll(Buffer.from('SEND\nnäme:välue €😀\n\n\0', 'utf8'));
    expect(frame!.headers['näme']).toBe('välue €😀');
  });

  it('gives the same frames for input split at every byte boundary, and byte by byte', () => {
    const stream = Buffer.concat([
      bytes('\n'),
      encodeFrame('SEND', { destination: '/queue/a', 'k:ey': 'v\nal' }, Buffer.from([0, 1, 2, 0])),
      bytes('\r\n'),
      bytes('MESSAGE\r\nsubscription:1\r\n\r\nno length\0'),
      encodeFrame('RECEIPT', { 'receipt-id': 'r1' }),
    ]);
    const whole = createFrameParser();
    const expected = plain(whole.push(stream));
    expect(expected).toHaveLength(3);
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = createFrameParser();
      const frames = [
        ...parser.push(stream.subarray(0, cut)),
        ...parser.push(stream.subarray(cut)),
      ];
      expect(plain(frames)).toEqual(expected);
      expect(parser.heartbeatsSeen).toBe(whole.heartbeatsSeen);
    }
    const parser = createFrameParser();
    const frames: StompFrame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...parser.push(stream.subarray(i, i + 1)));
    expect(plain(frames)).toEqual(expected);
  });

  it('does not keep references to the caller buffers', () => {
    const parser = createFrameParser();
    const chunk = bytes('SEND\nlong:abcdef');
    parser.push(chunk);
    chunk.fill(0x41);
    const body = bytes('\n\nbody');
    parser.push(body);
    body.fill(0x42);
    const [frame] = parser.push(bytes('\0'));
    expect({ ...frame!.headers }).toEqual({ long: 'abcdef' });
    expect(frame!.body.toString()).toBe('body');
  });

  describe('escaping', () => {
    const escaped = 'SEND\nk\\cey:a\\nb\\\\c\\cd\n\n\0';

    it.each(['1.1', '1.2'] as const)('unescapes \\\\ \\n \\c in %s', (version) => {
      const [frame] = parseAll(bytes(escaped), {}, version);
      expect({ ...frame!.headers }).toEqual({ 'k:ey': 'a\nb\\c:d' });
    });

    it('unescapes \\r in 1.2 only', () => {
      expect(parseAll(bytes('SEND\na:x\\ry\n\n\0'), {}, '1.2')[0]!.headers['a']).toBe('x\ry');
      expect(protocolError(() => parseAll(bytes('SEND\na:x\\ry\n\n\0'), {}, '1.1'))).toEqual({
        code: 'INVALID_ESCAPE',
        message: 'undefined escape sequence "\\\\r" in STOMP 1.1 header "x\\\\ry"',
      });
    });

    it('leaves 1.0 headers as they are', () => {
      const [frame] = parseAll(bytes('SEND\na:x\\ty\\n\n\n\0'), {}, '1.0');
      expect(frame!.headers['a']).toBe('x\\ty\\n');
    });

    it('never unescapes CONNECT or CONNECTED', () => {
      const parser = createFrameParser();
      parser.setVersion('1.2');
      const frames = parser.push(bytes('CONNECT\naccept-version:1.2\npasscode:a\\tb\\c\n\n\0'));
      expect(frames[0]!.headers['passcode']).toBe('a\\tb\\c');
      const connected = createFrameParser().push(
        bytes('CONNECTED\nversion:1.2\nserver:x\\y\n\n\0'),
      );
      expect(connected[0]!.headers['server']).toBe('x\\y');
    });

    it('rejects an undefined escape and a trailing backslash', () => {
      expect(protocolError(() => parseAll(bytes('SEND\na:\\t\n\n\0'))).code).toBe('INVALID_ESCAPE');
      const trailing = protocolError(() => parseAll(bytes('SEND\na:b\\\n\n\0')));
      expect(trailing.code).toBe('INVALID_ESCAPE');
      expect(trailing.message).toContain('undefined escape sequence');
    });

    it('adopts the negotiated version after CONNECT, STOMP and CONNECTED', () => {
      const pipelined = (connect: string): string =>
        parseAll(bytes(`${connect}\n\n\0SEND\na:x\\ty\n\n\0`))[1]!.headers['a']!;
      expect(pipelined('CONNECT\naccept-version:1.0')).toBe('x\\ty');
      expect(pipelined('CONNECT')).toBe('x\\ty');
      expect(pipelined('STOMP\naccept-version:1.0,1.9')).toBe('x\\ty');
      expect(pipelined('CONNECTED\nversion:1.0')).toBe('x\\ty');
      expect(() => pipelined('CONNECT\naccept-version:1.1,1.2')).toThrow(/undefined escape/);
    });
  });

  describe('limits and malformed frames', () => {
    const limits = { maxFrameBytes: 64, maxHeaders: 3, maxHeaderBytes: 16 };
    const cases: [string, string, Partial<FrameParserOptions>, StompProtocolErrorCode, string][] = [
      ['a garbage command', 'xyz\n\n\0', {}, 'MALFORMED_FRAME', 'invalid command "xyz"'],
      [
        'a command with a space',
        'SEND NOW\n\n\0',
        {},
        'MALFORMED_FRAME',
        'invalid command "SEND NOW"',
      ],
      [
        'a header without a colon',
        'SEND\nfoo\n\n\0',
        {},
        'MALFORMED_FRAME',
        `header line without ':' (got "foo")`,
      ],
      [
        'a non-decimal content-length',
        'SEND\ncontent-length:abc\n\n\0',
        {},
        'INVALID_CONTENT_LENGTH',
        'invalid content-length "abc"',
      ],
      [
        'a negative content-length',
        'SEND\ncontent-length:-1\n\n\0',
        {},
        'INVALID_CONTENT_LENGTH',
        'invalid content-length "-1"',
      ],
      [
        'a padded content-length',
        'SEND\ncontent-length: 1\n\n\0',
        {},
        'INVALID_CONTENT_LENGTH',
        'invalid content-length " 1"',
      ],
      [
        'no NUL after content-length bytes',
        'SEND\ncontent-length:2\n\nabc\0',
        {},
        'MALFORMED_FRAME',
        'missing NUL after the 2 body bytes',
      ],
      [
        'too many headers',
        'SEND\na:1\nb:2\nc:3\nd:4\n\n\0',
        limits,
        'TOO_MANY_HEADERS',
        'too many headers: the limit is 3',
      ],
      [
        'a long header line',
        'SEND\na:123456789012345\n\n\0',
        limits,
        'HEADER_TOO_LONG',
        'header line exceeds 16 bytes',
      ],
      [
        'a long command line',
        'SENDSENDSENDSENDS\n\n\0',
        limits,
        'HEADER_TOO_LONG',
        'command line exceeds 16 bytes',
      ],
      [
        'a long body',
        `SEND\n\n${'x'.repeat(64)}\0`,
        { maxFrameBytes: 64 },
        'FRAME_TOO_LARGE',
        'frame exceeds the maximum size of 64 bytes',
      ],
      [
        'a large content-length',
        'SEND\ncontent-length:60\n\n',
        { maxFrameBytes: 64 },
        'FRAME_TOO_LARGE',
        'frame exceeds the maximum size of 64 bytes',
      ],
      [
        'a huge content-length',
        'SEND\ncontent-length:99999999999999999999999\n\n',
        {},
        'FRAME_TOO_LARGE',
        'frame exceeds the maximum size of 4194304 bytes',
      ],
    ];

    it.each(cases)('rejects %s', (_, input, options, code, message) => {
      const error = protocolError(() => parseAll(bytes(input), options));
      expect(error.code).toBe(code);
      expect(error.message).toContain(message);
    });

    it('detects an endless header line or body without buffering it', () => {
      const parser = createFrameParser(limits);
      parser.push(bytes('SEND\na:'));
      expect(protocolError(() => parser.push(bytes('x'.repeat(20)))).code).toBe('HEADER_TOO_LONG');
      const body = createFrameParser(limits);
      body.push(bytes('SEND\n\n'));
      for (let i = 0; i < 5; i++) body.push(bytes('x'.repeat(10)));
      expect(protocolError(() => body.push(bytes('x'.repeat(10)))).code).toBe('FRAME_TOO_LARGE');
    });

    it('refuses an oversized content-length as soon as its header line arrives', () => {
      const parser = createFrameParser({ maxFrameBytes: 64 });
      const error = protocolError(() => parser.push(bytes('SEND\ncontent-length:60\n')));
      expect(error.code).toBe('FRAME_TOO_LARGE');
    });

    it('accepts a frame of exactly the maximum size', () => {
      const frame = `SEND\ncontent-length:3\n\n${'x'.repeat(3)}\0`;
      expect(parseAll(bytes(frame), { maxFrameBytes: frame.length - 1 })).toHaveLength(1);
      expect(
        protocolError(() => parseAll(bytes(frame), { maxFrameBytes: frame.length - 2 })).code,
      ).toBe('FRAME_TOO_LARGE');
    });

    it('stays failed after an error', () => {
      const parser = createFrameParser();
      expect(() => parser.push(bytes('bad\n'))).toThrow(/invalid command/);
      expect(() => parser.push(bytes('SEND\n\n\0'))).toThrow(/invalid command/);
    });
  });
});
