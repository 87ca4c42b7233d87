import type { StompVersion } from './frame.js';
import type { HeartBeat } from './heart-beat.js';
import type { StompServerError } from './stomp-server-error.js';

export interface StompClientOptions {
  host: string;
  port: number;
  login?: string;
  passcode?: string;
  /** Sent as `client-id` (ActiveMQ's name for a durable subscriber's connection). */
  clientId?: string;
  /** The version asked for in `accept-version`; default 1.2. The server may answer a lower one. */
  version?: StompVersion;
  /** `[cx, cy]` for the `heart-beat` header, in ms; default none. */
  heartBeat?: HeartBeat;
  /** How long to wait for CONNECTED, and for the DISCONNECT receipt; default 10,000 ms. */
  connectTimeoutMs?: number;
  /** Extra CONNECT headers; they override the ones built from the options. */
  headers?: Record<string, string>;
  /**
   * The largest frame this client accepts from the server, in bytes; default 4 MiB. A broker
   * accepts messages up to its maximum message size (100 MiB by default), so a client that
   * consumes large messages raises this to match.
   */
  maxFrameBytes?: number;
}

export interface AckOptions {
  transaction?: string;
  /** Ask for a receipt and wait for it; default true. */
  receipt?: boolean;
}

export interface StompMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly destination: string;
  readonly messageId: string;
  readonly subscription: string;
  /** The MESSAGE's `ack` header (STOMP 1.2), the id an ACK/NACK must carry. */
  readonly ackId?: string;
  ack(opts?: AckOptions): Promise<void>;
  nack(opts?: AckOptions): Promise<void>;
}

/** Called for each MESSAGE of a subscription. An exception it throws is rethrown asynchronously. */
export type MessageHandler = (message: StompMessage) => void;

export type StompHeaders = Record<string, string | number | boolean>;

/**
 * A promise-based STOMP client over one TCP connection. Operations that ask for a receipt settle
 * when it arrives, reject with StompServerError when the server answers ERROR for it, and with
 * StompConnectionError when the connection ends first.
 */
export interface StompClient {
  /** The negotiated version (CONNECTED's `version` header, 1.0 when absent). */
  readonly version: StompVersion;
  readonly connectedHeaders: Readonly<Record<string, string>>;
  send(
    destination: string,
    body: Buffer | string,
    headers?: StompHeaders,
    opts?: { receipt?: boolean },
  ): Promise<void>;
  /** Subscribes and waits for the receipt; returns the subscription id (`headers.id` or a generated one). */
  subscribe(
    destination: string,
    onMessage: MessageHandler,
    headers?: Record<string, string | number>,
  ): Promise<string>;
  unsubscribe(id: string, headers?: Record<string, string>): Promise<void>;
  ack(message: StompMessage, opts?: AckOptions): Promise<void>;
  nack(message: StompMessage, opts?: AckOptions): Promise<void>;
  begin(transaction: string): Promise<void>;
  commit(transaction: string): Promise<void>;
  abort(transaction: string): Promise<void>;
  /** Sends one frame encoded for the negotiated version, without waiting for anything. */
  sendFrame(
    command: string,
    headers: Record<string, string | number | boolean | undefined>,
    body?: Buffer | string,
  ): void;
  /** Writes bytes as they are, for tests of malformed input. */
  sendRaw(data: Buffer | string): void;
  /** ERROR frames received that answered no pending receipt, oldest first (a copy). */
  receiveErrors(): StompServerError[];
  /** Called for each ERROR frame that answers no pending receipt. */
  onError(cb: (e: StompServerError) => void): void;
  /** Sends DISCONNECT, waits for its receipt (bounded by connectTimeoutMs), then closes. */
  disconnect(): Promise<void>;
  /** Closes the socket at once. */
  destroy(): void;
  /** Settles (never rejects) once the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
}
