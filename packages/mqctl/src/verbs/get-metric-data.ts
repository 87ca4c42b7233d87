import { loadProto, withRetry } from '@crdr/proto';
import { UsageError } from '../errors.js';
import { defineVerb, type VerbEndpoint } from '../verb.js';
import { brokerIdFlag } from './common-flags.js';

/** The Region's metrics service (gRPC MetricsService), `metricsGrpc` in .stack/endpoints.json. */
export const metricsEndpoint: VerbEndpoint = { key: 'metricsGrpc', label: 'metrics service' };

const statistics = ['Average', 'Maximum', 'Minimum', 'Sum', 'SampleCount'] as const;

/**
 * A time as `aws cloudwatch` takes it: ISO 8601 (`2026-11-25T22:00:00Z`) or seconds since the
 * epoch. Errors name the flag.
 */
export function parseTime(value: string, flag: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${flag}: "${value}" is not a time (ISO 8601 such as 2026-11-25T22:00:00Z, or epoch seconds)`,
    );
  }
  return ms;
}

export const getMetricData = defineVerb({
  name: 'get-metric-data',
  summary:
    "One statistic of a broker's metric over time (CloudWatch-like), from the Region's metrics service.",
  details:
    'Metrics: ReplicationLag, TotalReplicationLag, PrimaryWaitTime, ReplicaWaitTime (ms), ' +
    'ReplicationQueueSize (the CRDR QueueSize), CurrentConnectionsCount, TotalMessageCount, ' +
    'TotalEnqueueCount, TotalDequeueCount, TotalConsumerCount, TotalProducerCount; per ' +
    'destination (with --destination): QueueSize, EnqueueCount, DequeueCount, DispatchCount, ' +
    'ConsumerCount, ProducerCount, DestinationReplicationLag. Defaults: the last hour, 60 s ' +
    'periods, Average.',
  endpoint: metricsEndpoint,
  flags: {
    'broker-id': brokerIdFlag,
    'metric-name': {
      type: 'string',
      required: true,
      valueName: 'NAME',
      description: 'The metric, e.g. ReplicationLag.',
    },
    destination: {
      type: 'string',
      valueName: 'DEST',
      description: 'A destination (/queue/NAME or /topic/NAME), for the per-destination metrics.',
    },
    'start-time': {
      type: 'string',
      valueName: 'T',
      description:
        'Start of the range, ISO 8601 or epoch seconds (default: an hour before the end).',
    },
    'end-time': {
      type: 'string',
      valueName: 'T',
      description: 'End of the range, ISO 8601 or epoch seconds (default: now).',
    },
    period: {
      type: 'integer',
      min: 1,
      valueName: 'S',
      description: 'Seconds per datapoint (default 60).',
    },
    statistic: {
      type: 'string',
      choices: [...statistics],
      description: 'Average, Maximum, Minimum, Sum or SampleCount (default Average).',
    },
  },
  examples: [
    'mqctl get-metric-data --broker-id ID --metric-name ReplicationLag',
    'mqctl get-metric-data --broker-id ID --metric-name QueueSize --destination /queue/orders --statistic Maximum --period 300',
  ],
  async run(flags, context) {
    const endTimeMs =
      flags['end-time'] === undefined ? context.now() : parseTime(flags['end-time'], 'end-time');
    const startTimeMs =
      flags['start-time'] === undefined
        ? endTimeMs - 3600 * 1000
        : parseTime(flags['start-time'], 'start-time');
    // Choices match case-insensitively: send the canonical spelling.
    const statistic =
      statistics.find((s) => s.toLowerCase() === (flags.statistic ?? 'Average').toLowerCase()) ??
      'Average';
    const metrics = context.connect(loadProto().crdr.metrics.v1.MetricsService);
    const response = await withRetry(() =>
      metrics.getMetricData({
        metricName: flags['metric-name'],
        dimensions: [
          { name: 'Broker', value: flags['broker-id'] },
          ...(flags.destination === undefined
            ? []
            : [{ name: 'Destination', value: flags.destination }]),
        ],
        startTimeMs: String(startTimeMs),
        endTimeMs: String(endTimeMs),
        periodSeconds: flags.period ?? 60,
        statistic,
      }),
    );
    return {
      Label: response.label,
      Datapoints: response.datapoints.map((d) => ({
        Timestamp: new Date(Number(d.timestampMs)).toISOString(),
        [response.statistic]: d.value,
        Unit: d.unit,
      })),
    };
  },
});
