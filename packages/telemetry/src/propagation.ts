import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/**
 * Trace context across processes (W3C `traceparent`/`tracestate`): in gRPC metadata, in NATS
 * message headers and in the replication event's `trace_context` map, so that one trace runs
 * from a SEND on the primary through the relay and the replicator to the apply on the replica.
 *
 * Everything here is gated on {@link isTracingEnabled}: a process that exports nothing pays one
 * boolean test per call, and the hot paths (a SEND, a relay publish, an apply) allocate nothing
 * for tracing.
 */

let tracingEnabled = false;

/** Whether spans are recorded in this process (an SDK was started). */
export function isTracingEnabled(): boolean {
  return tracingEnabled;
}

/** Set by `startTelemetry` (and by tests that register their own tracer provider). */
export function setTracingEnabled(enabled: boolean): void {
  tracingEnabled = enabled;
}

/** Something that holds string headers: NATS `MsgHdrs`, a plain record. */
export interface HeaderGetter {
  get(key: string): string | undefined | null;
}

const recordGetter = {
  keys: (carrier: Readonly<Record<string, unknown>>) => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, unknown>>, key: string) => {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return undefined;
  },
};

const headerGetter = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier: HeaderGetter, key: string) => carrier.get(key) || undefined,
};

/**
 * The active trace context as W3C headers, or undefined when tracing is off or no span is
 * active. This is what a replication event's `trace_context` carries.
 */
export function currentTraceContext(): Record<string, string> | undefined {
  if (!tracingEnabled) return undefined;
  const active = context.active();
  if (trace.getSpan(active) === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  return carrier['traceparent'] === undefined ? undefined : carrier;
}

/** Sets the W3C headers of `ctx` (default: the active context) on anything with `set`. */
export function injectTraceContext(
  target: { set(key: string, value: string): void },
  ctx: Context = context.active(),
): void {
  if (!tracingEnabled) return;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  for (const [key, value] of Object.entries(carrier)) target.set(key, value);
}

/** The context carried by a record of headers (`traceparent`...), or undefined. */
export function contextFromRecord(
  carrier: Readonly<Record<string, unknown>> | undefined,
): Context | undefined {
  if (!tracingEnabled || carrier === undefined || carrier['traceparent'] === undefined)
    return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, carrier, recordGetter);
  return trace.getSpan(extracted) === undefined ? undefined : extracted;
}

/** The context carried by headers with `get` (NATS `MsgHdrs`), or undefined. */
export function contextFromHeaders(headers: HeaderGetter | undefined): Context | undefined {
  if (!tracingEnabled || headers === undefined || !headers.get('traceparent')) return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  return trace.getSpan(extracted) === undefined ? undefined : extracted;
}

export interface SpanOptions {
  readonly attributes?: Record<string, string | number | boolean>;
  readonly kind?: 'server' | 'client' | 'producer' | 'consumer' | 'internal';
  /** The parent; default the active context. */
  readonly parent?: Context;
  readonly links?: readonly Link[];
}

const kinds = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
} as const;

/**
 * Runs `work` in a span (child of `options.parent` or of the active context) that is active
 * while it runs, records an exception and ends whatever happens. With tracing off, `work`
 * simply runs with no span (`undefined`).
 */
export function traced<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled) return work(undefined);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: kinds[options.kind ?? 'internal'],
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(options.links === undefined ? {} : { links: [...options.links] }),
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A link to the span a context holds (for a batch span that serves several traces). */
export function linkTo(ctx: Context): Link | undefined {
  const span = trace.getSpan(ctx);
  return span === undefined ? undefined : { context: span.spanContext() };
}

/** The trace id of the active span, or undefined. */
export function activeTraceId(): string | undefined {
  return trace.getActiveSpan()?.spanContext().traceId;
}

/**
 * Starts a span that the caller ends (one that outlives a callback: a publish awaiting its
 * acknowledgement), with the context that holds it, for `injectTraceContext`. Undefined with
 * tracing off.
 */
export function startSpan(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
): { readonly span: Span; readonly context: Context } | undefined {
  if (!tracingEnabled) return undefined;
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: kinds[options.kind ?? 'internal'],
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(options.links === undefined ? {} : { links: [...options.links] }),
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a span, recording `error` as its failure when given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
  }
  span.end();
}
