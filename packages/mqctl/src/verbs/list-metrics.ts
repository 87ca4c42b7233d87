import { loadProto, withRetry } from '@crdr/proto';
import { defineVerb } from '../verb.js';
import {
  checkNamespace,
  metricsEndpoint,
  namespace,
  parseDimensions,
  toAwsDimension,
} from './metrics-common.js';

export const listMetrics = defineVerb({
  name: 'list-metrics',
  summary: "The metrics the Region's metrics service holds, as aws cloudwatch list-metrics.",
  details:
    'Prints {"Metrics": [{"Namespace", "MetricName", "Dimensions": [{"Name", "Value"}]}]}; a Destination dimension holds /queue/NAME or /topic/NAME.',
  endpoint: metricsEndpoint,
  flags: {
    namespace: {
      type: 'string',
      valueName: 'NS',
      description: 'AWS/AmazonMQ (the only namespace kept; optional).',
    },
    'metric-name': {
      type: 'string',
      valueName: 'NAME',
      description: 'Only this metric.',
    },
    dimensions: {
      type: 'list',
      valueName: 'Name=Broker,Value=ID ...',
      description: 'Only the series with these dimensions (Broker, Queue, Topic, Destination).',
    },
  },
  examples: [
    'mqctl list-metrics --namespace AWS/AmazonMQ --metric-name ReplicationLag',
    'mqctl list-metrics --dimensions Name=Broker,Value=ID --query "Metrics[].MetricName" --output text',
  ],
  async run(flags, context) {
    checkNamespace(flags.namespace, '--namespace');
    const metrics = context.connect(loadProto().crdr.metrics.v1.MetricsService);
    const response = await withRetry(() =>
      metrics.listMetrics({
        metricName: flags['metric-name'] ?? '',
        dimensions: parseDimensions(flags.dimensions ?? [], 'dimensions'),
      }),
    );
    return {
      Metrics: response.metrics.map((metric) => ({
        Namespace: namespace,
        MetricName: metric.metricName,
        Dimensions: metric.dimensions.map(toAwsDimension),
      })),
    };
  },
});
