import { badRequest } from '@crdr/errors';
import { unaryHandler, type HandlerOptions, type metricsV1 } from '@crdr/proto';
import { findMetric } from '../../domain/metric-catalog.js';
import { aggregate, parseMetricQuery } from '../../domain/metric-query.js';
import type { MetricsRepository } from '../pg/metrics.repository.js';

export interface MetricsHandlersOptions extends HandlerOptions {
  readonly repository: MetricsRepository;
  readonly now: () => number;
}

/** MetricsService: CloudWatch-like queries over the stored series. */
export function createMetricsServiceHandlers(
  options: MetricsHandlersOptions,
): metricsV1.MetricsServiceHandlers {
  const { repository } = options;
  return {
    GetMetricData: unaryHandler<
      metricsV1.GetMetricDataRequest__Output,
      metricsV1.GetMetricDataResponse
    >(async (request) => {
      const query = parseMetricQuery(
        {
          metricName: request.metricName,
          dimensions: request.dimensions,
          startTimeMs: Number(request.startTimeMs),
          endTimeMs: Number(request.endTimeMs),
          periodSeconds: request.periodSeconds,
          statistic: request.statistic,
        },
        options.now(),
      );
      const samples = await repository.select({
        metric: query.metric.name,
        ...(query.broker === undefined ? {} : { broker: query.broker }),
        ...(query.region === undefined ? {} : { region: query.region }),
        destination: query.destination,
        fromMs: query.startTimeMs,
        toMs: query.endTimeMs,
      });
      return {
        label: query.metric.name,
        statistic: query.statistic,
        datapoints: aggregate(query, samples).map((d) => ({
          timestampMs: String(d.timestampMs),
          value: d.value,
          unit: d.unit,
        })),
      };
    }, options),
    ListMetrics: unaryHandler<metricsV1.ListMetricsRequest__Output, metricsV1.ListMetricsResponse>(
      async (request) => {
        if (request.metricName !== '' && findMetric(request.metricName) === undefined) {
          throw badRequest(`MetricName: unknown metric "${request.metricName}"`, {
            details: { field: 'MetricName' },
          });
        }
        const wanted = new Map(request.dimensions.map((d) => [d.name, d.value]));
        const series = await repository.listSeries(
          request.metricName === '' ? undefined : request.metricName,
        );
        return {
          metrics: series
            .filter(
              (s) =>
                (wanted.get('Broker') ?? s.broker) === s.broker &&
                (wanted.get('Region') ?? s.region) === s.region &&
                (wanted.get('Destination') ?? s.destination) === s.destination,
            )
            .map((s) => ({
              metricName: s.metric,
              unit: findMetric(s.metric)?.unit ?? 'None',
              dimensions: [
                { name: 'Broker', value: s.broker },
                ...(s.destination === '' ? [] : [{ name: 'Destination', value: s.destination }]),
                { name: 'Region', value: s.region },
              ],
            })),
        };
      },
      options,
    ),
  };
}
