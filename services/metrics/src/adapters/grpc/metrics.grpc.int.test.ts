import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { loadConfig } from '../../config.js';
import { createServer, type MetricsServer } from '../../server.js';

type MetricsClient = ClientOf<ProtoGrpcType['crdr']['metrics']['v1']['MetricsService']>;

// Known samples inserted straight into the store; the queries go through gRPC.
const t0 = 1_700_000_000_000;
const lag = (offsetMs: number, value: number, broker = 'b-1') => ({
  metric: 'ReplicationLag',
  region: 'region-b',
  broker,
  destination: '',
  timestampMs: t0 + offsetMs,
  value,
});

describe('MetricsService over gRPC', () => {
  let database: TestDatabase;
  let server: MetricsServer;
  let client: MetricsClient;
  let nowMs = t0 + 600_000;

  beforeAll(async () => {
    database = await createTestDatabase('metrics_grpc');
    server = createServer({
      config: loadConfig({
        METRICS_DB_URL: database.url,
        METRICS_COLLECT: '0',
        METRICS_REGION: 'region-b',
      }),
      log: createLogger({ service: 'metrics-test', level: 'silent' }),
      now: () => nowMs,
    });
    const endpoints = await server.start();
    client = createClient(loadProto().crdr.metrics.v1.MetricsService, endpoints.grpc);
    await server.repository.insert([
      lag(0, 100),
      lag(10_000, 300),
      lag(59_999, 200),
      lag(60_000, 50),
      lag(180_000, 7),
      lag(30_000, 99_999, 'other'),
      {
        metric: 'QueueSize',
        region: 'region-b',
        broker: 'b-1',
        destination: '/queue/orders',
        timestampMs: t0,
        value: 4,
      },
    ]);
  });

  afterAll(async () => {
    client?.close();
    await server?.stop();
    await database?.drop();
  });

  const query = (statistic: string, periodSeconds = 60) =>
    client.getMetricData({
      metricName: 'ReplicationLag',
      dimensions: [{ name: 'Broker', value: 'b-1' }],
      startTimeMs: String(t0),
      endTimeMs: String(t0 + 240_000),
      periodSeconds,
      statistic,
    });

  it('computes every statistic over each period of one series', async () => {
    const values = async (statistic: string) =>
      (await query(statistic)).datapoints.map((d) => [Number(d.timestampMs) - t0, d.value, d.unit]);
    expect(await values('Average')).toEqual([
      [0, 200, 'Milliseconds'],
      [60_000, 50, 'Milliseconds'],
      [180_000, 7, 'Milliseconds'],
    ]);
    expect(await values('Maximum')).toEqual([
      [0, 300, 'Milliseconds'],
      [60_000, 50, 'Milliseconds'],
      [180_000, 7, 'Milliseconds'],
    ]);
    expect(await values('Minimum')).toEqual([
      [0, 100, 'Milliseconds'],
      [60_000, 50, 'Milliseconds'],
      [180_000, 7, 'Milliseconds'],
    ]);
    expect(await values('Sum')).toEqual([
      [0, 600, 'Milliseconds'],
      [60_000, 50, 'Milliseconds'],
      [180_000, 7, 'Milliseconds'],
    ]);
    expect(await values('SampleCount')).toEqual([
      [0, 3, 'Count'],
      [60_000, 1, 'Count'],
      [180_000, 1, 'Count'],
    ]);
    const label = await query('Average', 240);
    expect(label.label).toBe('ReplicationLag');
    expect(label.datapoints.map((d) => d.value)).toEqual([(100 + 300 + 200 + 50 + 7) / 5]);
  });

  it('selects per destination and lists the series', async () => {
    const perQueue = await client.getMetricData({
      metricName: 'QueueSize',
      dimensions: [
        { name: 'Broker', value: 'b-1' },
        { name: 'Destination', value: '/queue/orders' },
      ],
      startTimeMs: String(t0),
      endTimeMs: String(t0 + 60_000),
      periodSeconds: 60,
      statistic: 'Maximum',
    });
    expect(perQueue.datapoints.map((d) => [d.value, d.unit])).toEqual([[4, 'Count']]);
    const listed = await client.listMetrics({ dimensions: [{ name: 'Broker', value: 'b-1' }] });
    expect(
      listed.metrics.map((m) => [m.metricName, m.dimensions.map((d) => `${d.name}=${d.value}`)]),
    ).toEqual([
      ['QueueSize', ['Broker=b-1', 'Destination=/queue/orders', 'Region=region-b']],
      ['ReplicationLag', ['Broker=b-1', 'Region=region-b']],
    ]);
  });

  it('refuses bad queries with BadRequest naming the field', async () => {
    const refused = async (overrides: Record<string, unknown>): Promise<string> => {
      try {
        await client.getMetricData({
          metricName: 'ReplicationLag',
          startTimeMs: String(t0),
          endTimeMs: String(t0 + 60_000),
          periodSeconds: 60,
          statistic: 'Average',
          ...overrides,
        });
      } catch (error) {
        if (hasErrorCode(error, 'BadRequest')) return error.message;
        throw error;
      }
      throw new Error('accepted');
    };
    expect(await refused({ metricName: 'NoSuchMetric' })).toMatch(/MetricName/);
    expect(await refused({ endTimeMs: String(t0 - 1) })).toMatch(/EndTime/);
    expect(await refused({ periodSeconds: 0 })).toMatch(/Period/);
    expect(await refused({ statistic: 'Median' })).toMatch(/Statistic/);
  });

  it('applies the retention when a round runs', async () => {
    // A round with no targets still applies the retention, on the injected clock.
    nowMs = t0 + 15 * 24 * 3600 * 1000 + 60_001;
    await server.collector.collectOnce();
    const left = await server.repository.select({
      metric: 'ReplicationLag',
      broker: 'b-1',
      destination: '',
      fromMs: 0,
      toMs: Number.MAX_SAFE_INTEGER,
    });
    expect(left.map((s) => s.timestampMs - t0)).toEqual([180_000]);
  });
});
