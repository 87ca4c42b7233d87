import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { dropDatabase } from '@crdr/store';
import { hostPort, startServiceProcess, waitFor, type ServiceProcess } from '@crdr/testing';
import { startTwoRegions, type TwoRegions } from '../support/two-regions.js';

// The metrics service (a real process) scraping a real primary, replica and replicator over
// gRPC, with the replicator paused and resumed: ReplicationLag and the queue sizes behave as
// docs/architecture.md ("Metrics") defines them, /metrics parses with a Prometheus parser, and
// GetMetricData answers from the stored series.

type MetricsClient = ClientOf<ProtoGrpcType['crdr']['metrics']['v1']['MetricsService']>;

const address = (endpoint: string): string => {
  const { host, port } = hostPort(endpoint);
  return `${host}:${port}`;
};

describe('metrics of a replicated pair', () => {
  let regions: TwoRegions;
  let metrics: ServiceProcess;
  let client: MetricsClient;
  let metricsDbUrl: string;
  const queue = '/queue/metrics.lag';
  const startedMs = Date.now();

  beforeAll(async () => {
    // Batches of 5: a resume followed at once by a pause leaves events pending.
    regions = await startTwoRegions({
      name: 'metrics',
      replicatorEnv: { REPLICATOR_BATCH_MAX_EVENTS: '5' },
    });
    await regions.enableReplication();
    await regions.regionA.broker.send({
      destination: queue,
      body: Buffer.from('0'),
      persistent: true,
    });
    await regions.waitForLagZero();

    // A database that does not exist yet: the service creates and migrates it.
    const base = new URL(process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    base.pathname = `/metrics_${randomBytes(6).toString('hex')}`;
    metricsDbUrl = base.toString();
    const admin = { adminUsername: 'admin', adminPassword: 'admin' };
    metrics = await startServiceProcess({
      entry: 'services/metrics/src/main.ts',
      env: {
        METRICS_REGION: 'region-b',
        METRICS_DB_URL: metricsDbUrl,
        METRICS_INTERVAL_MS: '200',
        METRICS_HTTP_PORT: '0',
        METRICS_GRPC_PORT: '0',
        LOG_LEVEL: 'warn',
        METRICS_TARGETS: JSON.stringify([
          {
            brokerId: regions.ids.primary,
            region: 'region-a',
            dataReplicationRole: 'PRIMARY',
            brokerGrpcEndpoints: [address(regions.regionA.primary.endpoints['grpc']!)],
            ...admin,
          },
          {
            brokerId: regions.ids.replica,
            region: 'region-b',
            dataReplicationRole: 'REPLICA',
            brokerGrpcEndpoints: [address(regions.regionB.replica.endpoints['grpc']!)],
            replicatorGrpcEndpoint: address(regions.replicator.process.endpoints['grpc']!),
            ...admin,
          },
        ]),
      },
    });
    client = createClient(loadProto().crdr.metrics.v1.MetricsService, metrics.endpoints['grpc']!);
  });

  afterAll(async () => {
    client?.close();
    await metrics?.kill('SIGTERM');
    await regions?.stop();
    if (metricsDbUrl !== undefined) await dropDatabase(metricsDbUrl).catch(() => undefined);
  });

  const scrape = async (): Promise<PrometheusFamily[]> => {
    const response = await fetch(`${metrics.endpoints['http']!}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusTextFormat(await response.text());
  };

  /** The latest value of a family for one broker (and destination), from /metrics. */
  const latest = async (
    family: string,
    broker: string,
    destination?: string,
  ): Promise<number | undefined> => {
    const found = (await scrape()).find((f) => f.name === family);
    const sample = found?.metrics.find(
      (m) => m.labels?.['broker'] === broker && m.labels['destination'] === destination,
    );
    return sample === undefined ? undefined : Number(sample.value);
  };

  const until = async (
    family: string,
    broker: string,
    accept: (value: number) => boolean,
    what: string,
  ): Promise<number> => {
    let value: number | undefined;
    await waitFor(
      async () => {
        value = await latest(family, broker);
        return value !== undefined && accept(value);
      },
      `${family} of ${broker} ${what} (last: ${value})`,
      30_000,
      100,
    );
    return value!;
  };

  /** The status `crdr_replication_status` shows for a broker (the one whose series is 1). */
  const statusOf = async (broker: string): Promise<string | undefined> => {
    const found = (await scrape()).find((f) => f.name === 'crdr_replication_status');
    const series = found?.metrics.filter((m) => m.labels?.['broker'] === broker) ?? [];
    return series.find((m) => Number(m.value) === 1)?.labels?.['status'];
  };

  const untilStatus = async (broker: string, ...accepted: string[]): Promise<void> => {
    let status: string | undefined;
    await waitFor(
      async () => {
        status = await statusOf(broker);
        return status !== undefined && accepted.includes(status);
      },
      `crdr_replication_status of ${broker} in ${accepted.join(' or ')} (last: ${status})`,
      60_000,
      200,
    );
  };

  it('reports lag 0 and nothing queued while the replica keeps up', async () => {
    await until('crdr_replication_lag_seconds', regions.ids.replica, (v) => v === 0, 'is 0');
    await until('crdr_replication_queue_size_events', regions.ids.primary, (v) => v === 0, 'is 0');
    await until('crdr_total_replication_lag_seconds', regions.ids.primary, (v) => v === 0, 'is 0');
    await untilStatus(regions.ids.replica, 'REPLICATING');
    await untilStatus(regions.ids.primary, 'REPLICATING');
    const families = await scrape();
    const connections = families.find((f) => f.name === 'crdr_broker_connections');
    expect(connections?.type).toBe('GAUGE');
    expect(connections?.metrics.map((m) => m.labels?.['region']).sort()).toEqual([
      'region-a',
      'region-b',
    ]);
    const enqueued = families.find((f) => f.name === 'crdr_destination_enqueued_messages_total');
    expect(enqueued?.type).toBe('COUNTER');
  });

  it('counts the unacknowledged events and shows the lag of the paused replica, then falls to 0', async () => {
    const { replicator } = regions;
    await replicator.client.pause({});
    const sent = 100;
    for (let i = 1; i <= sent; i++) {
      await regions.regionA.broker.send({
        destination: queue,
        body: Buffer.from(String(i)),
        persistent: true,
      });
    }
    const sentAtMs = Date.now();
    // Every SEND is one event of the log, none acknowledged while the replicator is paused.
    await until(
      'crdr_replication_queue_size_events',
      regions.ids.primary,
      (v) => v >= sent,
      `counts the ${sent} unacknowledged events`,
    );
    await until(
      'crdr_replication_queue_size_events',
      regions.ids.replica,
      (v) => v >= sent,
      `counts the ${sent} events not applied`,
    );
    expect(await latest('crdr_destination_messages', regions.ids.primary, queue)).toBe(sent + 1);
    // Paused, the wait since the last apply grows.
    const waitedMs = 1_500;
    await until(
      'crdr_replica_wait_time_seconds',
      regions.ids.replica,
      (v) => v * 1000 >= waitedMs,
      `grows past ${waitedMs} ms`,
    );
    // Both lags are "how far behind": the age of the oldest event not applied. Paused, they grow
    // every second (they used to hold the latency of the last applied event, flat while paused).
    const pausedLag = await until(
      'crdr_replication_lag_seconds',
      regions.ids.replica,
      (v) => v * 1000 >= waitedMs,
      `grows past ${waitedMs} ms while paused`,
    );
    await until(
      'crdr_replication_lag_seconds',
      regions.ids.replica,
      (v) => v >= pausedLag + 1,
      `keeps growing while paused (from ${pausedLag} s)`,
    );
    const pausedTotal = await until(
      'crdr_total_replication_lag_seconds',
      regions.ids.primary,
      (v) => v * 1000 >= waitedMs,
      `grows past ${waitedMs} ms on the primary while the replica is paused`,
    );
    await until(
      'crdr_total_replication_lag_seconds',
      regions.ids.primary,
      (v) => v >= pausedTotal + 1,
      `keeps growing on the primary (from ${pausedTotal} s)`,
    );
    await untilStatus(regions.ids.replica, 'PAUSED');
    await untilStatus(regions.ids.primary, 'REPLICATING', 'STALLED');

    // Let one batch through: the events that waited are applied late while more are pending.
    await sleep(Math.max(0, sentAtMs + waitedMs - Date.now()));
    const before = await replicator.client.getStatus({});
    await replicator.client.resume({});
    await replicator.client.waitForSequence({
      sequence: String(BigInt(before.appliedSequence) + 1n),
      timeoutMs: 20_000,
    });
    await replicator.client.pause({});
    const status = await replicator.client.getStatus({});
    expect(BigInt(status.lastKnownSequence)).toBeGreaterThan(BigInt(status.appliedSequence));
    // Events still wait, the oldest of them for longer than the ones applied waited.
    await until(
      'crdr_replication_lag_seconds',
      regions.ids.replica,
      (v) => v * 1000 >= waitedMs,
      'stays at least as long as the applied events waited while events are pending',
    );
    // The queue's own lag (TP - TC of the last applied event that changed it, unchanged in
    // meaning): that event is one of those that waited.
    let queueLag: number | undefined;
    await waitFor(
      async () => {
        queueLag = await latest(
          'crdr_destination_replication_lag_seconds',
          regions.ids.replica,
          queue,
        );
        return queueLag !== undefined && queueLag * 1000 >= waitedMs;
      },
      `the lag of the queue shows the events that waited (last: ${queueLag})`,
      30_000,
      100,
    );

    await replicator.client.resume({});
    await regions.waitForLagZero();
    await until('crdr_replication_lag_seconds', regions.ids.replica, (v) => v === 0, 'falls to 0');
    await waitFor(
      async () =>
        (await latest('crdr_destination_replication_lag_seconds', regions.ids.replica, queue)) ===
        0,
      'the lag of the queue falling to 0',
      30_000,
      100,
    );
    await until(
      'crdr_replication_queue_size_events',
      regions.ids.primary,
      (v) => v === 0,
      'falls to 0',
    );
    await until(
      'crdr_total_replication_lag_seconds',
      regions.ids.primary,
      (v) => v === 0,
      'falls to 0',
    );
    await untilStatus(regions.ids.replica, 'REPLICATING');
    await untilStatus(regions.ids.primary, 'REPLICATING');

    // The stored series answers GetMetricData.
    const maximum = await client.getMetricData({
      metricName: 'ReplicationLag',
      dimensions: [{ name: 'Broker', value: regions.ids.replica }],
      startTimeMs: String(startedMs),
      endTimeMs: String(Date.now() + 1_000),
      periodSeconds: 3600,
      statistic: 'Maximum',
    });
    expect(maximum.label).toBe('ReplicationLag');
    expect(maximum.datapoints).toHaveLength(1);
    expect(maximum.datapoints[0]!.value).toBeGreaterThanOrEqual(waitedMs);
    expect(maximum.datapoints[0]!.unit).toBe('Milliseconds');
    const minimum = await client.getMetricData({
      metricName: 'ReplicationLag',
      dimensions: [{ name: 'Broker', value: regions.ids.replica }],
      startTimeMs: String(startedMs),
      endTimeMs: String(Date.now() + 1_000),
      periodSeconds: 3600,
      statistic: 'Minimum',
    });
    expect(minimum.datapoints[0]!.value).toBe(0);
    const listed = await client.listMetrics({ metricName: 'QueueSize' });
    expect(
      listed.metrics.map((m) => m.dimensions.find((d) => d.name === 'Destination')?.value),
    ).toContain(queue);
  });

  it('answers /healthz and refuses bad queries naming the field', async () => {
    const health = await fetch(`${metrics.endpoints['http']!}/healthz`);
    expect(health.status).toBe(200);
    await expect(
      client.getMetricData({ metricName: 'Lag', periodSeconds: 60, statistic: 'Average' }),
    ).rejects.toSatisfy(
      (e: unknown) => hasErrorCode(e, 'BadRequest') && /MetricName/.test(e.message),
    );
    await expect(
      client.getMetricData({
        metricName: 'ReplicationLag',
        periodSeconds: 0,
        statistic: 'Average',
      }),
    ).rejects.toSatisfy((e: unknown) => hasErrorCode(e, 'BadRequest') && /Period/.test(e.message));
    await expect(
      client.getMetricData({
        metricName: 'ReplicationLag',
        startTimeMs: '2000',
        endTimeMs: '1000',
        periodSeconds: 60,
        statistic: 'Average',
      }),
    ).rejects.toSatisfy((e: unknown) => hasErrorCode(e, 'BadRequest') && /EndTime/.test(e.message));
  });

  it('keeps the replica lag series while its replicator is down, measured from the primary, and shows STALLED', async () => {
    await regions.killReplicator();
    await untilStatus(regions.ids.replica, 'STALLED');
    for (let i = 1; i <= 5; i++) {
      await regions.regionA.broker.send({
        destination: queue,
        body: Buffer.from(`while down ${i}`),
        persistent: true,
      });
    }
    // The series stays, from the primary's side: the age of the oldest event not acknowledged.
    const first = await until(
      'crdr_replication_lag_seconds',
      regions.ids.replica,
      (v) => v > 0,
      'present and above 0 while the replicator is down',
    );
    await until(
      'crdr_replication_lag_seconds',
      regions.ids.replica,
      (v) => v >= first + 1,
      `keeps growing while the replicator is down (from ${first} s)`,
    );
    // No acknowledgement for 10 s: the primary's side sees the stall too.
    await untilStatus(regions.ids.primary, 'STALLED');
    await regions.restartReplicator();
    await regions.waitForLagZero();
    await untilStatus(regions.ids.primary, 'REPLICATING');
  });
});
