import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { aggregate, parseMetricQuery, type MetricQueryInput } from './metric-query.js';

const input = (overrides: Partial<MetricQueryInput> = {}): MetricQueryInput => ({
  metricName: 'ReplicationLag',
  dimensions: [{ name: 'Broker', value: 'b-1' }],
  startTimeMs: 60_000,
  endTimeMs: 180_000,
  periodSeconds: 60,
  statistic: 'Average',
  ...overrides,
});

const badRequestField = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    if (hasErrorCode(error, 'BadRequest')) return error.details['field'] ?? '';
    throw error;
  }
  throw new Error('no error');
};

describe('parseMetricQuery', () => {
  it('names the field at fault', () => {
    expect(badRequestField(() => parseMetricQuery(input({ metricName: 'Nope' }), 0))).toBe(
      'MetricName',
    );
    expect(badRequestField(() => parseMetricQuery(input({ metricName: '' }), 0))).toBe(
      'MetricName',
    );
    expect(badRequestField(() => parseMetricQuery(input({ startTimeMs: 200_000 }), 0))).toBe(
      'EndTime',
    );
    expect(badRequestField(() => parseMetricQuery(input({ periodSeconds: 0 }), 0))).toBe('Period');
    // Three days in one-minute periods: more datapoints than one query may ask for.
    expect(
      badRequestField(() =>
        parseMetricQuery(input({ startTimeMs: 1, endTimeMs: 3 * 86_400_000 }), 0),
      ),
    ).toBe('Period');
    expect(badRequestField(() => parseMetricQuery(input({ statistic: 'p99' }), 0))).toBe(
      'Statistic',
    );
    expect(
      badRequestField(() =>
        parseMetricQuery(input({ dimensions: [{ name: 'Queue', value: 'x' }] }), 0),
      ),
    ).toBe('Dimensions');
    expect(badRequestField(() => parseMetricQuery(input({ metricName: 'QueueSize' }), 0))).toBe(
      'Dimensions',
    );
  });

  it('defaults the end to now and the start to an hour before', () => {
    const q = parseMetricQuery(input({ startTimeMs: 0, endTimeMs: 0 }), 7_200_000);
    expect(q.endTimeMs).toBe(7_200_000);
    expect(q.startTimeMs).toBe(3_600_000);
    expect(q.periodMs).toBe(60_000);
    expect(q.broker).toBe('b-1');
    expect(q.destination).toBe('');
  });
});

describe('aggregate', () => {
  const samples = [
    { timestampMs: 59_999, value: 1_000 }, // before the start: left out
    { timestampMs: 60_000, value: 10 },
    { timestampMs: 90_000, value: 20 },
    { timestampMs: 119_999, value: 60 },
    { timestampMs: 150_000, value: 5 },
    { timestampMs: 180_000, value: 1_000 }, // the end is exclusive
  ];
  const run = (statistic: string) =>
    aggregate(parseMetricQuery(input({ statistic }), 0), samples).map((d) => [
      d.timestampMs,
      d.value,
      d.unit,
    ]);

  it('computes each statistic per period, periods starting at the query start', () => {
    expect(run('Average')).toEqual([
      [60_000, 30, 'Milliseconds'],
      [120_000, 5, 'Milliseconds'],
    ]);
    expect(run('Maximum')).toEqual([
      [60_000, 60, 'Milliseconds'],
      [120_000, 5, 'Milliseconds'],
    ]);
    expect(run('Minimum')).toEqual([
      [60_000, 10, 'Milliseconds'],
      [120_000, 5, 'Milliseconds'],
    ]);
    expect(run('Sum')).toEqual([
      [60_000, 90, 'Milliseconds'],
      [120_000, 5, 'Milliseconds'],
    ]);
    expect(run('SampleCount')).toEqual([
      [60_000, 3, 'Count'],
      [120_000, 1, 'Count'],
    ]);
  });

  it('leaves out periods without samples', () => {
    expect(aggregate(parseMetricQuery(input(), 0), [])).toEqual([]);
  });
});
