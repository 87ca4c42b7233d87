import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { toCrdrError, unavailable } from '@crdr/errors';
import { injectTraceContext, isTracingEnabled } from '@crdr/telemetry';
import type { BasicCredentials } from './basic-auth.js';
import { authorizationMetadataKey, formatBasicAuth } from './basic-auth.js';
import { fromGrpcError } from './status-mapping.js';

/** The default deadline of a unary or client-streaming call. */
export const defaultDeadlineMs = 10_000;

export interface ClientOptions {
  /** Sent as `authorization: Basic ...` on every call. */
  readonly credentials?: BasicCredentials;
  /** Deadline of each unary and client-streaming call unless the call says otherwise. Default 10 s. */
  readonly deadlineMs?: number;
  /** Default: plaintext. */
  readonly channelCredentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /**
   * This call's deadline. Unary and client-streaming calls always have one (the client's
   * default); server-streaming and bidi calls only when given, since a stream such as Receive
   * is meant to stay open until it is cancelled.
   */
  readonly deadlineMs?: number;
  /** Extra metadata (trace context...). */
  readonly metadata?: grpc.Metadata | Readonly<Record<string, string>>;
  /** Cancels the call: a unary call rejects with an Aborted error, a stream ends quietly. */
  readonly signal?: AbortSignal;
}

/** A unary method: resolves with the response, rejects with a `CrdrError`. */
export type UnaryMethod<Request, Response> = (
  request: Request,
  options?: CallOptions,
) => Promise<Response>;
/** A server-streaming method: the responses, pulled; breaking out of the loop cancels the call. */
export type ServerStreamMethod<Request, Response> = (
  request: Request,
  options?: CallOptions,
) => AsyncGenerator<Response, void, undefined>;
/** A client-streaming method: writes the requests in order (with backpressure), then resolves. */
export type ClientStreamMethod<Request, Response> = (
  requests: Iterable<Request> | AsyncIterable<Request>,
  options?: CallOptions,
) => Promise<Response>;
/** A bidi method: the raw grpc-js stream, with metadata and deadline set; map errors with `fromGrpcError`. */
export type BidiStreamMethod<Request, Response> = (
  options?: CallOptions,
) => grpc.ClientDuplexStream<Request, Response>;

/*
 * The generated client interfaces overload each method; a conditional type sees the last
 * overload, which for each kind of method is the one matched here.
 */
type PromiseMethod<F> = F extends (...args: infer A) => infer R
  ? R extends grpc.ClientDuplexStream<infer Request, infer Response>
    ? BidiStreamMethod<Request, Response>
    : R extends grpc.ClientReadableStream<infer Response>
      ? A extends [infer Request, ...unknown[]]
        ? ServerStreamMethod<Request, Response>
        : never
      : R extends grpc.ClientWritableStream<infer Request>
        ? A extends [grpc.requestCallback<infer Response>]
          ? ClientStreamMethod<Request, Response>
          : never
        : A extends [infer Request, grpc.requestCallback<infer Response>]
          ? UnaryMethod<Request, Response>
          : never
  : never;

/** A generated client constructor, e.g. `loadProto().crdr.broker.v1.BrokerService`. */
export type ServiceClientConstructor<C extends grpc.Client, D extends grpc.ServiceDefinition> = {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): C;
  readonly service: D;
};

/** The method names of a generated service definition, without its index signature. */
type MethodName<D> = keyof {
  [K in keyof D as string extends K ? never : number extends K ? never : K]: D[K];
};

/** The promise-based methods of a service, named in lowerCamelCase (`Send` → `send`). */
export type PromiseClient<C extends grpc.Client, D extends grpc.ServiceDefinition> = {
  readonly [K in MethodName<D> & keyof C & string as Uncapitalize<K>]: PromiseMethod<C[K]>;
} & {
  /** Waits until the channel is connected, or rejects with Unavailable. */
  waitForReady(deadlineMs?: number): Promise<void>;
  /** Closes the channel; calls in flight fail. */
  close(): void;
  /** The underlying grpc-js client, for what this wrapper does not cover. */
  readonly grpcClient: C;
};

/** The client `createClient(ServiceClient, ...)` returns, e.g. `ClientOf<typeof BrokerService>`. */
export type ClientOf<T> =
  T extends ServiceClientConstructor<infer C, infer D> ? PromiseClient<C, D> : never;

function uncapitalize(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** The untyped view of a grpc-js client method used at run time; the types come from PromiseClient. */
type AnyMethod = (...args: unknown[]) => grpc.Call;

/**
 * Creates a promise-based client of one service. Every call carries the credentials (if any)
 * and a deadline; every failure is a `CrdrError` restored by `fromGrpcError`.
 *
 * @example
 * const broker = createClient(loadProto().crdr.broker.v1.BrokerService, 'localhost:7000', {
 *   credentials: { username: 'admin', password: 'secret' },
 * });
 * const { messageId } = await broker.send({ destination: '/queue/orders', body: Buffer.from('hi') });
 */
export function createClient<C extends grpc.Client, D extends grpc.ServiceDefinition>(
  ServiceClient: ServiceClientConstructor<C, D>,
  address: string,
  options: ClientOptions = {},
): PromiseClient<C, D> {
  const client = new ServiceClient(
    address,
    options.channelCredentials ?? grpc.credentials.createInsecure(),
    // A message received may be as large as the server lets it be (a broker's maximum message
    // size, 100 MiB by default), not gRPC's 4 MiB: the server bounds what it sends.
    { 'grpc.max_receive_message_length': -1, ...options.channelOptions },
  );
  const clientDeadlineMs = options.deadlineMs ?? defaultDeadlineMs;
  const authorization = options.credentials ? formatBasicAuth(options.credentials) : undefined;

  const metadataFor = (call: CallOptions): grpc.Metadata => {
    const metadata =
      call.metadata instanceof grpc.Metadata ? call.metadata.clone() : new grpc.Metadata();
    if (call.metadata && !(call.metadata instanceof grpc.Metadata)) {
      for (const [key, value] of Object.entries(call.metadata)) metadata.set(key, value);
    }
    if (authorization !== undefined) metadata.set(authorizationMetadataKey, authorization);
    // The caller's trace continues in the server (a no-op while tracing is off).
    if (isTracingEnabled() && metadata.get('traceparent').length === 0) {
      injectTraceContext(metadata);
    }
    return metadata;
  };
  const deadlineFor = (call: CallOptions, fallbackMs: number | undefined): grpc.CallOptions => {
    const ms = call.deadlineMs ?? fallbackMs;
    return ms === undefined ? {} : { deadline: Date.now() + ms };
  };
  const cancelOnAbort = (call: grpc.Call, signal: AbortSignal | undefined): (() => void) => {
    if (!signal) return () => {};
    const onAbort = (): void => call.cancel();
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  };

  const methods: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(ServiceClient.service) as [
    string,
    MethodDefinition<unknown, unknown>,
  ][]) {
    const method = (client as unknown as Record<string, AnyMethod>)[name];
    if (typeof method !== 'function') continue;
    const invoke = method.bind(client);
    const key = uncapitalize(name);

    if (!definition.requestStream && !definition.responseStream) {
      methods[key] = ((request, call = {}) =>
        new Promise((resolve, reject) => {
          const release = (): void => detach();
          const grpcCall = invoke(
            request,
            metadataFor(call),
            deadlineFor(call, clientDeadlineMs),
            (error: grpc.ServiceError | null, response?: unknown) => {
              release();
              if (error) reject(fromGrpcError(error));
              else resolve(response);
            },
          );
          const detach = cancelOnAbort(grpcCall, call.signal);
        })) satisfies UnaryMethod<unknown, unknown>;
    } else if (!definition.requestStream) {
      methods[key] = async function* (request, call = {}) {
        const grpcCall = invoke(
          request,
          metadataFor(call),
          deadlineFor(call, undefined),
        ) as grpc.ClientReadableStream<unknown>;
        const detach = cancelOnAbort(grpcCall, call.signal);
        try {
          for await (const response of grpcCall) yield response;
        } catch (error) {
          if (call.signal?.aborted) return;
          throw fromGrpcError(error);
        } finally {
          detach();
          grpcCall.cancel();
        }
      } satisfies ServerStreamMethod<unknown, unknown>;
    } else if (!definition.responseStream) {
      methods[key] = ((requests, call = {}) =>
        new Promise((resolve, reject) => {
          let settled = false;
          let markSettled = (): void => {};
          const settledSignal = new Promise<void>((resolveSettled) => {
            markSettled = resolveSettled;
          });
          const grpcCall = invoke(
            metadataFor(call),
            deadlineFor(call, clientDeadlineMs),
            (error: grpc.ServiceError | null, response?: unknown) => {
              settled = true;
              markSettled();
              detach();
              if (error) reject(fromGrpcError(error));
              else resolve(response);
            },
          ) as grpc.ClientWritableStream<unknown>;
          const detach = cancelOnAbort(grpcCall, call.signal);
          const pump = async (): Promise<void> => {
            for await (const request of requests) {
              if (settled) return;
              if (!grpcCall.write(request)) {
                await Promise.race([
                  new Promise<void>((resolveDrain) => grpcCall.once('drain', resolveDrain)),
                  settledSignal,
                ]);
              }
            }
            if (!settled) grpcCall.end();
          };
          pump().catch((error: unknown) => {
            // The requests' iterable threw: give up the call and report that error.
            grpcCall.cancel();
            detach();
            reject(toCrdrError(error));
          });
        })) satisfies ClientStreamMethod<unknown, unknown>;
    } else {
      methods[key] = ((call = {}) =>
        invoke(metadataFor(call), deadlineFor(call, undefined))) as BidiStreamMethod<
        unknown,
        unknown
      >;
    }
  }

  return Object.assign(methods, {
    waitForReady: (deadlineMs: number = clientDeadlineMs): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        client.waitForReady(Date.now() + deadlineMs, (error) =>
          error
            ? reject(unavailable(`${address} not ready within ${deadlineMs} ms`, { cause: error }))
            : resolve(),
        );
      }),
    close: (): void => client.close(),
    grpcClient: client,
  }) as unknown as PromiseClient<C, D>;
}
