import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import {
  contextFromHeaders,
  contextFromRecord,
  currentTraceContext,
  endSpan,
  injectTraceContext,
  setTracingEnabled,
  startSpan,
  traced,
} from './propagation.js';

// An in-memory span exporter behind the global API, as the SDK sets it up in a service.
describe('trace context propagation', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager();
  const tracer = provider.getTracer('test');
  const caller = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
  };
  const traceparent = `00-${caller.traceId}-${caller.spanId}-01`;

  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(async () => {
    setTracingEnabled(false);
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });
  beforeEach(() => {
    exporter.reset();
    setTracingEnabled(true);
  });

  it('carries one trace from a header record through a NATS-like header set to a child span', async () => {
    let carried: Record<string, string> | undefined;
    await traced(
      tracer,
      'send',
      { kind: 'server', parent: contextFromRecord({ traceparent }) },
      async () => {
        carried = currentTraceContext();
      },
    );
    expect(carried?.['traceparent']).toMatch(new RegExp(`^00-${caller.traceId}-`));

    const publish = startSpan(tracer, 'publish', {
      kind: 'producer',
      parent: contextFromRecord(carried),
    })!;
    const headers = new Map<string, string>();
    injectTraceContext(headers, publish.context);
    endSpan(publish.span);
    const apply = startSpan(tracer, 'apply', { parent: contextFromHeaders(headers) })!;
    endSpan(apply.span);

    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.find((s) => s.name === name)!;
    expect(spans.map((s) => s.spanContext().traceId)).toEqual([
      caller.traceId,
      caller.traceId,
      caller.traceId,
    ]);
    expect(byName('send').parentSpanContext?.spanId).toBe(caller.spanId);
    expect(byName('publish').parentSpanContext?.spanId).toBe(byName('send').spanContext().spanId);
    expect(byName('apply').parentSpanContext?.spanId).toBe(byName('publish').spanContext().spanId);
  });

  it('records a failure and ends the span', async () => {
    await expect(
      traced(tracer, 'failing', {}, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.message).toBe('boom');
  });

  it('does nothing, and carries nothing, while tracing is off', async () => {
    setTracingEnabled(false);
    let carried: Record<string, string> | undefined = {};
    await traced(tracer, 'send', { parent: contextFromRecord({ traceparent }) }, async (span) => {
      expect(span).toBeUndefined();
      carried = currentTraceContext();
    });
    expect(carried).toBeUndefined();
    expect(contextFromRecord({ traceparent })).toBeUndefined();
    expect(startSpan(tracer, 'x', {})).toBeUndefined();
    const headers = new Map<string, string>();
    injectTraceContext(headers);
    expect(headers.size).toBe(0);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
