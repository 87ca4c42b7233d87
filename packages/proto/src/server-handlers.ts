import type * as grpc from '@grpc/grpc-js';
import { isCrdrError } from '@crdr/errors';
import { contextFromRecord, getTracer, isTracingEnabled, traced } from '@crdr/telemetry';
import { toGrpcStatus } from './status-mapping.js';

export interface HandlerOptions {
  /**
   * Told about failures that are bugs or outages rather than answers: anything that is not a
   * `CrdrError`, and Internal ones. The client only sees a generic INTERNAL status for the
   * former, so this is where their message and stack go. Default: `console.error`.
   */
  readonly onUnexpectedError?: (error: unknown, methodPath: string) => void;
}

function reportUnexpected(error: unknown, methodPath: string, options: HandlerOptions): void {
  if (isCrdrError(error) && error.code !== 'Internal') return;
  if (options.onUnexpectedError) options.onUnexpectedError(error, methodPath);
  else console.error(`gRPC ${methodPath} failed unexpectedly`, error);
}

/** Runs `fn`, turning a synchronous throw into a rejection. */
function run<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}

const tracer = getTracer('crdr-grpc');

/**
 * Runs a handler in a server span that continues the caller's trace (W3C `traceparent` in the
 * call's metadata). With tracing off it just runs the handler.
 */
function runTraced<T>(
  call: { metadata: grpc.Metadata; getPath(): string },
  fn: () => Promise<T>,
): Promise<T> {
  if (!isTracingEnabled()) return run(fn);
  const parent = contextFromRecord(call.metadata.getMap());
  return traced(
    tracer,
    call.getPath(),
    {
      kind: 'server',
      attributes: { 'rpc.system': 'grpc' },
      ...(parent === undefined ? {} : { parent }),
    },
    () => run(fn),
  );
}

/**
 * A unary handler from an async function: the resolved value is the response; whatever it
 * throws is answered through `toGrpcStatus`, so handlers throw `CrdrError`s and never build a
 * status themselves.
 */
export function unaryHandler<Request, Response>(
  fn: (request: Request, call: grpc.ServerUnaryCall<Request, Response>) => Promise<Response>,
  options: HandlerOptions = {},
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    runTraced(call, () => fn(call.request, call)).then(
      (response) => callback(null, response),
      (error: unknown) => {
        reportUnexpected(error, call.getPath(), options);
        callback(toGrpcStatus(error));
      },
    );
  };
}

/**
 * A client-streaming handler from an async function that reads the requests as an async
 * iterable (pulled: a slow handler applies HTTP/2 flow control to the client) and returns the
 * one response. Errors are mapped as in {@link unaryHandler}.
 */
export function clientStreamHandler<Request, Response>(
  fn: (
    requests: AsyncIterable<Request>,
    call: grpc.ServerReadableStream<Request, Response>,
  ) => Promise<Response>,
  options: HandlerOptions = {},
): grpc.handleClientStreamingCall<Request, Response> {
  return (call, callback) => {
    runTraced(call, () => fn(call as AsyncIterable<Request>, call)).then(
      (response) => callback(null, response),
      (error: unknown) => {
        reportUnexpected(error, call.getPath(), options);
        callback(toGrpcStatus(error));
      },
    );
  };
}

/** A stream the handler writes to and the wrapper ends. */
type EndableCall = {
  readonly cancelled: boolean;
  end(): void;
  emit(event: 'error', status: unknown): boolean;
  getPath(): string;
};

function settleStream(call: EndableCall, promise: Promise<void>, options: HandlerOptions): void {
  promise.then(
    () => {
      if (!call.cancelled) call.end();
    },
    (error: unknown) => {
      reportUnexpected(error, call.getPath(), options);
      // grpc-js turns an 'error' event on a server stream into the call's final status.
      if (!call.cancelled) call.emit('error', toGrpcStatus(error));
    },
  );
}

/**
 * A server-streaming handler from an async function that writes to `call` and resolves when
 * the stream is complete; the wrapper then ends it with OK, or with the mapped status when the
 * function throws. When the client cancels, the wrapper writes nothing more; the function
 * should watch `call.on('cancelled')` / `call.cancelled` to stop and release what it holds.
 */
export function serverStreamHandler<Request, Response>(
  fn: (request: Request, call: grpc.ServerWritableStream<Request, Response>) => Promise<void>,
  options: HandlerOptions = {},
): grpc.handleServerStreamingCall<Request, Response> {
  return (call) => {
    settleStream(
      call,
      run(() => fn(call.request, call)),
      options,
    );
  };
}

/** A bidirectional-streaming handler; completion and errors as in {@link serverStreamHandler}. */
export function bidiStreamHandler<Request, Response>(
  fn: (call: grpc.ServerDuplexStream<Request, Response>) => Promise<void>,
  options: HandlerOptions = {},
): grpc.handleBidiStreamingCall<Request, Response> {
  return (call) => {
    settleStream(
      call,
      run(() => fn(call)),
      options,
    );
  };
}
