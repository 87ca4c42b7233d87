import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '@crdr/testing';
import {
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../support/otlp-receiver.js';
import { startTwoRegions, type TwoRegions } from '../support/two-regions.js';

// One trace from a SEND on the primary, through the relay's publish to JetStream (trace context
// in the NATS headers), to the replicator's apply on the replica. The broker and the replicator
// are real processes exporting through the SDK that the standard OTEL_* variables choose (OTLP
// over HTTP) to a receiver in this test.

const newTraceparent = (): { traceId: string; spanId: string; header: string } => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
};

describe('a trace from SEND to apply', () => {
  let receiver: OtlpReceiver;
  let regions: TwoRegions;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    regions = await startTwoRegions({
      name: 'trace',
      primaryEnv: receiver.env,
      replicatorEnv: receiver.env,
    });
    await regions.enableReplication();
  });

  afterAll(async () => {
    await regions?.stop();
    await receiver?.close();
  });

  /** Waits for the span chain of one trace, from the caller's span to the apply. */
  const chainOf = async (traceId: string, callerSpanId: string, firstName: string) => {
    let spans: ReceivedSpan[] = [];
    await waitFor(
      () => {
        spans = receiver.spans.filter((s) => s.traceId === traceId);
        return spans.some((s) => s.name === 'replication.apply.event');
      },
      `the apply span of trace ${traceId}`,
      30_000,
      100,
    );
    const byName = (name: string): ReceivedSpan => {
      const found = spans.find((s) => s.name === name);
      if (found === undefined)
        throw new Error(`no span ${name} in ${JSON.stringify(spans, null, 1)}`);
      return found;
    };
    const send = byName(firstName);
    const publish = byName('replication.publish');
    const apply = byName('replication.apply.event');
    return { spans, send, publish, apply, callerSpanId };
  };

  it('follows a STOMP SEND carrying a traceparent header', async () => {
    const caller = newTraceparent();
    const client = await regions.connectPrimary();
    try {
      await client.send(
        '/queue/traced.stomp',
        'traced',
        { persistent: true, traceparent: caller.header },
        { receipt: true },
      );
    } finally {
      await client.disconnect();
    }
    const { send, publish, apply } = await chainOf(caller.traceId, caller.spanId, 'stomp.send');
    expect(send.service).toBe('broker');
    expect(send.parentSpanId).toBe(caller.spanId);
    expect(publish.service).toBe('broker');
    expect(publish.parentSpanId).toBe(send.spanId);
    expect(apply.service).toBe('replicator');
    expect(apply.parentSpanId).toBe(publish.spanId);
    expect(BigInt(apply.attributes['crdr.replication.sequence']!)).toBeGreaterThan(0n);
  });

  it('follows a gRPC Send carrying traceparent metadata', async () => {
    const caller = newTraceparent();
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', caller.header);
    await regions.regionA.broker.send(
      {
        destination: '/queue/traced.grpc',
        body: Buffer.from('traced'),
        persistent: true,
      },
      { metadata },
    );
    const { send, publish, apply } = await chainOf(
      caller.traceId,
      caller.spanId,
      '/crdr.broker.v1.BrokerService/Send',
    );
    expect(send.parentSpanId).toBe(caller.spanId);
    expect(publish.parentSpanId).toBe(send.spanId);
    expect(apply.parentSpanId).toBe(publish.spanId);
  });
});
