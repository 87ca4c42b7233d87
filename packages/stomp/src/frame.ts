/** The STOMP protocol versions this package speaks. */
export type StompVersion = '1.0' | '1.1' | '1.2';

export const stompVersions: readonly StompVersion[] = ['1.0', '1.1', '1.2'];

export function isStompVersion(value: string): value is StompVersion {
  return value === '1.0' || value === '1.1' || value === '1.2';
}

/**
 * One decoded STOMP frame. `headers` is a prototype-less object; when a header repeats, the first
 * occurrence wins (STOMP 1.2).
 */
export interface StompFrame {
  readonly command: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * CONNECT and CONNECTED never escape header values, whatever the version, so that a 1.0 peer can
 * read them (STOMP 1.2, "Value Encoding").
 */
export function isUnescapedCommand(command: string): boolean {
  return command === 'CONNECT' || command === 'CONNECTED';
}
