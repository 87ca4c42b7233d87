import {
  Events,
  createInbox,
  nanos,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from 'nats';
import { CrdrError, failedPrecondition, unavailable } from '@crdr/errors';
import { isAckSubject, parseDeliveryInfo, type DeliveryInfo } from './delivery-info.js';

/** A message delivered by the consumer and not yet acknowledged. */
export interface PulledMessage {
  readonly data: Uint8Array;
  /** The acknowledgement subject. */
  readonly reply: string;
  readonly info: DeliveryInfo;
  /** The message's headers (the relay's trace context), when it has any. */
  readonly headers?: MsgHdrs;
}

/**
 * One pull request: either `noWait` (what is there now, at once) or a wait of `expiresMs` for
 * the batch to fill. nats-server 2.9 sometimes never ends a waiting request that got part of
 * its batch (no 408 at its expiry), so a waiting request should only ask for one message: the
 * replicator waits for a first event that way and gathers the rest of a batch with `noWait`.
 */
export type PullRequest = {
  /** Messages at most. */
  readonly batch: number;
  /** Ends the request early; what it received is handed back to JetStream (NAK). */
  readonly signal?: AbortSignal;
} & (
  | { readonly noWait: true; readonly expiresMs?: undefined }
  | {
      readonly noWait?: false;
      /** The server ends the request after this long. */
      readonly expiresMs: number;
    }
);

export interface PullResult {
  /** In delivery order (for redeliveries not stream order). */
  readonly messages: readonly PulledMessage[];
  /** `full`: the batch was filled; `ended`: the server ended the request; `aborted`. */
  readonly end: 'full' | 'ended' | 'aborted';
}

/**
 * One durable pull consumer, pulled by hand, one request at a time, through one inbox. Each
 * request ends when the server says so (the batch is full, or a status: no messages, expired),
 * so its messages cannot arrive after it. Messages that arrive while no request waits (those
 * of a request the client gave up on: aborted by a pause, or unanswered) go straight back to
 * JetStream with a NAK, to be delivered again first.
 */
export interface JetStreamPuller {
  pull(request: PullRequest): Promise<PullResult>;
  /** Acknowledges (fire and forget; `flush` waits until the server has them). */
  ack(messages: readonly PulledMessage[]): void;
  /** Tells JetStream the messages are still being worked on: their ack wait starts again. */
  working(messages: readonly PulledMessage[]): void;
  /** Asks for redelivery, after `delayMs` when given. */
  nak(messages: readonly PulledMessage[], delayMs?: number): void;
  flush(): Promise<void>;
  /**
   * Ends the pull in flight and drains the inbox: what the server still delivers before it has
   * seen the unsubscription goes back with a NAK rather than waiting for its ack wait.
   */
  close(): Promise<void>;
}

export interface JetStreamPullerOptions {
  readonly stream: string;
  readonly consumer: string;
  /** The connection's inbox prefix (`inboxPrefix` of `connect`). */
  readonly inboxPrefix?: string;
  /** How long past its expiry a request may stay unanswered before NATS counts as lost. */
  readonly graceMs?: number;
}

const encoder = new TextEncoder();
const ACK = encoder.encode('+ACK');
const NAK = encoder.encode('-NAK');
const WPI = encoder.encode('+WPI');

interface InFlight {
  readonly batch: number;
  readonly messages: PulledMessage[];
  finish(end: PullResult['end']): void;
  fail(error: Error): void;
}

export function createJetStreamPuller(
  nc: NatsConnection,
  options: JetStreamPullerOptions,
): JetStreamPuller {
  const { stream, consumer } = options;
  const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
  const graceMs = options.graceMs ?? 5_000;
  const inbox = createInbox(options.inboxPrefix);
  let current: InFlight | undefined;
  let closed = false;

  const nak = (messages: readonly PulledMessage[], delayMs?: number): void => {
    if (messages.length === 0 || nc.isClosed()) return;
    const payload =
      delayMs === undefined || delayMs <= 0
        ? NAK
        : encoder.encode(`-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`);
    for (const m of messages) nc.publish(m.reply, payload);
  };

  const onStatus = (pending: InFlight, msg: Msg): void => {
    const code = msg.headers?.code ?? 0;
    const description = msg.headers?.description ?? '';
    if (code === 100) return; // idle heartbeat
    if (code === 404 || code === 408 || (code === 409 && /leadership change/i.test(description))) {
      // No (more) messages for a no-wait request, or it expired: the server is done with it.
      pending.finish('ended');
      return;
    }
    if (code === 503) {
      pending.fail(
        unavailable(
          `no JetStream consumer ${consumer} on stream ${stream} answers (no responders)`,
          { details: { reason: 'no-responders' } },
        ),
      );
      return;
    }
    pending.fail(
      unavailable(`JetStream ended a pull on ${stream}/${consumer}: ${code} ${description}`, {
        details: { reason: 'pull-refused', status: String(code) },
      }),
    );
  };

  const sub: Subscription = nc.subscribe(inbox, {
    callback: (error, msg) => {
      if (error !== null) {
        // A subscription error is a permissions refusal of the inbox: nothing will arrive.
        current?.fail(
          failedPrecondition(`NATS refused the replicator's inbox ${inbox}: ${error.message}`, {
            cause: error,
          }),
        );
        return;
      }
      if (isAckSubject(msg.reply)) {
        const info = parseDeliveryInfo(msg.reply);
        if (info === undefined) return;
        // Headers are decoded only for a message that has them (a traced event).
        const { headers } = msg;
        const pulled: PulledMessage =
          headers === undefined
            ? { data: msg.data, reply: msg.reply, info }
            : { data: msg.data, reply: msg.reply, info, headers };
        if (current === undefined) {
          nak([pulled]);
          return;
        }
        current.messages.push(pulled);
        if (current.messages.length >= current.batch) current.finish('full');
        return;
      }
      if (current !== undefined) onStatus(current, msg);
    },
  });

  // A request sent before the connection dropped died with it (a restarted server forgot it):
  // end it once the connection is back, so the next one goes out now rather than after its
  // expiry. What it received stays valid and is handed over as usual.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Reconnect) current?.finish('ended');
    }
  })().catch(() => undefined);

  return {
    pull(request) {
      const { batch, signal } = request;
      const expiresMs = request.noWait === true ? 0 : request.expiresMs;
      if (closed) return Promise.reject(unavailable('the JetStream puller is closed'));
      if (current !== undefined) {
        return Promise.reject(new CrdrError('Internal', 'a pull is already in flight'));
      }
      if (signal?.aborted) return Promise.resolve({ messages: [], end: 'aborted' as const });
      return new Promise<PullResult>((resolve, reject) => {
        const messages: PulledMessage[] = [];
        const settle = (): void => {
          current = undefined;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const pending: InFlight = {
          batch,
          messages,
          finish(end) {
            settle();
            resolve({ messages, end });
          },
          // Given up: what came is handed back, and what still comes is (no request waits).
          fail(error) {
            settle();
            nak(messages);
            reject(error);
          },
        };
        const onAbort = (): void => {
          settle();
          nak(messages);
          resolve({ messages: [], end: 'aborted' });
        };
        const timer = setTimeout(
          () =>
            pending.fail(
              unavailable(
                `NATS did not end a pull on ${stream}/${consumer} within ${expiresMs + graceMs} ms`,
                { details: { reason: 'pull-timeout' } },
              ),
            ),
          expiresMs + graceMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        current = pending;
        const body =
          request.noWait === true ? { batch, no_wait: true } : { batch, expires: nanos(expiresMs) };
        nc.publish(nextSubject, encoder.encode(JSON.stringify(body)), { reply: inbox });
      });
    },
    ack(messages) {
      if (nc.isClosed()) return;
      for (const m of messages) nc.publish(m.reply, ACK);
    },
    working(messages) {
      if (nc.isClosed()) return;
      for (const m of messages) nc.publish(m.reply, WPI);
    },
    nak,
    flush: () => nc.flush(),
    async close() {
      if (closed) return;
      closed = true;
      current?.fail(unavailable('the JetStream puller is closed'));
      await sub.drain().catch(() => undefined);
    },
  };
}
