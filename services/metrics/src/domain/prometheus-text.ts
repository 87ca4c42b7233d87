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
 * Durations are converted to seconds, Prometheus's base unit.
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
      lines.push(`${definition.prometheusName}{${labels}} ${value} ${sample.timestampMs}`);
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
