import type { DecodedEvent } from '@crdr/replication';
import {
  attributeNames,
  contextFromHeaders,
  contextFromRecord,
  endSpan,
  isTracingEnabled,
  startSpan,
  type getTracer,
} from '@crdr/telemetry';
import type { Delivery } from './batch-reader.js';

/** Spans per batch at most: a batch of thousands of traced events records the first ones. */
const maxEventSpans = 256;

/**
 * Runs a batch's apply inside one span per traced event, each continuing the trace of the SEND
 * that produced the event: from the relay's span in the NATS headers, or from the event's own
 * `trace_context` when the message has no headers (an event read back from the outbox). With
 * tracing off it only runs `work`.
 */
export async function withEventSpans<T>(
  tracer: ReturnType<typeof getTracer>,
  deliveries: readonly Delivery[],
  applied: readonly DecodedEvent[],
  work: () => Promise<T>,
): Promise<T> {
  if (!isTracingEnabled()) return work();
  const appliedEvents = new Set(applied);
  const spans = [];
  for (const delivery of deliveries) {
    if (spans.length >= maxEventSpans) break;
    const { event } = delivery;
    if (event === undefined || !appliedEvents.has(event)) continue;
    const parent =
      contextFromHeaders(delivery.message.headers) ?? contextFromRecord(event.traceContext);
    if (parent === undefined) continue;
    const started = startSpan(tracer, 'replication.apply.event', {
      kind: 'consumer',
      parent,
      attributes: {
        [attributeNames.brokerId]: event.brokerId,
        [attributeNames.sequence]: String(event.sequence),
        [attributeNames.epoch]: String(event.epoch),
      },
    });
    if (started !== undefined) spans.push(started.span);
  }
  try {
    const result = await work();
    for (const span of spans) endSpan(span);
    return result;
  } catch (error) {
    for (const span of spans) endSpan(span, error);
    throw error;
  }
}
