import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool, sql } from '@crdr/store';
import {
  createTestDatabase,
  startServiceProcess,
  type ServiceProcess,
  type TestDatabase,
} from '@crdr/testing';
import { runMqctl } from '../../packages/mqctl/src/mqctl-process.test-helper.js';

// `mqctl get-metric-data` against a real metrics service found through the `metricsGrpc` key of
// the endpoints file, on samples written straight into the service's database.

const t0 = Date.parse('2026-11-25T10:00:00Z');

describe('mqctl get-metric-data', () => {
  let database: TestDatabase;
  let metrics: ServiceProcess;
  let dir: string;
  let endpointsFile: string;

  beforeAll(async () => {
    database = await createTestDatabase('metrics_mqctl');
    metrics = await startServiceProcess({
      entry: 'services/metrics/src/main.ts',
      env: {
        METRICS_DB_URL: database.url,
        METRICS_TARGETS: '[]',
        METRICS_REGION: 'region-a',
        LOG_LEVEL: 'warn',
      },
    });
    // The service has migrated its database by the time it prints its endpoints.
    const db = createDb(createPool(database.url, { max: 1 }));
    try {
      await sql`INSERT INTO metric_samples (metric, region, broker, destination, ts_ms, value)
        VALUES ('ReplicationLag', 'region-a', 'b-1', '', ${String(t0)}::int8, 120),
               ('ReplicationLag', 'region-a', 'b-1', '', ${String(t0 + 30_000)}::int8, 480),
               ('ReplicationLag', 'region-a', 'b-1', '', ${String(t0 + 60_000)}::int8, 10),
               ('ReplicationLag', 'region-a', 'b-2', '', ${String(t0)}::int8, 99999)`.execute(db);
    } finally {
      await db.destroy();
    }
    dir = await mkdtemp(join(tmpdir(), 'mqctl-metrics-'));
    endpointsFile = join(dir, 'endpoints.json');
    await writeFile(
      endpointsFile,
      JSON.stringify({ regions: { 'region-a': { metricsGrpc: metrics.endpoints['grpc'] } } }),
    );
  });

  afterAll(async () => {
    await metrics?.kill('SIGTERM');
    await database?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const mqctl = (args: string[]) =>
    runMqctl(['get-metric-data', ...args, '--output', 'json'], {
      env: { MQCTL_ENDPOINTS_FILE: endpointsFile },
    });

  it('prints the Label and one datapoint per period with the statistic asked for', async () => {
    const result = await mqctl([
      '--broker-id',
      'b-1',
      '--metric-name',
      'ReplicationLag',
      '--start-time',
      '2026-11-25T10:00:00Z',
      '--end-time',
      '2026-11-25T10:02:00Z',
      '--period',
      '60',
      '--statistic',
      'Maximum',
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      Label: 'ReplicationLag',
      Datapoints: [
        { Timestamp: '2026-11-25T10:00:00.000Z', Maximum: 480, Unit: 'Milliseconds' },
        { Timestamp: '2026-11-25T10:01:00.000Z', Maximum: 10, Unit: 'Milliseconds' },
      ],
    });
    const average = await mqctl([
      '--broker-id',
      'b-1',
      '--metric-name',
      'ReplicationLag',
      '--start-time',
      String(t0 / 1000),
      '--end-time',
      String(t0 / 1000 + 120),
      '--period',
      '120',
      '--statistic',
      'samplecount',
    ]);
    expect(JSON.parse(average.stdout)).toEqual({
      Label: 'ReplicationLag',
      Datapoints: [{ Timestamp: '2026-11-25T10:00:00.000Z', SampleCount: 3, Unit: 'Count' }],
    });
  });

  it('fails with the field named for a bad query', async () => {
    const unknown = await mqctl(['--broker-id', 'b-1', '--metric-name', 'Latency']);
    expect(unknown.exitCode).not.toBe(0);
    expect(unknown.stderr).toMatch(/MetricName/);
    const backwards = await mqctl([
      '--broker-id',
      'b-1',
      '--metric-name',
      'ReplicationLag',
      '--start-time',
      '2026-11-25T10:02:00Z',
      '--end-time',
      '2026-11-25T10:00:00Z',
    ]);
    expect(backwards.exitCode).not.toBe(0);
    expect(backwards.stderr).toMatch(/EndTime/);
    const badTime = await mqctl([
      '--broker-id',
      'b-1',
      '--metric-name',
      'ReplicationLag',
      '--start-time',
      'yesterday',
    ]);
    expect(badTime.exitCode).not.toBe(0);
    expect(badTime.stderr).toMatch(/--start-time/);
  });

  const run = (args: string[]) =>
    runMqctl([...args, '--output', 'json'], { env: { MQCTL_ENDPOINTS_FILE: endpointsFile } });

  it('get-metric-statistics: CloudWatch flags, several statistics in one datapoint', async () => {
    const result = await run([
      'get-metric-statistics',
      '--namespace',
      'AWS/AmazonMQ',
      '--metric-name',
      'ReplicationLag',
      '--dimensions',
      'Name=Broker,Value=b-1',
      '--start-time',
      '2026-11-25T10:00:00Z',
      '--end-time',
      '2026-11-25T10:02:00Z',
      '--period',
      '60',
      '--statistics',
      'Maximum',
      'Minimum',
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      Label: 'ReplicationLag',
      Datapoints: [
        { Timestamp: '2026-11-25T10:00:00.000Z', Maximum: 480, Minimum: 120, Unit: 'Milliseconds' },
        { Timestamp: '2026-11-25T10:01:00.000Z', Maximum: 10, Minimum: 10, Unit: 'Milliseconds' },
      ],
    });
  });

  it('get-metric-data: CloudWatch queries, newest first, several ids', async () => {
    const metric = (broker: string) => ({
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'ReplicationLag',
      Dimensions: [{ Name: 'Broker', Value: broker }],
    });
    const result = await run([
      'get-metric-data',
      '--start-time',
      '2026-11-25T10:00:00Z',
      '--end-time',
      '2026-11-25T10:02:00Z',
      '--metric-data-queries',
      JSON.stringify([
        { Id: 'lag1', MetricStat: { Metric: metric('b-1'), Period: 60, Stat: 'Maximum' } },
        {
          Id: 'lag2',
          Label: 'other',
          MetricStat: { Metric: metric('b-2'), Period: 60, Stat: 'Average' },
        },
      ]),
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      MetricDataResults: [
        {
          Id: 'lag1',
          Label: 'ReplicationLag',
          Timestamps: ['2026-11-25T10:01:00.000Z', '2026-11-25T10:00:00.000Z'],
          Values: [10, 480],
          StatusCode: 'Complete',
        },
        {
          Id: 'lag2',
          Label: 'other',
          Timestamps: ['2026-11-25T10:00:00.000Z'],
          Values: [99999],
          StatusCode: 'Complete',
        },
      ],
      Messages: [],
    });
    const bad = await run([
      'get-metric-data',
      '--start-time',
      '2026-11-25T10:00:00Z',
      '--end-time',
      '2026-11-25T10:02:00Z',
      '--metric-data-queries',
      '[{"Id": "x", "Expression": "SUM(METRICS())"}]',
    ]);
    expect(bad.exitCode).toBe(252);
    expect(bad.stderr).toContain('Expression (metric math) is not supported');
  });

  it('list-metrics: the series held, as CloudWatch lists them', async () => {
    const result = await run([
      'list-metrics',
      '--metric-name',
      'ReplicationLag',
      '--dimensions',
      'Name=Broker,Value=b-1',
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      Metrics: [
        {
          Namespace: 'AWS/AmazonMQ',
          MetricName: 'ReplicationLag',
          Dimensions: expect.arrayContaining([{ Name: 'Broker', Value: 'b-1' }]) as unknown,
        },
      ],
    });
  });
});
