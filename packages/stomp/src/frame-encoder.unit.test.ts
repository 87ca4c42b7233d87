import { describe, expect, it } from 'vitest';
import { stompVersions } from './frame.js';
import { HEARTBEAT, encodeFrame } from './frame-encoder.js';
import { createFrameParser } from './frame-parser.js';
import { isStompEncodeError } from './stomp-encode-error.js';

const text = (b: Buffer): string => b.toString('latin1');

describe('encodeFrame', () => {
  it('writes command, headers, content-length, blank line, body and NUL', () => {
    expect(
      text(encodeFrame('SEND', { destination: '/queue/a', n: 3, b: false, skip: undefined }, 'hé')),
    ).toBe('SEND\ndestination:/queue/a\nn:3\nb:false\ncontent-length:3\n\nh\xc3\xa9\0');
  });

  it('omits content-length without a body and keeps a caller-set one', () => {
    expect(text(encodeFrame('DISCONNECT', { receipt: 'r1' }))).toBe('DISCONNECT\nreceipt:r1\n\n\0');
    expect(text(encodeFrame('SEND', { 'content-length': 1 }, Buffer.from('x')))).toBe(
      'SEND\ncontent-length:1\n\nx\0',
    );
  });

  it('escapes per version', () => {
    const headers = { 'a:b': 'c\nd\\e:f' };
    expect(text(encodeFrame('SEND', headers, undefined, '1.1'))).toBe(
      'SEND\na\\cb:c\\nd\\\\e\\cf\n\n\0',
    );
    expect(text(encodeFrame('SEND', { r: 'x\ry' }, undefined, '1.2'))).toBe('SEND\nr:x\\ry\n\n\0');
    expect(text(encodeFrame('SEND', { r: 'x\ry' }, undefined, '1.1'))).toBe('SEND\nr:x\ry\n\n\0');
    expect(text(encodeFrame('SEND', { a: 'b\\c:d' }, undefined, '1.0'))).toBe(
      'SEND\na:b\\c:d\n\n\0',
    );
  });

  it('never escapes CONNECT or CONNECTED', () => {
    expect(text(encodeFrame('CONNECT', { passcode: 'a:b\\c' }, undefined, '1.2'))).toBe(
      'CONNECT\npasscode:a:b\\c\n\n\0',
    );
    expect(text(encodeFrame('CONNECTED', { server: 'x:y' }))).toBe('CONNECTED\nserver:x:y\n\n\0');
  });

  it('refuses headers the encoding cannot represent', () => {
    const refused = [
      () => encodeFrame('SEND', { a: 'x\ny' }, undefined, '1.0'),
      () => encodeFrame('SEND', { 'a:b': 'x' }, undefined, '1.0'),
      () => encodeFrame('CONNECT', { login: 'x\ny' }),
      () => encodeFrame('CONNECTED', { a: 'x\r' }),
      () => encodeFrame('SEND', { a: 'x\r' }, undefined, '1.1'),
    ];
    for (const encode of refused) {
      let error: unknown;
      try {
        encode();
      } catch (e) {
        error = e;
      }
      expect(isStompEncodeError(error), String(error)).toBe(true);
    }
  });

  it('round-trips through the parser in every version', () => {
    for (const version of stompVersions) {
      const headers =
        version === '1.0'
          ? { destination: '/queue/a', v: 'a\\b:c' }
          : { 'we:ird\\': 'a\nb:c\\d', ok: 'é€😀' };
      const body = Buffer.from([0, 0xff, 0, 10, 13]);
      const parser = createFrameParser();
      parser.setVersion(version);
      const [frame] = parser.push(encodeFrame('SEND', headers, body, version));
      expect(frame!.command).toBe('SEND');
      expect({ ...frame!.headers }).toEqual({ ...headers, 'content-length': '5' });
      expect(frame!.body).toEqual(body);
    }
  });

  it('exports a heart-beat EOL', () => {
    expect(text(HEARTBEAT)).toBe('\n');
  });
});
