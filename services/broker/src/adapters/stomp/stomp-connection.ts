import {
  HEARTBEAT,
  createFrameParser,
  encodeFrame,
  isStompProtocolError,
  defaultServerHeartBeatPolicy,
  negotiateServerHeartBeat,
  negotiateVersion,
  parseHeartBeat,
  type FrameParser,
  type StompFrame,
  type StompVersion,
} from '@crdr/stomp';
import { badRequest, isCrdrError } from '@crdr/errors';
import { sourceAddress } from '@crdr/service';
import {
  attributeNames,
  contextFromRecord,
  getTracer,
  isTracingEnabled,
  latencyProbe,
  traced,
} from '@crdr/telemetry';
import type {
  AckMode,
  BrokerEngine,
  Delivery,
  DeliverySink,
  Session,
} from '../../engine/engine.types.js';
import {
  canEncodeHeader,
  durableSubscriptionName,
  parseAckMode,
  parseBoolean,
  parseIntegerHeader,
  required,
  userHeaders,
} from './stomp-headers.js';
import type { StompLimits, StompTransport } from './stomp-transport.js';

const stompTracer = getTracer('crdr-broker-stomp');

export interface ConnectionLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const serverName = 'crdr-broker/0.1';
let connectionCounter = 0;

/**
 * One STOMP connection: parses frames, drives an engine session, writes frames back. Frames are
 * handled in arrival order; a SEND outside a transaction does not hold up the frames after it
 * (its RECEIPT follows once it is durable), so one connection can keep many sends in flight.
 */
export class StompConnection {
  readonly #transport: StompTransport;
  readonly #engine: BrokerEngine;
  readonly #limits: StompLimits;
  readonly #log: ConnectionLogger;
  readonly #parser: FrameParser;
  readonly #id = `c${++connectionCounter}`;
  #version: StompVersion = '1.2';
  #session: Session | undefined;
  #state: 'connecting' | 'connected' | 'closed' = 'connecting';
  /** Frames that wait for the ones before them (everything but a plain SEND). */
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #pendingSends = new Set<Promise<void>>();
  #lastReceivedMs = Date.now();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #writable = true;
  /**
   * STOMP 1.0/1.1 ack by message id: message id (per subscription in 1.1) to the delivery it
   * names, in delivery order.
   */
  readonly #ackIdsByMessage = new Map<
    string,
    { readonly ackId: string; readonly subscriptionId: string }
  >();
  /** Subscription id to ack mode: only deliveries that await an ACK are remembered above. */
  readonly #ackModes = new Map<string, AckMode>();

  constructor(
    transport: StompTransport,
    engine: BrokerEngine,
    limits: StompLimits,
    log: ConnectionLogger,
  ) {
    this.#transport = transport;
    this.#engine = engine;
    this.#limits = limits;
    this.#log = log;
    this.#parser = createFrameParser({
      maxFrameBytes: limits.maxFrameBytes,
      maxHeaders: limits.maxHeaders,
      maxHeaderBytes: limits.maxHeaderBytes,
    });
    this.#connectTimer = setTimeout(() => {
      if (this.#state === 'connecting')
        this.#fail(badRequest(`no CONNECT frame within ${limits.connectTimeoutMs} ms`));
    }, limits.connectTimeoutMs);
    this.#connectTimer.unref();
  }

  onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    if (latencyProbe.enabled) latencyProbe.begin('socket data');
    this.#lastReceivedMs = Date.now();
    let frames: StompFrame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (latencyProbe.enabled) latencyProbe.mark('parsed');
    for (const frame of frames) {
      if (this.#closed) return;
      if (++this.#pending > this.#limits.maxPendingFrames) {
        this.#fail(
          badRequest(
            `too many frames awaiting processing on this connection: the limit is ${this.#limits.maxPendingFrames}`,
          ),
        );
        return;
      }
      this.#dispatch(frame);
    }
  }

  get #closed(): boolean {
    return this.#state === 'closed';
  }

  onDrain(): void {
    this.#writable = true;
    this.#session?.resume();
  }

  onClose(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#cleanup();
  }

  #cleanup(): void {
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) {
      session
        .close()
        .catch((error: unknown) =>
          this.#log.warn({ err: error, connection: this.#id }, 'session close failed'),
        );
    }
  }

  #dispatch(frame: StompFrame): void {
    const done = (): void => {
      this.#pending--;
    };
    if (this.#state === 'connected' && isPipelined(frame)) {
      // A plain SEND, ACK or NACK starts at once, in order with the frames before it that
      // already started, and does not wait for the store: many can be in flight.
      const work = this.#chain.then(() => this.#handle(frame));
      const tracked = work.then(
        () => undefined,
        (error: unknown) => this.#fail(error, frame),
      );
      this.#pendingSends.add(tracked);
      void tracked.finally(() => {
        this.#pendingSends.delete(tracked);
        done();
      });
      return;
    }
    this.#chain = this.#chain
      .then(() => (this.#state === 'closed' ? undefined : this.#handle(frame)))
      .catch((error: unknown) => this.#fail(error, frame))
      .finally(done);
  }

  async #handle(frame: StompFrame): Promise<void> {
    const { command, headers } = frame;
    this.#checkReceipt(headers);
    if (this.#state === 'connecting') {
      if (command !== 'CONNECT' && command !== 'STOMP') {
        throw badRequest(`expected a CONNECT or STOMP frame first, got ${command}`);
      }
      await this.#connect(frame);
      return;
    }
    const session = this.#session!;
    switch (command) {
      case 'SEND':
        await (isTracingEnabled() ? this.#sendTraced(frame) : this.#send(frame));
        return;
      case 'SUBSCRIBE':
        await this.#subscribe(session, frame);
        break;
      case 'UNSUBSCRIBE': {
        const durable = durableSubscriptionName(headers);
        const id = headers['id'] ?? (this.#version === '1.0' ? headers['destination'] : undefined);
        if (id === undefined || id === '')
          throw badRequest('UNSUBSCRIBE frame is missing the required "id" header');
        await session.unsubscribe(id, durable === undefined ? {} : { durableName: durable });
        this.#ackModes.delete(id);
        break;
      }
      case 'ACK':
      case 'NACK': {
        if (command === 'NACK' && this.#version === '1.0')
          throw badRequest('NACK is not part of STOMP 1.0');
        const ackId = this.#ackIdOf(headers, command);
        const transaction = headers['transaction'];
        if (command === 'ACK') await session.ack(ackId, transaction);
        else await session.nack(ackId, transaction);
        break;
      }
      case 'BEGIN':
        session.begin(required(headers, 'transaction', command));
        break;
      case 'COMMIT':
        await session.commit(required(headers, 'transaction', command));
        break;
      case 'ABORT':
        await session.abort(required(headers, 'transaction', command));
        break;
      case 'DISCONNECT':
        await Promise.all(this.#pendingSends);
        this.#receipt(headers);
        this.#state = 'closed';
        this.#cleanup();
        this.#transport.end();
        return;
      case 'CONNECT':
      case 'STOMP':
        throw badRequest('already connected: a second CONNECT frame is not allowed');
      default:
        throw badRequest(`unknown command "${command}"`);
    }
    this.#receipt(headers);
  }

  async #connect(frame: StompFrame): Promise<void> {
    const { headers } = frame;
    const version = negotiateVersion(headers['accept-version']);
    if (version === undefined) {
      this.#write(
        encodeFrame('ERROR', {
          version: '1.0,1.1,1.2',
          'content-type': 'text/plain',
          message: 'Supported protocol versions are 1.0, 1.1 and 1.2',
        }),
      );
      this.#close();
      return;
    }
    this.#version = version;
    this.#parser.setVersion(version);
    const login = headers['login'] ?? '';
    const passcode = headers['passcode'] ?? '';
    this.#engine.assertServing();
    const principal = await this.#engine.authenticate(
      login,
      passcode,
      sourceAddress(this.#transport.remoteAddress),
    );
    if (this.#state === 'closed') return;
    const clientId = headers['client-id'];
    this.#session = this.#engine.openSession(principal, {
      transport: this.#transport.kind,
      remoteAddress: this.#transport.remoteAddress,
      ...(clientId === undefined || clientId === '' ? {} : { clientId }),
      // Ack ids are broker-wide: a connection settles only what was delivered to it.
      settlesOwnDeliveriesOnly: true,
      onEvicted: (reason) => this.#fail(badRequest(reason)),
    });
    this.#state = 'connected';
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    const asked = version === '1.0' ? ([0, 0] as const) : parseHeartBeat(headers['heart-beat']);
    const schedule = negotiateServerHeartBeat(asked, {
      ...defaultServerHeartBeatPolicy,
      expectEveryMs: this.#limits.heartBeatReceiveMs,
    });
    // CONNECTED answers as ActiveMQ 5.17 does (the differential suite): it expects the client's
    // heart-beats every cx ms, as the client offered. The broker itself ends a connection only
    // after a longer silence (schedule.expectEveryMs: at least the configured receive interval,
    // docs/interface.md), so a client late on a busy machine is not cut off.
    const advertisedExpectMs =
      schedule.expectEveryMs > 0
        ? Math.min(
            defaultServerHeartBeatPolicy.maxIntervalMs,
            Math.max(defaultServerHeartBeatPolicy.minIntervalMs, asked[0]),
          )
        : 0;
    this.#write(
      encodeFrame(
        'CONNECTED',
        {
          version,
          session: this.#id,
          server: serverName,
          'heart-beat': `${schedule.sendEveryMs},${advertisedExpectMs}`,
        },
        undefined,
        version,
      ),
    );
    this.#startHeartBeats(schedule.sendEveryMs, schedule.expectEveryMs);
  }

  #startHeartBeats(sendEveryMs: number, expectEveryMs: number): void {
    if (sendEveryMs === 0 && expectEveryMs === 0) return;
    const tick = Math.min(...[sendEveryMs, expectEveryMs].filter((ms) => ms > 0));
    let lastSent = Date.now();
    this.#heartbeatTimer = setInterval(() => {
      const now = Date.now();
      if (sendEveryMs > 0 && now - lastSent >= sendEveryMs - tick / 2) {
        this.#transport.write(HEARTBEAT);
        lastSent = now;
      }
      // Twice the agreed interval of silence, as the spec's "tolerance for error", ends it.
      if (expectEveryMs > 0 && now - this.#lastReceivedMs > expectEveryMs * 2) {
        this.#log.info({ connection: this.#id }, 'closing a connection whose heart-beats stopped');
        this.#state = 'closed';
        this.#cleanup();
        this.#transport.destroy();
      }
    }, tick);
    this.#heartbeatTimer.unref();
  }

  /** A SEND in a span continuing the client's trace (a `traceparent` header on the frame). */
  #sendTraced(frame: StompFrame): Promise<void> {
    const parent = contextFromRecord(frame.headers);
    return traced(
      stompTracer,
      'stomp.send',
      {
        kind: 'server',
        attributes: { [attributeNames.destination]: frame.headers['destination'] ?? '' },
        ...(parent === undefined ? {} : { parent }),
      },
      () => this.#send(frame),
    );
  }

  async #send(frame: StompFrame): Promise<void> {
    if (latencyProbe.enabled) latencyProbe.mark('send handler');
    const { headers } = frame;
    this.#checkReceipt(headers);
    const destination = required(headers, 'destination', 'SEND');
    const expires = parseIntegerHeader(headers, 'expires', 0, 0, Number.MAX_SAFE_INTEGER);
    const delay = parseIntegerHeader(headers, 'AMQ_SCHEDULED_DELAY', 0, 0, 365 * 24 * 3600 * 1000);
    await this.#session!.send(
      {
        destination,
        headers: userHeaders(headers),
        body: frame.body,
        persistent: parseBoolean(headers['persistent']),
        priority: parseIntegerHeader(headers, 'priority', 4, 0, 9),
        ...(expires > 0 ? { expiresAtMs: expires } : {}),
        ...(delay > 0 ? { scheduledDelayMs: delay } : {}),
      },
      headers['transaction'],
    );
    if (latencyProbe.enabled) latencyProbe.mark('engine resolved');
    this.#receipt(headers);
  }

  async #subscribe(session: Session, frame: StompFrame): Promise<void> {
    const { headers } = frame;
    const destination = required(headers, 'destination', 'SUBSCRIBE');
    const id = headers['id'] ?? (this.#version === '1.0' ? destination : undefined);
    if (id === undefined || id === '')
      throw badRequest('SUBSCRIBE frame is missing the required "id" header');
    const durableName = durableSubscriptionName(headers);
    const selector = headers['selector'];
    const ackMode = parseAckMode(headers['ack']);
    // Known before the first delivery, which may come before `subscribe` returns. A failed
    // SUBSCRIBE ends the connection, so an entry left by one does not matter.
    this.#ackModes.set(id, ackMode);
    const isWritable = (): boolean => this.#writable;
    const sink: DeliverySink = {
      deliver: (delivery) => this.#deliver(delivery),
      get ready() {
        return isWritable();
      },
    };
    await session.subscribe(
      {
        id,
        destination,
        ackMode,
        prefetch: parseIntegerHeader(headers, 'activemq.prefetchSize', 1000, 1, 1_000_000),
        ...(durableName === undefined ? {} : { durableName }),
        ...(selector === undefined ? {} : { selector }),
        ...(parseBoolean(headers['activemq.exclusive']) ? { exclusive: true } : {}),
      },
      sink,
    );
  }

  #ackIdOf(headers: Readonly<Record<string, string>>, command: string): string {
    if (this.#version === '1.2') return required(headers, 'id', command);
    const messageId = required(headers, 'message-id', command);
    const key =
      this.#version === '1.1'
        ? `${required(headers, 'subscription', command)}\u0000${messageId}`
        : messageId;
    const named = this.#ackIdsByMessage.get(key);
    if (named === undefined)
      throw badRequest(`no unacknowledged message has message-id "${messageId}"`);
    if (this.#ackModes.get(named.subscriptionId) === 'client') {
      // Cumulative: it settles the subscription's earlier deliveries too, so forget them.
      for (const [earlierKey, earlier] of this.#ackIdsByMessage) {
        if (earlierKey === key) break;
        if (earlier.subscriptionId === named.subscriptionId)
          this.#ackIdsByMessage.delete(earlierKey);
      }
    }
    this.#ackIdsByMessage.delete(key);
    return named.ackId;
  }

  #deliver(delivery: Delivery): void {
    if (this.#state !== 'connected') return;
    if (this.#version !== '1.2' && this.#ackModes.get(delivery.subscriptionId) !== 'auto') {
      const key =
        this.#version === '1.1'
          ? `${delivery.subscriptionId}\u0000${delivery.messageId}`
          : delivery.messageId;
      // Re-inserted, so that the map stays in delivery order for cumulative acks.
      this.#ackIdsByMessage.delete(key);
      this.#ackIdsByMessage.set(key, {
        ackId: delivery.ackId,
        subscriptionId: delivery.subscriptionId,
      });
    }
    const headers: Record<string, string> = {
      subscription: delivery.subscriptionId,
      'message-id': delivery.messageId,
      destination: delivery.destination,
      priority: String(delivery.priority),
      timestamp: String(delivery.timestampMs),
      expires: String(delivery.expiresAtMs),
      persistent: delivery.persistent ? 'true' : 'false',
    };
    // As ActiveMQ: an ack id only where the client must acknowledge (STOMP 1.2 requires it for
    // client and client-individual and leaves auto open).
    if (this.#ackModes.get(delivery.subscriptionId) !== 'auto') headers['ack'] = delivery.ackId;
    if (delivery.redelivered) headers['redelivered'] = 'true';
    for (const name of Object.keys(delivery.headers)) {
      const value = delivery.headers[name]!;
      // A header sent in STOMP 1.2 may be unwritable in 1.0 or 1.1: it is left out of this
      // delivery rather than failing it (which would fail every delivery of the message).
      if (!(name in headers) && canEncodeHeader(name, value, this.#version)) headers[name] = value;
    }
    this.#write(encodeFrame('MESSAGE', headers, delivery.body, this.#version));
  }

  /** Refuses, before acting on the frame, a receipt that its RECEIPT could not carry back. */
  #checkReceipt(headers: Readonly<Record<string, string>>): void {
    const receipt = headers['receipt'];
    if (receipt !== undefined && !canEncodeHeader('receipt-id', receipt, this.#version)) {
      throw badRequest(
        `the receipt header ${JSON.stringify(receipt.slice(0, 64))} cannot be sent back in STOMP ${this.#version}: it holds a line feed or ends with a carriage return`,
      );
    }
  }

  #receipt(headers: Readonly<Record<string, string>>): void {
    const receipt = headers['receipt'];
    if (receipt !== undefined && this.#state !== 'closed') {
      this.#write(encodeFrame('RECEIPT', { 'receipt-id': receipt }, undefined, this.#version));
    }
  }

  #write(data: Buffer): void {
    if (!this.#transport.write(data)) this.#writable = false;
  }

  /** Answers an error with an ERROR frame that says what was wrong, then closes. */
  #fail(error: unknown, frame?: StompFrame): void {
    if (this.#state === 'closed') return;
    const message =
      isCrdrError(error) || isStompProtocolError(error) ? error.message : 'internal broker error';
    if (!isCrdrError(error) && !isStompProtocolError(error)) {
      this.#log.warn(
        { err: error, connection: this.#id },
        'unexpected error on a STOMP connection',
      );
    }
    if (this.#state === 'connecting' && isCrdrError(error)) {
      // A refused CONNECT (bad credentials, a replica, a standby): the login, never the passcode.
      this.#log.info(
        { connection: this.#id, code: error.code, login: frame?.headers['login'] },
        `STOMP connection refused: ${message}`,
      );
    }
    const headers: Record<string, string> = {
      message: oneLine(message),
      'content-type': 'text/plain',
    };
    const receipt = frame?.headers['receipt'];
    // #fail must never throw: a receipt this version cannot carry is left out.
    if (receipt !== undefined && canEncodeHeader('receipt-id', receipt, this.#version))
      headers['receipt-id'] = receipt;
    if (frame !== undefined) headers['command'] = frame.command;
    // Before CONNECTED no version is agreed: the frame follows STOMP 1.0, whose headers are not
    // escaped (a ":" in the message stays ":", not "\\c").
    const beforeConnected = this.#state === 'connecting';
    const version = beforeConnected ? '1.0' : this.#version;
    if (beforeConnected) {
      // A client that reads it as STOMP 1.2 would take a "\\" for the start of an escape: the
      // headers show it as "⧵" instead (the body keeps the exact text).
      for (const name of Object.keys(headers)) headers[name] = headers[name]!.replace(/\\/g, '⧵');
    }
    const receiptOk = receipt === undefined || canEncodeHeader('receipt-id', receipt, version);
    if (!receiptOk) delete headers['receipt-id'];
    this.#write(encodeFrame('ERROR', headers, message + '\n', version));
    this.#close();
  }

  #close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#cleanup();
    this.#transport.end();
  }
}

function isPipelined(frame: StompFrame): boolean {
  switch (frame.command) {
    case 'SEND':
      return frame.headers['transaction'] === undefined;
    case 'ACK':
    case 'NACK':
      return true;
    default:
      return false;
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}
