import { loadProto, withRetry } from '@crdr/proto';
import { readCliInput } from '../args/cli-input.js';
import type { Document } from '../aws-shape.js';
import { UsageError } from '../errors.js';
import { defineVerb } from '../verb.js';
import { getMetricStatistics, statisticsFlags } from './get-metric-statistics.js';
import {
  checkNamespace,
  metricsDetails,
  metricsEndpoint,
  parseTime,
  statistics,
  toServiceDimension,
} from './metrics-common.js';

interface MetricDataQuery {
  readonly id: string;
  readonly label: string | undefined;
  readonly returnData: boolean;
  readonly metricName: string;
  readonly dimensions: { name: string; value: string }[];
  readonly period: number;
  readonly stat: string;
}

function fail(index: number, problem: string): never {
  throw new UsageError(`--metric-data-queries[${index}]: ${problem}`);
}

/**
 * `--metric-data-queries` as CloudWatch takes them: a JSON list (or file://PATH) of
 * `{"Id", "MetricStat": {"Metric": {"Namespace", "MetricName", "Dimensions": [{"Name", "Value"}]},
 * "Period", "Stat"}, "Label", "ReturnData"}`. Metric math (`Expression`) is not offered.
 */
export function parseMetricDataQueries(text: string): MetricDataQuery[] {
  let parsed: unknown;
  if (text.startsWith('file://')) {
    parsed = readCliInput(text);
  } else {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--metric-data-queries is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new UsageError('--metric-data-queries must be a JSON list of at least one query');
  }
  const ids = new Set<string>();
  return parsed.map((raw: unknown, index): MetricDataQuery => {
    const query = (raw ?? {}) as Record<string, unknown>;
    const id = query['Id'];
    if (typeof id !== 'string' || !/^[a-z][a-zA-Z0-9_]*$/.test(id)) {
      fail(index, 'Id must start with a lowercase letter and hold letters, digits and _');
    }
    if (ids.has(id)) fail(index, `Id ${id} is used twice`);
    ids.add(id);
    if (query['Expression'] !== undefined) {
      fail(index, 'Expression (metric math) is not supported; use MetricStat');
    }
    const stat = (query['MetricStat'] ?? undefined) as Record<string, unknown> | undefined;
    if (typeof stat !== 'object' || stat === null) fail(index, 'MetricStat is required');
    const metric = (stat['Metric'] ?? undefined) as Record<string, unknown> | undefined;
    if (typeof metric !== 'object' || metric === null) fail(index, 'MetricStat.Metric is required');
    checkNamespace(
      metric['Namespace'] as string | undefined,
      `--metric-data-queries[${index}].MetricStat.Metric.Namespace`,
    );
    const metricName = metric['MetricName'];
    if (typeof metricName !== 'string' || metricName.length === 0) {
      fail(index, 'MetricStat.Metric.MetricName is required');
    }
    const rawDimensions = metric['Dimensions'] ?? [];
    if (!Array.isArray(rawDimensions)) fail(index, 'MetricStat.Metric.Dimensions must be a list');
    const dimensions = rawDimensions.map((dimension: unknown) => {
      const { Name, Value } = (dimension ?? {}) as { Name?: unknown; Value?: unknown };
      if (typeof Name !== 'string' || typeof Value !== 'string') {
        fail(index, 'each dimension needs Name and Value');
      }
      return toServiceDimension(Name, Value, `--metric-data-queries[${index}]`);
    });
    const period = stat['Period'];
    if (typeof period !== 'number' || !Number.isInteger(period) || period < 1) {
      fail(index, 'MetricStat.Period must be a whole number of seconds, at least 1');
    }
    const statText = typeof stat['Stat'] === 'string' ? stat['Stat'].toLowerCase() : '';
    const statName = statistics.find((name) => name.toLowerCase() === statText);
    if (statName === undefined) {
      fail(index, `MetricStat.Stat must be one of ${statistics.join(', ')}`);
    }
    const label = query['Label'];
    return {
      id,
      label: typeof label === 'string' ? label : undefined,
      returnData: query['ReturnData'] !== false,
      metricName,
      dimensions,
      period,
      stat: statName,
    };
  });
}

export const getMetricData = defineVerb({
  name: 'get-metric-data',
  summary:
    "Several metrics over time, as aws cloudwatch get-metric-data, from the Region's metrics service.",
  details:
    `${metricsDetails} Prints {"MetricDataResults": [{"Id", "Label", "Timestamps", "Values", ` +
    '"StatusCode"}], "Messages"}, newest first unless --scan-by TimestampAscending. The older ' +
    'spelling (--broker-id --metric-name [--statistic] ...) still prints the shape of ' +
    'get-metric-statistics.',
  endpoint: metricsEndpoint,
  flags: {
    'metric-data-queries': {
      type: 'string',
      valueName: 'JSON|file://PATH',
      description:
        'The queries: [{"Id": "lag", "MetricStat": {"Metric": {"Namespace": "AWS/AmazonMQ", "MetricName": "ReplicationLag", "Dimensions": [{"Name": "Broker", "Value": "ID"}]}, "Period": 60, "Stat": "Maximum"}}].',
    },
    'scan-by': {
      type: 'string',
      choices: ['TimestampDescending', 'TimestampAscending'],
      description: 'The order of each result (default TimestampDescending, as CloudWatch).',
    },
    'max-datapoints': {
      type: 'integer',
      min: 1,
      valueName: 'N',
      description: 'The most datapoints returned per query.',
    },
    ...statisticsFlags,
  },
  examples: [
    `mqctl get-metric-data --start-time 2026-11-25T10:00:00Z --end-time 2026-11-25T11:00:00Z --metric-data-queries '[{"Id": "lag", "MetricStat": {"Metric": {"Namespace": "AWS/AmazonMQ", "MetricName": "ReplicationLag", "Dimensions": [{"Name": "Broker", "Value": "ID"}]}, "Period": 60, "Stat": "Maximum"}}]'`,
  ],
  async run(flags, context): Promise<Document> {
    const text = flags['metric-data-queries'];
    if (text === undefined) {
      if (flags['metric-name'] !== undefined) return getMetricStatistics(flags, context);
      throw new UsageError('missing required option --metric-data-queries');
    }
    for (const legacy of [
      'metric-name',
      'broker-id',
      'destination',
      'statistic',
      'statistics',
    ] as const) {
      if (flags[legacy] !== undefined) {
        throw new UsageError(
          `--${legacy} goes with get-metric-statistics, not --metric-data-queries`,
        );
      }
    }
    if (flags['start-time'] === undefined || flags['end-time'] === undefined) {
      throw new UsageError('--metric-data-queries needs --start-time and --end-time');
    }
    const startTimeMs = parseTime(flags['start-time'], 'start-time');
    const endTimeMs = parseTime(flags['end-time'], 'end-time');
    const queries = parseMetricDataQueries(text);
    const ascending = flags['scan-by'] === 'TimestampAscending';
    const metrics = context.connect(loadProto().crdr.metrics.v1.MetricsService);
    const results: Document[] = [];
    for (const query of queries) {
      const response = await withRetry(() =>
        metrics.getMetricData({
          metricName: query.metricName,
          dimensions: query.dimensions,
          startTimeMs: String(startTimeMs),
          endTimeMs: String(endTimeMs),
          periodSeconds: query.period,
          statistic: query.stat,
        }),
      );
      if (!query.returnData) continue;
      let points = [...response.datapoints].sort(
        (a, b) => Number(a.timestampMs) - Number(b.timestampMs),
      );
      if (!ascending) points.reverse();
      const limit = flags['max-datapoints'];
      const partial = limit !== undefined && points.length > limit;
      if (partial) points = points.slice(0, limit);
      results.push({
        Id: query.id,
        Label: query.label ?? response.label,
        Timestamps: points.map((point) => new Date(Number(point.timestampMs)).toISOString()),
        Values: points.map((point) => point.value),
        StatusCode: partial ? 'PartialData' : 'Complete',
      });
    }
    return { MetricDataResults: results, Messages: [] };
  },
});
