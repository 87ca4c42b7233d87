import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { runtimeMetrics } from '@crdr/service';
import { metricCatalog } from '../../services/metrics/src/domain/metric-catalog.js';
import { brokerInfoMetric } from '../../services/metrics/src/domain/prometheus-text.js';

/*
 * deploy/observability: every series the Grafana dashboard and the alert rules query is one the
 * services export (the metrics service's catalog, crdr_broker_info, prom-client's runtime
 * metrics), so a renamed metric cannot leave a dashboard panel or an alert silently empty.
 * (`promtool check rules` checks the rules' syntax in CI: scripts/check-observability.sh.)
 */

const dir = new URL('../../deploy/observability/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

const keywords = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  // Aggregation operators, which may stand before `by (...)` rather than their `(`.
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);

/** The series names a PromQL expression reads (not functions, labels, keywords or ranges). */
export function seriesNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, Grafana variables)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const [whole, call] = match;
    const name = whole.replace(/\s*\($/, '');
    if (call !== undefined || keywords.has(name) || /^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

function knownSeries(): Set<string> {
  const known = new Set<string>([
    ...metricCatalog.map((metric) => metric.prometheusName),
    brokerInfoMetric,
  ]);
  for (const metric of runtimeMetrics('test').getMetricsAsArray()) {
    known.add(metric.name);
    // Typed as a numeric enum, but prom-client puts the type's name there.
    const type = String(metric.type);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_sum', '_count', '_bucket']) known.add(`${metric.name}${suffix}`);
    }
  }
  return known;
}

interface RuleGroups {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}

describe('deploy/observability', () => {
  it('reads series names out of PromQL', () => {
    expect(
      seriesNames(
        'max by (region, broker) (crdr_broker_info{replication_status="STALLED"}) == 1 or (a_b > 300 and on (region) rate(c_total[5m]) > 0)',
      ).sort(),
    ).toEqual(['a_b', 'c_total', 'crdr_broker_info']);
  });

  it('the alert rules query only series the services export, and cover what operators need', () => {
    const rules = parse(read('crdr.rules.yml')) as RuleGroups;
    const known = knownSeries();
    const alerts = rules.groups.flatMap((group) => group.rules);
    for (const rule of alerts) {
      expect(seriesNames(rule.expr).filter((name) => !known.has(name))).toEqual([]);
      expect(seriesNames(rule.expr).length).toBeGreaterThan(0);
    }
    expect(alerts.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'CrdrReplicationStalled',
        'CrdrReplicationLagHigh',
        'CrdrQueueSizeGrowing',
        'CrdrPromotionStuck',
        'CrdrDivergentTailPending',
        'CrdrBrokerWithoutStandby',
      ]),
    );
  });

  it('the PrometheusRule carries the same groups as crdr.rules.yml; the ServiceMonitor scrapes the metrics service', () => {
    const documents = parseAllDocuments(read('servicemonitor.yaml')).map(
      (document) => document.toJS() as Record<string, unknown>,
    );
    const monitor = documents.find((document) => document['kind'] === 'ServiceMonitor');
    const rule = documents.find((document) => document['kind'] === 'PrometheusRule');
    expect(monitor).toMatchObject({
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/component': 'metrics' } },
        endpoints: [{ port: 'http', path: '/metrics' }],
      },
    });
    expect((rule?.['spec'] as RuleGroups).groups).toEqual(
      (parse(read('crdr.rules.yml')) as RuleGroups).groups,
    );
  });

  it("the dashboard's queries name only series the services export", () => {
    const dashboard = JSON.parse(read('grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const known = knownSeries();
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        expect({
          panel: panel.title,
          unknown: seriesNames(target.expr).filter((n) => !known.has(n)),
        }).toEqual({
          panel: panel.title,
          unknown: [],
        });
      }
    }
  });
});
