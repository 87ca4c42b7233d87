/**
 * STOMP 1.0-1.2: the frame codec shared by the broker and a small promise-based TCP client for
 * tests and benchmarks.
 */
export { isStompVersion, isUnescapedCommand, stompVersions } from './frame.js';
export type { StompFrame, StompVersion } from './frame.js';
export { createFrameParser, defaultFrameParserOptions } from './frame-parser.js';
export type { FrameParser, FrameParserOptions } from './frame-parser.js';
export { HEARTBEAT, encodeFrame } from './frame-encoder.js';
export type { StompHeaderInput } from './frame-encoder.js';
export { escapeHeader, unescapeHeader } from './header-escaping.js';
export { negotiateVersion } from './version-negotiation.js';
export {
  defaultServerHeartBeatPolicy,
  negotiateHeartBeat,
  negotiateServerHeartBeat,
  parseHeartBeat,
} from './heart-beat.js';
export type { HeartBeat, HeartBeatSchedule, ServerHeartBeatPolicy } from './heart-beat.js';
export { StompProtocolError, isStompProtocolError } from './stomp-protocol-error.js';
export type { StompProtocolErrorCode } from './stomp-protocol-error.js';
export { StompEncodeError, isStompEncodeError } from './stomp-encode-error.js';
export type { StompEncodeErrorCode } from './stomp-encode-error.js';
export { StompServerError, isStompServerError } from './stomp-server-error.js';
export { StompConnectionError, isStompConnectionError } from './stomp-connection-error.js';
export type { StompConnectionErrorCode } from './stomp-connection-error.js';
export { connectStomp } from './client.js';
export type {
  AckOptions,
  MessageHandler,
  StompClient,
  StompClientOptions,
  StompHeaders,
  StompMessage,
} from './client-types.js';
