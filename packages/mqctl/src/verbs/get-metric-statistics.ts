import { loadProto, withRetry } from '@crdr/proto';
import type { Document } from '../aws-shape.js';
import { UsageError } from '../errors.js';
import type { VerbContext } from '../verb.js';
import { defineVerb } from '../verb.js';
import {
  checkNamespace,
  metricsDetails,
  metricsEndpoint,
  parseDimensions,
  parseTime,
  statistics,
  type Dimension,
} from './metrics-common.js';

type Statistic = (typeof statistics)[number];

/** The flags of the statistics shape, shared with get-metric-data's older spelling. */
export const statisticsFlags = {
  namespace: {
    type: 'string',
    valueName: 'NS',
    description: 'AWS/AmazonMQ (the only namespace kept; optional).',
  },
  'metric-name': {
    type: 'string',
    valueName: 'NAME',
    description: 'The metric, e.g. ReplicationLag.',
  },
  dimensions: {
    type: 'list',
    valueName: 'Name=Broker,Value=ID ...',
    description: 'As aws cloudwatch: Broker, and Queue or Topic for the per-destination metrics.',
  },
  'broker-id': {
    type: 'string',
    valueName: 'ID',
    description: 'The broker (the same as --dimensions Name=Broker,Value=ID).',
  },
  destination: {
    type: 'string',
    valueName: 'DEST',
    description: 'A destination (/queue/NAME or /topic/NAME), for the per-destination metrics.',
  },
  'start-time': {
    type: 'string',
    valueName: 'T',
    description: 'Start of the range, ISO 8601 or epoch seconds (default: an hour before the end).',
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
  statistics: {
    type: 'list',
    valueName: 'STAT ...',
    description: 'Average, Maximum, Minimum, Sum, SampleCount: one or more (default Average).',
  },
  statistic: {
    type: 'string',
    choices: [...statistics],
    description: 'One statistic (the older spelling of --statistics).',
  },
} as const;

export interface StatisticsFlags {
  readonly namespace?: string | undefined;
  readonly 'metric-name'?: string | undefined;
  readonly dimensions?: readonly string[] | undefined;
  readonly 'broker-id'?: string | undefined;
  readonly destination?: string | undefined;
  readonly 'start-time'?: string | undefined;
  readonly 'end-time'?: string | undefined;
  readonly period?: number | undefined;
  readonly statistics?: readonly string[] | undefined;
  readonly statistic?: string | undefined;
}

function chosenStatistics(flags: StatisticsFlags): Statistic[] {
  const asked = [...(flags.statistics ?? []), ...(flags.statistic ? [flags.statistic] : [])];
  if (asked.length === 0) return ['Average'];
  return asked.map((name) => {
    const match = statistics.find((s) => s.toLowerCase() === name.toLowerCase());
    if (match === undefined) {
      throw new UsageError(
        `bad value "${name}" for --statistics; allowed: ${statistics.join(', ')}`,
      );
    }
    return match;
  });
}

/**
 * CloudWatch's GetMetricStatistics: `{"Label", "Datapoints": [{"Timestamp", "<Statistic>"...,
 * "Unit"}]}`, one datapoint per period with samples, in time order.
 */
export async function getMetricStatistics(
  flags: StatisticsFlags,
  context: VerbContext,
): Promise<Document> {
  checkNamespace(flags.namespace, '--namespace');
  const metricName = flags['metric-name'];
  if (metricName === undefined) throw new UsageError('missing required option --metric-name');
  const dimensions: Dimension[] = parseDimensions(flags.dimensions ?? [], 'dimensions');
  if (flags['broker-id'] !== undefined) {
    dimensions.push({ name: 'Broker', value: flags['broker-id'] });
  }
  if (flags.destination !== undefined) {
    dimensions.push({ name: 'Destination', value: flags.destination });
  }
  if (!dimensions.some((dimension) => dimension.name === 'Broker')) {
    throw new UsageError('name the broker: --broker-id ID or --dimensions Name=Broker,Value=ID');
  }
  const endTimeMs =
    flags['end-time'] === undefined ? context.now() : parseTime(flags['end-time'], 'end-time');
  const startTimeMs =
    flags['start-time'] === undefined
      ? endTimeMs - 3600 * 1000
      : parseTime(flags['start-time'], 'start-time');
  const metrics = context.connect(loadProto().crdr.metrics.v1.MetricsService);
  let label = metricName;
  const byTimestamp = new Map<string, Record<string, string | number>>();
  for (const statistic of chosenStatistics(flags)) {
    const response = await withRetry(() =>
      metrics.getMetricData({
        metricName,
        dimensions,
        startTimeMs: String(startTimeMs),
        endTimeMs: String(endTimeMs),
        periodSeconds: flags.period ?? 60,
        statistic,
      }),
    );
    label = response.label;
    for (const datapoint of response.datapoints) {
      const point = byTimestamp.get(datapoint.timestampMs) ?? {
        Timestamp: new Date(Number(datapoint.timestampMs)).toISOString(),
      };
      point[response.statistic] = datapoint.value;
      point['Unit'] = datapoint.unit;
      byTimestamp.set(datapoint.timestampMs, point);
    }
  }
  const datapoints = [...byTimestamp.entries()]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, point]) => {
      // Unit last, as CloudWatch prints it.
      const { Unit, ...rest } = point;
      return { ...rest, Unit: Unit ?? 'None' };
    });
  return { Label: label, Datapoints: datapoints };
}

export const getMetricStatisticsVerb = defineVerb({
  name: 'get-metric-statistics',
  summary:
    "Statistics of one metric over time, as aws cloudwatch get-metric-statistics, from the Region's metrics service.",
  details: `${metricsDetails} Defaults: the last hour, 60 s periods, Average.`,
  endpoint: metricsEndpoint,
  flags: statisticsFlags,
  examples: [
    'mqctl get-metric-statistics --namespace AWS/AmazonMQ --metric-name ReplicationLag --dimensions Name=Broker,Value=ID --statistics Maximum Average --period 60',
    'mqctl get-metric-statistics --broker-id ID --metric-name QueueSize --destination /queue/orders --statistic Maximum --period 300',
  ],
  run: getMetricStatistics,
});
