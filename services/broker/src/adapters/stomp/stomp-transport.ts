/** A byte stream that carries STOMP frames: a TCP socket or a WebSocket. */
export interface StompTransport {
  /** False when the send buffer is full; `onDrain` follows. */
  write(data: Buffer): boolean;
  /** Closes after what was written is flushed. */
  end(): void;
  destroy(): void;
  readonly remoteAddress: string;
  readonly kind: 'stomp' | 'websocket';
}

export interface StompLimits {
  readonly maxFrameBytes: number;
  readonly maxHeaders: number;
  readonly maxHeaderBytes: number;
  /** Frames received whose processing (and receipt) has not finished yet. */
  readonly maxPendingFrames: number;
  /** What the broker offers in CONNECTED's heart-beat header, ms. */
  readonly heartBeatSendMs: number;
  readonly heartBeatReceiveMs: number;
  /** Time a client has to send CONNECT. */
  readonly connectTimeoutMs: number;
}

export const defaultStompLimits: StompLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxHeaders: 100,
  maxHeaderBytes: 8192,
  maxPendingFrames: 1024,
  heartBeatSendMs: 10_000,
  heartBeatReceiveMs: 10_000,
  connectTimeoutMs: 10_000,
};
