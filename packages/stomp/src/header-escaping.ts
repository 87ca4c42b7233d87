import type { StompVersion } from './frame.js';
import { StompEncodeError } from './stomp-encode-error.js';
import { StompProtocolError, quoteForMessage } from './stomp-protocol-error.js';

/**
 * Header escaping (STOMP 1.1 and 1.2, "Value Encoding"): `\\`, `\n` and `\c` in both, `\r` only
 * in 1.2. STOMP 1.0 has no escaping at all. Callers skip both functions for CONNECT/CONNECTED.
 */
export function unescapeHeader(text: string, version: StompVersion): string {
  if (version === '1.0' || text.indexOf('\\') === -1) return text;
  let out = '';
  let from = 0;
  let i = text.indexOf('\\');
  while (i !== -1) {
    const next = text.charAt(i + 1);
    let replacement: string;
    if (next === '\\') replacement = '\\';
    else if (next === 'n') replacement = '\n';
    else if (next === 'c') replacement = ':';
    else if (next === 'r' && version === '1.2') replacement = '\r';
    else {
      const sequence = next === '' ? '\\ at the end of the header' : `\\${next}`;
      throw new StompProtocolError(
        'INVALID_ESCAPE',
        `undefined escape sequence ${quoteForMessage(sequence)} in STOMP ${version} header ${quoteForMessage(text)}`,
      );
    }
    out += text.slice(from, i) + replacement;
    from = i + 2;
    i = text.indexOf('\\', from);
  }
  return out + text.slice(from);
}

const escapable11 = /[\\\n:]/g;
const escapable12 = /[\\\n\r:]/g;
const needsEscape12 = /[\\\n\r:]/;
const escapes: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  ':': '\\c',
};
const escapeChar = (c: string): string => escapes[c] ?? c;

/** Escapes a header name or value for a frame other than CONNECT/CONNECTED. */
export function escapeHeader(text: string, version: StompVersion, part: 'name' | 'value'): string {
  if (version === '1.0') return checkUnescaped(text, part, 'STOMP 1.0');
  if (!needsEscape12.test(text)) return text;
  if (version === '1.2') return text.replace(escapable12, escapeChar);
  // STOMP 1.1 cannot escape a carriage return; a trailing one would be read as part of the EOL.
  if (text.endsWith('\r')) {
    throw new StompEncodeError(
      'UNENCODABLE_HEADER',
      `a STOMP 1.1 header ${part} cannot end with a carriage return (got ${quoteForMessage(text)})`,
    );
  }
  return text.replace(escapable11, escapeChar);
}

/**
 * Checks that a header name or value can travel unescaped (STOMP 1.0, CONNECT, CONNECTED): no
 * line feed, no trailing carriage return, and no ':' in a name.
 */
export function checkUnescaped(text: string, part: 'name' | 'value', context: string): string {
  const bad = text.includes('\n') || text.endsWith('\r') || (part === 'name' && text.includes(':'));
  if (bad) {
    throw new StompEncodeError(
      'UNENCODABLE_HEADER',
      `${context} header ${part} ${quoteForMessage(text)} cannot be sent unescaped: it holds a line feed, a trailing carriage return${part === 'name' ? " or a ':'" : ''}`,
    );
  }
  return text;
}
