import { isUnescapedCommand } from './frame.js';
import type { StompVersion } from './frame.js';
import { checkUnescaped, escapeHeader } from './header-escaping.js';

/** Header values the encoder accepts; undefined ones are left out. */
export type StompHeaderInput = Readonly<Record<string, string | number | boolean | undefined>>;

/** One heart-beat: a bare EOL between frames. */
export const HEARTBEAT: Buffer = Buffer.from('\n');

const emptyBody = Buffer.alloc(0);

/**
 * Encodes one frame: the command, the headers escaped for `version` (default 1.2; CONNECT and
 * CONNECTED are never escaped), a `content-length` header when there is a body and the caller has
 * not set one, a blank line, the body and the NUL. Throws StompEncodeError for a header the
 * encoding cannot represent.
 */
export function encodeFrame(
  command: string,
  headers: StompHeaderInput,
  body?: Buffer | string,
  version: StompVersion = '1.2',
): Buffer {
  const raw = isUnescapedCommand(command);
  const context = raw ? command : 'STOMP 1.0';
  let head = command + '\n';
  let hasContentLength = false;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'content-length') hasContentLength = true;
    const text = typeof value === 'string' ? value : String(value);
    head +=
      raw || version === '1.0'
        ? `${checkUnescaped(name, 'name', context)}:${checkUnescaped(text, 'value', context)}\n`
        : `${escapeHeader(name, version, 'name')}:${escapeHeader(text, version, 'value')}\n`;
  }

  if (typeof body === 'string') {
    const bodyBytes = Buffer.byteLength(body);
    if (!hasContentLength && bodyBytes > 0) head += `content-length:${bodyBytes}\n`;
    head += '\n';
    const headBytes = Buffer.byteLength(head);
    const out = Buffer.allocUnsafe(headBytes + bodyBytes + 1);
    out.write(head, 0, headBytes, 'utf8');
    out.write(body, headBytes, bodyBytes, 'utf8');
    out[headBytes + bodyBytes] = 0;
    return out;
  }

  const bodyBuffer = body ?? emptyBody;
  if (!hasContentLength && bodyBuffer.length > 0) head += `content-length:${bodyBuffer.length}\n`;
  head += '\n';
  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headBytes + bodyBuffer.length + 1);
  out.write(head, 0, headBytes, 'utf8');
  bodyBuffer.copy(out, headBytes);
  out[headBytes + bodyBuffer.length] = 0;
  return out;
}
