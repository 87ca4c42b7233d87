import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StompVersion } from './frame.js';
import { encodeFrame } from './frame-encoder.js';
import { createFrameParser } from './frame-parser.js';
import { isStompProtocolError } from './stomp-protocol-error.js';

interface FrameCase {
  readonly command: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /** false: no content-length, the body runs to the NUL (so it holds none). */
  readonly withLength: boolean;
  readonly heartbeatsBefore: readonly ('\n' | '\r\n')[];
}

// Characters that exercise escaping, mixed with any code point (lone surrogates excluded).
const special = ['\\', ':', '\n', '\r', 'c', 'n', 'r', 'é', '€', '😀', '\0'];
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });

function headerText(forbidden: readonly string[], minLength = 0): fc.Arbitrary<string> {
  const unit = fc.oneof(fc.constantFrom(...special.filter((c) => !forbidden.includes(c))), anyChar);
  return fc
    .string({ unit, minLength, maxLength: 12 })
    .filter((s) => !forbidden.some((c) => s.includes(c)));
}

function headersFor(version: StompVersion): fc.Arbitrary<Record<string, string>> {
  // 1.1 cannot escape a CR, and 1.0 escapes nothing: keep to what each encoding can carry.
  const name =
    version === '1.0' ? headerText(['\n', '\r', ':']) : headerText(version === '1.1' ? ['\r'] : []);
  const value =
    version === '1.0' ? headerText(['\n', '\r']) : headerText(version === '1.1' ? ['\r'] : []);
  return fc
    .uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 6 })
    .map((entries) => Object.fromEntries(entries.filter(([n]) => n !== 'content-length')));
}

function frameCase(version: StompVersion): fc.Arbitrary<FrameCase> {
  return fc.record({
    command: fc
      .stringMatching(/^[A-Z]{1,10}$/)
      .filter((c) => c !== 'CONNECT' && c !== 'CONNECTED' && c !== 'STOMP'),
    headers: headersFor(version),
    body: fc.uint8Array({ maxLength: 200 }),
    withLength: fc.boolean(),
    heartbeatsBefore: fc.array(fc.constantFrom('\n' as const, '\r\n' as const), { maxLength: 3 }),
  });
}

function encodeCase(c: FrameCase, version: StompVersion): Buffer {
  const beats = Buffer.from(c.heartbeatsBefore.join(''));
  if (c.withLength)
    return Buffer.concat([beats, encodeFrame(c.command, c.headers, Buffer.from(c.body), version)]);
  const empty = encodeFrame(c.command, c.headers, undefined, version);
  const body = Buffer.from(c.body.filter((b) => b !== 0));
  return Buffer.concat([beats, empty.subarray(0, empty.length - 1), body, Buffer.from([0])]);
}

function expected(c: FrameCase): {
  command: string;
  headers: Record<string, string>;
  body: Buffer;
} {
  if (!c.withLength)
    return {
      command: c.command,
      headers: c.headers,
      body: Buffer.from(c.body.filter((b) => b !== 0)),
    };
  const headers =
    c.body.length > 0 ? { ...c.headers, 'content-length': String(c.body.length) } : c.headers;
  return { command: c.command, headers, body: Buffer.from(c.body) };
}

function chunk(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [
    ...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1)))),
  ].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(stream.subarray(from, p));
    from = p;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

describe('frame codec properties', () => {
  it('parses back any valid frames, encoded, concatenated and re-chunked anywhere', () => {
    const scenario = fc.constantFrom<StompVersion>('1.0', '1.1', '1.2').chain((version) =>
      fc.record({
        version: fc.constant(version),
        frames: fc.array(frameCase(version), { minLength: 1, maxLength: 6 }),
        cuts: fc.array(fc.nat(), { maxLength: 12 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ version, frames, cuts }) => {
        const stream = Buffer.concat(frames.map((f) => encodeCase(f, version)));
        const parser = createFrameParser();
        parser.setVersion(version);
        const parsed = chunk(stream, cuts).flatMap((c) => parser.push(c));
        expect(
          parsed.map((f) => ({ command: f.command, headers: { ...f.headers }, body: f.body })),
        ).toEqual(frames.map(expected));
        expect(parser.heartbeatsSeen).toBe(
          frames.reduce((n, f) => n + f.heartbeatsBefore.length, 0),
        );
        expect(parser.bufferedBytes).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('throws nothing but StompProtocolError on garbage and stays within its memory bound', () => {
    const limits = { maxFrameBytes: 256, maxHeaders: 4, maxHeaderBytes: 32 };
    const fragments = [
      'SEND',
      'MESSAGE',
      'CONNECT',
      'x',
      '\n',
      '\r\n',
      ':',
      '\\',
      '\\n',
      '\\r',
      '\0',
      'content-length:',
      '7',
      '99999999',
      'a:b\n',
      '\n\n',
      'é',
    ];
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc
        .array(fc.constantFrom(...fragments), { maxLength: 20 })
        .map((p) => Buffer.from(p.join(''))),
      fc.nat({ max: 400 }).map((n) => Buffer.alloc(n, 0x61)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (chunks) => {
        const parser = createFrameParser(limits);
        for (const c of chunks) {
          try {
            parser.push(c);
          } catch (e) {
            expect(isStompProtocolError(e), String(e)).toBe(true);
            expect(() => parser.push(Buffer.from('SEND\n\n\0'))).toThrow(e);
            return;
          }
          // Limits are checked before anything is kept, so the bound holds even without the chunk.
          expect(parser.bufferedBytes).toBeLessThanOrEqual(limits.maxFrameBytes);
        }
      }),
      { numRuns: 200 },
    );
  });
});
