import type { Socket } from 'node:net';
import type {
  AckOptions,
  MessageHandler,
  StompClient,
  StompClientOptions,
  StompHeaders,
  StompMessage,
} from './client-types.js';
import { isStompVersion } from './frame.js';
import type { StompFrame, StompVersion } from './frame.js';
import { HEARTBEAT, encodeFrame } from './frame-encoder.js';
import type { StompHeaderInput } from './frame-encoder.js';
import { createFrameParser } from './frame-parser.js';
import type { FrameParser } from './frame-parser.js';
import { negotiateHeartBeat, parseHeartBeat } from './heart-beat.js';
import { HeartBeatMonitor } from './heart-beat-monitor.js';
import { PendingReceipts } from './pending-receipts.js';
import { StompConnectionError } from './stomp-connection-error.js';
import { StompServerError } from './stomp-server-error.js';
import { ackHeaders, createStompMessage } from './stomp-message.js';

const defaultConnectTimeoutMs = 10_000;

type Phase = 'connecting' | 'connected' | 'closed';

/** The client side of one STOMP connection; created by connectStomp. */
export class StompSession implements StompClient {
  version: StompVersion;
  connectedHeaders: Readonly<Record<string, string>> = Object.create(null) as Record<
    string,
    string
  >;
  readonly closed: Promise<void>;

  private readonly socket: Socket;
  private readonly opts: StompClientOptions;
  private readonly timeoutMs: number;
  private readonly parser: FrameParser;
  private readonly receipts = new PendingReceipts();
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly serverErrors: StompServerError[] = [];
  private readonly errorListeners: ((e: StompServerError) => void)[] = [];
  private phase: Phase = 'connecting';
  private subscriptionCounter = 0;
  /** Why the connection ended, when this side decided it (timeout, protocol error...). */
  private closeReason: Error | undefined;
  private socketError: Error | undefined;
  private lastServerError: StompServerError | undefined;
  private connectSettle:
    { resolve: (c: StompClient) => void; reject: (e: Error) => void } | undefined;
  private readonly heartBeats = new HeartBeatMonitor();
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnecting: Promise<void> | undefined;

  constructor(socket: Socket, opts: StompClientOptions) {
    this.socket = socket;
    this.opts = opts;
    this.parser = createFrameParser(
      opts.maxFrameBytes === undefined ? undefined : { maxFrameBytes: opts.maxFrameBytes },
    );
    this.version = opts.version ?? '1.2';
    this.timeoutMs = opts.connectTimeoutMs ?? defaultConnectTimeoutMs;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => (this.socketError ??= e));
    socket.once('close', () => this.onClose());
  }

  /** Sends CONNECT; settles on CONNECTED, ERROR, timeout or close. */
  connect(headers: StompHeaderInput): Promise<StompClient> {
    const { opts } = this;
    const connected = new Promise<StompClient>(
      (resolve, reject) => (this.connectSettle = { resolve, reject }),
    );
    this.connectTimer = setTimeout(() => {
      const message = `no CONNECTED from ${opts.host}:${opts.port} within ${this.timeoutMs} ms`;
      this.fail(new StompConnectionError('CONNECT_TIMEOUT', message));
    }, this.timeoutMs);
    this.connectTimer.unref();
    this.write(encodeFrame('CONNECT', headers));
    return connected;
  }

  send(
    destination: string,
    body: Buffer | string,
    headers?: StompHeaders,
    opts?: { receipt?: boolean },
  ): Promise<void> {
    return this.request('SEND', { ...headers, destination }, body, opts?.receipt ?? true);
  }

  async subscribe(
    destination: string,
    onMessage: MessageHandler,
    headers?: Record<string, string | number>,
  ): Promise<string> {
    const id =
      headers?.['id'] === undefined ? `sub-${++this.subscriptionCounter}` : String(headers['id']);
    // Registered before SUBSCRIBE is sent: messages may arrive before the receipt.
    this.handlers.set(id, onMessage);
    try {
      await this.request('SUBSCRIBE', { ...headers, id, destination }, undefined, true);
    } catch (e) {
      if (this.handlers.get(id) === onMessage) this.handlers.delete(id);
      throw e;
    }
    return id;
  }

  unsubscribe(id: string, headers?: Record<string, string>): Promise<void> {
    this.handlers.delete(id);
    return this.request('UNSUBSCRIBE', { ...headers, id }, undefined, true);
  }

  ack(message: StompMessage, opts?: AckOptions): Promise<void> {
    return this.acknowledge('ACK', message, opts);
  }

  nack(message: StompMessage, opts?: AckOptions): Promise<void> {
    return this.acknowledge('NACK', message, opts);
  }

  begin(transaction: string): Promise<void> {
    return this.request('BEGIN', { transaction }, undefined, true);
  }

  commit(transaction: string): Promise<void> {
    return this.request('COMMIT', { transaction }, undefined, true);
  }

  abort(transaction: string): Promise<void> {
    return this.request('ABORT', { transaction }, undefined, true);
  }

  sendFrame(command: string, headers: StompHeaderInput, body?: Buffer | string): void {
    this.write(encodeFrame(command, headers, body, this.version));
  }

  sendRaw(data: Buffer | string): void {
    this.write(typeof data === 'string' ? Buffer.from(data) : data);
  }

  receiveErrors(): StompServerError[] {
    return [...this.serverErrors];
  }

  onError(cb: (e: StompServerError) => void): void {
    this.errorListeners.push(cb);
  }

  disconnect(): Promise<void> {
    if (this.phase === 'closed') return this.closed;
    this.disconnecting ??= this.runDisconnect();
    return this.disconnecting;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Closes the connection at once, recording why for the pending operations. */
  private fail(reason: Error): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  private async runDisconnect(): Promise<void> {
    const receipt = this.request('DISCONNECT', {}, undefined, true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)));
    // A server may close without a receipt; either way the connection is over.
    await Promise.race([receipt.catch(() => undefined), timeout]);
    clearTimeout(timer);
    this.socket.end();
    const forceClose = setTimeout(() => this.socket.destroy(), this.timeoutMs);
    await this.closed;
    clearTimeout(forceClose);
  }

  private acknowledge(
    command: 'ACK' | 'NACK',
    message: StompMessage,
    opts?: AckOptions,
  ): Promise<void> {
    return this.request(
      command,
      { ...ackHeaders(this.version, message), transaction: opts?.transaction },
      undefined,
      opts?.receipt ?? true,
    );
  }

  private request(
    command: string,
    headers: StompHeaderInput,
    body: Buffer | string | undefined,
    receipt: boolean,
  ): Promise<void> {
    if (this.phase !== 'connected') return Promise.reject(this.notConnected(command));
    if (!receipt) {
      try {
        this.sendFrame(command, headers, body);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return this.receipts.request((receipt) =>
      this.sendFrame(command, { ...headers, receipt }, body),
    );
  }

  private notConnected(command: string): Error {
    return new StompConnectionError(
      'CONNECTION_CLOSED',
      `cannot send ${command}: the connection is ${this.phase === 'closed' ? 'closed' : 'not established yet'}`,
      { cause: this.closeReason ?? this.lastServerError ?? this.socketError },
    );
  }

  private write(data: Buffer): void {
    if (this.phase === 'closed') throw this.notConnected('a frame');
    this.heartBeats.noteWrite();
    // The frames of one turn of the event loop leave in one system call instead of one each.
    if (this.socket.writableCorked === 0) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    this.socket.write(data);
  }

  private onData(chunk: Buffer): void {
    this.heartBeats.noteRead();
    let frames: StompFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      const reason = new StompConnectionError(
        'PROTOCOL_ERROR',
        'the server sent a malformed frame',
        { cause: e },
      );
      this.fail(reason);
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: StompFrame): void {
    switch (frame.command) {
      case 'MESSAGE':
        return this.onMessage(frame);
      case 'RECEIPT':
        this.receipts.resolve(frame.headers['receipt-id'] ?? '');
        return;
      case 'CONNECTED':
        return this.onConnected(frame);
      case 'ERROR':
        return this.onServerError(StompServerError.fromFrame(frame));
      default:
        this.fail(
          new StompConnectionError(
            'PROTOCOL_ERROR',
            `unexpected ${frame.command} frame from the server`,
          ),
        );
    }
  }

  private onConnected(frame: StompFrame): void {
    if (this.phase !== 'connecting') return;
    const version = frame.headers['version'] ?? '1.0';
    this.version = isStompVersion(version) ? version : '1.0';
    this.parser.setVersion(this.version);
    this.connectedHeaders = frame.headers;
    this.phase = 'connected';
    clearTimeout(this.connectTimer);
    const schedule = negotiateHeartBeat(
      this.opts.heartBeat ?? [0, 0],
      parseHeartBeat(frame.headers['heart-beat']),
    );
    this.heartBeats.start(
      schedule,
      () => this.socket.write(HEARTBEAT),
      (silentMs) => {
        const message = `no data from the server for ${silentMs} ms (heart-beat every ${schedule.expectEveryMs} ms agreed)`;
        this.fail(new StompConnectionError('HEARTBEAT_TIMEOUT', message));
      },
    );
    this.connectSettle?.resolve(this);
    this.connectSettle = undefined;
  }

  private onServerError(error: StompServerError): void {
    this.lastServerError = error;
    if (this.phase === 'connecting') {
      this.connectSettle?.reject(error);
      this.connectSettle = undefined;
      this.fail(error);
      return;
    }
    const receiptId = error.headers['receipt-id'];
    if (receiptId !== undefined && this.receipts.reject(receiptId, error)) return;
    this.serverErrors.push(error);
    for (const listener of this.errorListeners) listener(error);
  }

  private onMessage(frame: StompFrame): void {
    const handler = this.handlers.get(frame.headers['subscription'] ?? '');
    if (handler === undefined) return; // unsubscribed while the message was in flight
    const message = createStompMessage(frame, (command, m, opts) =>
      this.acknowledge(command, m, opts),
    );
    try {
      handler(message);
    } catch (e) {
      // A throwing handler is a bug in the caller; surface it rather than hide it.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private onClose(): void {
    this.phase = 'closed';
    clearTimeout(this.connectTimer);
    this.heartBeats.stop();
    const cause = this.lastServerError ?? this.socketError;
    const reason =
      this.closeReason ??
      new StompConnectionError(
        'CONNECTION_CLOSED',
        `the STOMP connection closed${cause === undefined ? '' : `: ${cause.message}`}`,
        { cause },
      );
    this.connectSettle?.reject(reason);
    this.connectSettle = undefined;
    this.receipts.rejectAll(reason);
  }
}
