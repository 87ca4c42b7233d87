import type * as grpc from '@grpc/grpc-js';
import { CrdrError, isCrdrError, notFound, unavailable } from '@crdr/errors';
import {
  clientStreamHandler,
  serverStreamHandler,
  unaryHandler,
  type brokerV1,
  type HandlerOptions,
} from '@crdr/proto';
import type {
  BrokerEngine,
  DeliverySink,
  Principal,
  SendRequest,
  Session,
} from '../../engine/engine.types.js';
import { AckRegistry, type ReceiveStream } from './ack-registry.js';
import {
  checkAckId,
  checkTransactionId,
  toProtoDelivery,
  toReceiveSubscription,
  toSendRequest,
} from './broker.mapping.js';
import { authenticateCall } from './grpc-auth.js';
import { defaultTransactionIdleTimeoutMs, TransactionRegistry } from './transaction-registry.js';

/** Sends of one SendStream the engine works on at once. */
export const defaultMaxSendsInFlight = 64;

export interface BrokerServiceOptions {
  readonly engine: BrokerEngine;
  /** A transaction unused for this long is aborted. Default 60 s. Ignored with `transactions`. */
  readonly transactionIdleTimeoutMs?: number;
  /** The open transactions; pass one to abort them all on shutdown (`closeAll`). */
  readonly transactions?: TransactionRegistry;
  /** Sends of one SendStream in flight at once. Default 64. */
  readonly maxSendsInFlight?: number;
  /** Told about failures that are bugs or outages (see `HandlerOptions`). */
  readonly onUnexpectedError?: (error: unknown, context: string) => void;
}

/** A SendStream failure names the request at fault (0-based) in its message and details. */
function atRequest(error: unknown, index: number): unknown {
  if (!isCrdrError(error)) return error;
  return new CrdrError(error.code, `request ${index}: ${error.message}`, {
    cause: error,
    details: { ...error.details, requestIndex: String(index) },
  });
}

/**
 * The handlers of crdr.broker.v1.BrokerService over the broker engine: the STOMP operations for
 * gRPC clients. Each call authenticates from its `authorization` metadata and is refused with
 * FailedPrecondition (naming the primary) unless this broker serves clients.
 *
 * Sessions: a Send (or SendStream) call uses an engine session of its own for its duration; a
 * Receive stream holds one session and one subscription until the client cancels, when the
 * engine puts its unacknowledged deliveries back; a transaction holds one session from
 * BeginTransaction to Commit/Abort (or its idle timeout). Unary Ack/Nack find the session that
 * handed out the ack id.
 */
export function createBrokerServiceHandlers(
  options: BrokerServiceOptions,
): brokerV1.BrokerServiceHandlers {
  const { engine } = options;
  const maxSendsInFlight = options.maxSendsInFlight ?? defaultMaxSendsInFlight;
  const report = options.onUnexpectedError;
  const handlerOptions: HandlerOptions = report ? { onUnexpectedError: report } : {};
  const acks = new AckRegistry();
  const transactions =
    options.transactions ??
    new TransactionRegistry({
      idleTimeoutMs: options.transactionIdleTimeoutMs ?? defaultTransactionIdleTimeoutMs,
      onError: (error, transactionId) => report?.(error, `discarding transaction ${transactionId}`),
    });

  /** Client calls: refused by a broker that does not serve clients, then authenticated. */
  async function clientPrincipal(call: {
    metadata: grpc.Metadata;
    getPeer(): string;
  }): Promise<Principal> {
    engine.assertServing();
    return authenticateCall(engine, call);
  }

  async function withSession<T>(
    principal: Principal,
    call: { getPeer(): string },
    fn: (session: Session) => Promise<T>,
  ): Promise<T> {
    const session = engine.openSession(principal, {
      transport: 'grpc',
      remoteAddress: call.getPeer(),
    });
    try {
      return await fn(session);
    } finally {
      await session.close();
    }
  }

  /** Sends outside or inside a transaction; `session` is the call's own, for the former. */
  function send(
    session: Session,
    principal: Principal,
    request: SendRequest,
    transactionId: string,
  ): Promise<{ messageId: string }> {
    if (transactionId === '') return session.send(request);
    return transactions.use(transactionId, principal.username, (txSession) =>
      txSession.send(request, transactionId),
    );
  }

  /** The stream that handed out `ackId`, if it was handed to this user. */
  function receiverOf(ackId: string, principal: Principal): ReceiveStream {
    const stream = acks.find(ackId);
    if (!stream || stream.session.principal.username !== principal.username) {
      throw notFound(`no unacknowledged delivery has ack id "${ackId}"`, {
        details: { field: 'ack_id' },
      });
    }
    return stream;
  }

  return {
    Send: unaryHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const sendRequest = toSendRequest(request);
      if (request.transactionId !== '') {
        return transactions.use(request.transactionId, principal.username, (session) =>
          session.send(sendRequest, request.transactionId),
        );
      }
      return withSession(principal, call, (session) => session.send(sendRequest));
    }, handlerOptions),

    SendStream: clientStreamHandler(async (requests, call) => {
      const principal = await clientPrincipal(call);
      return withSession(principal, call, async (session) => {
        const messageIds: string[] = [];
        const inFlight = new Set<Promise<void>>();
        // The failure of the earliest request that failed; later ones may have succeeded.
        let failure: { readonly index: number; readonly error: unknown } | undefined;
        const fail = (index: number, error: unknown): void => {
          if (!failure || index < failure.index) failure = { index, error };
        };
        let index = 0;
        try {
          // Sends start in stream order and run concurrently, up to maxSendsInFlight at once.
          for await (const request of requests) {
            if (failure) break;
            const i = index++;
            let sent: Promise<{ messageId: string }>;
            try {
              sent = send(session, principal, toSendRequest(request), request.transactionId);
            } catch (error) {
              fail(i, error);
              break;
            }
            const settled: Promise<void> = sent.then(
              ({ messageId }) => {
                messageIds[i] = messageId;
              },
              (error: unknown) => fail(i, error),
            );
            inFlight.add(settled);
            void settled.then(() => inFlight.delete(settled));
            if (inFlight.size >= maxSendsInFlight) await Promise.race(inFlight);
          }
        } finally {
          // Never close the session under sends still running (the client may have gone).
          await Promise.all(inFlight);
        }
        if (failure) throw atRequest(failure.error, failure.index);
        return { messageIds };
      });
    }, handlerOptions),

    Receive: serverStreamHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const { subscribe, clientId } = toReceiveSubscription(request);

      let evicted: CrdrError | undefined;
      let wake = (): void => {};
      const ended = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const session = engine.openSession(principal, {
        transport: 'grpc',
        remoteAddress: call.getPeer(),
        ...(clientId === undefined ? {} : { clientId }),
        onEvicted: (reason) => {
          evicted = unavailable(`the broker stopped serving clients: ${reason}`);
          wake();
        },
      });
      const stream: ReceiveStream = { session, ackMode: subscribe.ackMode };

      // Backpressure: the engine stops delivering while the call's send buffer is full, and
      // resumes on 'drain'; the subscription's prefetch bounds what is unacknowledged.
      let writable = true;
      const sink: DeliverySink = {
        get ready() {
          return writable && !call.cancelled && evicted === undefined;
        },
        deliver(delivery) {
          acks.add(stream, delivery.ackId);
          writable = call.write(toProtoDelivery(delivery));
        },
      };
      const onDrain = (): void => {
        writable = true;
        session.resume();
      };
      call.on('drain', onDrain);
      call.once('cancelled', wake);
      try {
        await session.subscribe(subscribe, sink);
        if (!call.cancelled) await ended;
        if (evicted) throw evicted;
      } finally {
        call.off('drain', onDrain);
        call.off('cancelled', wake);
        // Closing returns the unacknowledged deliveries to the queue for redelivery.
        acks.removeStream(stream);
        await session.close();
      }
    }, handlerOptions),

    Ack: unaryHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const ackId = checkAckId(request.ackId);
      const stream = receiverOf(ackId, principal);
      if (request.transactionId === '') {
        await stream.session.ack(ackId);
      } else {
        // The engine's ack ids are broker-wide: the transaction's session acknowledges it.
        await transactions.use(request.transactionId, principal.username, (session) =>
          session.ack(ackId, request.transactionId),
        );
        // Kept until the stream ends: an aborted transaction leaves the delivery unacknowledged
        // (as ActiveMQ does), so the same ack id may be acknowledged again.
        return {};
      }
      acks.resolved(ackId);
      return {};
    }, handlerOptions),

    Nack: unaryHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const ackId = checkAckId(request.ackId);
      const stream = receiverOf(ackId, principal);
      if (request.transactionId === '') {
        await stream.session.nack(ackId);
      } else {
        await transactions.use(request.transactionId, principal.username, (session) =>
          session.nack(ackId, request.transactionId),
        );
      }
      acks.resolved(ackId);
      return {};
    }, handlerOptions),

    BeginTransaction: unaryHandler(async (_request, call) => {
      const principal = await clientPrincipal(call);
      const transactionId = await transactions.begin((id) =>
        engine.openSession(principal, {
          transport: 'grpc',
          remoteAddress: call.getPeer(),
          onEvicted: () => void transactions.discard(id),
        }),
      );
      return { transactionId };
    }, handlerOptions),

    CommitTransaction: unaryHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const transactionId = checkTransactionId(request.transactionId);
      await transactions.end(transactionId, principal.username, (session) =>
        session.commit(transactionId),
      );
      return {};
    }, handlerOptions),

    AbortTransaction: unaryHandler(async (request, call) => {
      const principal = await clientPrincipal(call);
      const transactionId = checkTransactionId(request.transactionId);
      await transactions.end(transactionId, principal.username, (session) =>
        session.abort(transactionId),
      );
      return {};
    }, handlerOptions),
  };
}
