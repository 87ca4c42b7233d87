import { badRequest } from '@crdr/errors';
import { findMetric, type MetricDefinition, type MetricUnit } from './metric-catalog.js';

export const statistics = ['Average', 'Maximum', 'Minimum', 'Sum', 'SampleCount'] as const;
export type Statistic = (typeof statistics)[number];

export const dimensionNames = ['Broker', 'Destination', 'Region'] as const;
export type DimensionName = (typeof dimensionNames)[number];

/** The most datapoints one query may ask for (CloudWatch's GetMetricStatistics limit). */
export const maxDatapoints = 1440;
/** The time range of a query when no start is given. */
export const defaultRangeMs = 3600 * 1000;

export interface MetricQueryInput {
  readonly metricName: string;
  readonly dimensions: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** 0: `defaultRangeMs` before the end. */
  readonly startTimeMs: number;
  /** 0: now. */
  readonly endTimeMs: number;
  readonly periodSeconds: number;
  readonly statistic: string;
}

/** A validated query: which series, which samples, how they are summed up. */
export interface MetricQuery {
  readonly metric: MetricDefinition;
  readonly broker?: string;
  readonly region?: string;
  /** '' selects the broker-level series (no Destination dimension). */
  readonly destination: string;
  readonly startTimeMs: number;
  readonly endTimeMs: number;
  readonly periodMs: number;
  readonly statistic: Statistic;
}

const isStatistic = (value: string): value is Statistic =>
  (statistics as readonly string[]).includes(value);
const isDimensionName = (value: string): value is DimensionName =>
  (dimensionNames as readonly string[]).includes(value);

/** Checks a GetMetricData request; a BadRequest names the field at fault. */
export function parseMetricQuery(input: MetricQueryInput, nowMs: number): MetricQuery {
  const fail = (field: string, message: string): never => {
    throw badRequest(`${field}: ${message}`, { details: { field } });
  };
  if (input.metricName === '') fail('MetricName', 'is required');
  const metric = findMetric(input.metricName);
  if (metric === undefined) fail('MetricName', `unknown metric "${input.metricName}"`);
  if (!isStatistic(input.statistic)) {
    fail(
      'Statistic',
      input.statistic === ''
        ? `is required (one of ${statistics.join(', ')})`
        : `unknown statistic "${input.statistic}" (one of ${statistics.join(', ')})`,
    );
  }
  if (!Number.isInteger(input.periodSeconds) || input.periodSeconds < 1)
    fail('Period', `must be a whole number of seconds, at least 1 (got ${input.periodSeconds})`);
  const endTimeMs = input.endTimeMs === 0 ? nowMs : input.endTimeMs;
  const startTimeMs = input.startTimeMs === 0 ? endTimeMs - defaultRangeMs : input.startTimeMs;
  if (startTimeMs < 0) fail('StartTime', 'must not be before 1970');
  if (endTimeMs <= startTimeMs) fail('EndTime', 'must be after StartTime');
  const periodMs = input.periodSeconds * 1000;
  if (Math.ceil((endTimeMs - startTimeMs) / periodMs) > maxDatapoints)
    fail('Period', `asks for more than ${maxDatapoints} datapoints over this time range`);
  let broker: string | undefined;
  let region: string | undefined;
  let destination = '';
  const seen = new Set<string>();
  for (const dimension of input.dimensions) {
    if (!isDimensionName(dimension.name))
      fail(
        'Dimensions',
        `unknown dimension "${dimension.name}" (one of ${dimensionNames.join(', ')})`,
      );
    if (seen.has(dimension.name)) fail('Dimensions', `"${dimension.name}" is given twice`);
    seen.add(dimension.name);
    if (dimension.value === '') fail('Dimensions', `"${dimension.name}" has no value`);
    if (dimension.name === 'Broker') broker = dimension.value;
    else if (dimension.name === 'Region') region = dimension.value;
    else destination = dimension.value;
  }
  const definition = metric!;
  if (definition.level === 'destination' && destination === '')
    fail('Dimensions', `${definition.name} is kept per destination: give a Destination`);
  if (definition.level === 'broker' && destination !== '')
    fail('Dimensions', `${definition.name} has no Destination dimension`);
  return {
    metric: definition,
    ...(broker === undefined ? {} : { broker }),
    ...(region === undefined ? {} : { region }),
    destination,
    startTimeMs,
    endTimeMs,
    periodMs,
    statistic: input.statistic as Statistic,
  };
}

export interface Datapoint {
  readonly timestampMs: number;
  readonly value: number;
  readonly unit: MetricUnit;
}

/**
 * One datapoint per period that holds samples, in time order: periods start at the query's
 * start; a sample at `t` belongs to the period holding `t` (start inclusive, end exclusive).
 */
export function aggregate(
  query: MetricQuery,
  samples: ReadonlyArray<{ readonly timestampMs: number; readonly value: number }>,
): Datapoint[] {
  const buckets = new Map<number, { sum: number; count: number; min: number; max: number }>();
  for (const sample of samples) {
    if (sample.timestampMs < query.startTimeMs || sample.timestampMs >= query.endTimeMs) continue;
    const index = Math.floor((sample.timestampMs - query.startTimeMs) / query.periodMs);
    const bucket = buckets.get(index);
    if (bucket === undefined) {
      buckets.set(index, { sum: sample.value, count: 1, min: sample.value, max: sample.value });
    } else {
      bucket.sum += sample.value;
      bucket.count += 1;
      if (sample.value < bucket.min) bucket.min = sample.value;
      if (sample.value > bucket.max) bucket.max = sample.value;
    }
  }
  const unit: MetricUnit = query.statistic === 'SampleCount' ? 'Count' : query.metric.unit;
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, b]) => ({
      timestampMs: query.startTimeMs + index * query.periodMs,
      value:
        query.statistic === 'Average'
          ? b.sum / b.count
          : query.statistic === 'Maximum'
            ? b.max
            : query.statistic === 'Minimum'
              ? b.min
              : query.statistic === 'Sum'
                ? b.sum
                : b.count,
      unit,
    }));
}
