import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';

/** The one table of span attribute names used across services. */
export const attributeNames = {
  brokerId: 'crdr.broker.id',
  region: 'crdr.region',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  sequence: 'crdr.replication.sequence',
  epoch: 'crdr.epoch',
  batchSize: 'messaging.batch.message_count',
} as const;

export function getTracer(name: string): Tracer {
  return trace.getTracer(name);
}

/** Runs `work` inside a span that records an exception and ends whatever happens. */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
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
