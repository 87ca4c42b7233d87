import {
  findMetric,
  metricCatalog,
  replicationStatusFamily,
  type Sample,
  type StatusSample,
} from './metric-catalog.js';

const escapeLabel = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/**
 * The latest samples in the Prometheus text exposition format (version 0.0.4): one family per
 * metric with HELP and TYPE, labels `region`, `broker` and (per destination) `destination`.
 * Durations are converted to seconds, Prometheus's base unit. Samples carry no timestamp, as an
 * exporter's should not: Prometheus stamps them when it scrapes (an explicit timestamp makes
 * stale series linger and breaks staleness handling).
 */
export function renderPrometheusText(
  samples: readonly Sample[],
  statuses: readonly StatusSample[] = [],
): string {
  const byMetric = new Map<string, Sample[]>();
  for (const sample of samples) {
    const list = byMetric.get(sample.metric);
    if (list === undefined) byMetric.set(sample.metric, [sample]);
    else list.push(sample);
  }
  const lines: string[] = [];
  for (const definition of metricCatalog) {
    const list = byMetric.get(definition.name);
    if (list === undefined || findMetric(definition.name) === undefined) continue;
    lines.push(`# HELP ${definition.prometheusName} ${escapeHelp(definition.help)}`);
    lines.push(`# TYPE ${definition.prometheusName} ${definition.prometheusType}`);
    for (const sample of list) {
      const labels = [
        `region="${escapeLabel(sample.region)}"`,
        `broker="${escapeLabel(sample.broker)}"`,
        ...(sample.destination === '' ? [] : [`destination="${escapeLabel(sample.destination)}"`]),
      ].join(',');
      const value = definition.unit === 'Milliseconds' ? sample.value / 1000 : sample.value;
      lines.push(`${definition.prometheusName}{${labels}} ${value}`);
    }
  }
  if (statuses.length > 0) {
    lines.push(
      `# HELP ${replicationStatusFamily.name} ${escapeHelp(replicationStatusFamily.help)}`,
    );
    lines.push(`# TYPE ${replicationStatusFamily.name} gauge`);
    for (const sample of statuses) {
      const labels = [
        `region="${escapeLabel(sample.region)}"`,
        `broker="${escapeLabel(sample.broker)}"`,
        `status="${escapeLabel(sample.status)}"`,
      ].join(',');
      lines.push(
        `${replicationStatusFamily.name}{${labels}} ${sample.value} ${sample.timestampMs}`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** What `crdr_broker_info` says of one broker: who it is, its role and replication status. */
export interface BrokerInfo {
  readonly region: string;
  readonly brokerId: string;
  readonly name: string;
  /** PRIMARY, REPLICA, or NONE for a broker that is not paired. */
  readonly role: string;
  /** As describe-broker shows it (REPLICATING, PAUSED, STALLED...), NONE unpaired, UNKNOWN unread. */
  readonly replicationStatus: string;
}

export const brokerInfoMetric = 'crdr_broker_info';

/**
 * `crdr_broker_info{region, broker, broker_id, name, role, replication_status} 1`, one series per
 * broker: joined to the other series on `broker` (`* on(broker) group_left(name, role)`) it
 * gives them the broker's name and role.
 */
export function renderBrokerInfo(brokers: readonly BrokerInfo[]): string {
  if (brokers.length === 0) return '';
  const lines = [
    `# HELP ${brokerInfoMetric} A broker of the Region: its name, data replication role and replication status (always 1).`,
    `# TYPE ${brokerInfoMetric} gauge`,
  ];
  for (const broker of brokers) {
    const labels = [
      ['region', broker.region],
      ['broker', broker.brokerId],
      ['broker_id', broker.brokerId],
      ['name', broker.name],
      ['role', broker.role],
      ['replication_status', broker.replicationStatus],
    ]
      .map(([key, value]) => `${key}="${escapeLabel(value ?? '')}"`)
      .join(',');
    lines.push(`${brokerInfoMetric}{${labels}} 1`);
  }
  return `${lines.join('\n')}\n`;
}
