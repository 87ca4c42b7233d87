import { describe, expect, it } from 'vitest';
import { renderBrokerInfo, renderPrometheusText } from './prometheus-text.js';

describe('renderPrometheusText', () => {
  it('writes one family per metric, durations in seconds, labels escaped', () => {
    const text = renderPrometheusText([
      {
        metric: 'ReplicationLag',
        region: 'r',
        broker: 'b',
        destination: '',
        timestampMs: 5,
        value: 1500,
      },
      {
        metric: 'QueueSize',
        region: 'r',
        broker: 'b',
        destination: '/queue/a"b\\c',
        timestampMs: 5,
        value: 3,
      },
    ]);
    expect(text).toContain('# TYPE crdr_replication_lag_seconds gauge\n');
    // No explicit timestamps (issue 17): Prometheus stamps samples at scrape time.
    expect(text).toContain('crdr_replication_lag_seconds{region="r",broker="b"} 1.5\n');
    expect(text).toContain(
      'crdr_destination_messages{region="r",broker="b",destination="/queue/a\\"b\\\\c"} 3\n',
    );
  });

  it('writes crdr_replication_status with one series per status, 1 for the current one', () => {
    const text = renderPrometheusText(
      [],
      ['REPLICATING', 'PAUSED', 'STALLED'].map((status) => ({
        region: 'r',
        broker: 'b',
        status,
        timestampMs: 5,
        value: status === 'STALLED' ? 1 : 0,
      })),
    );
    expect(text).toContain('# TYPE crdr_replication_status gauge\n');
    expect(text).toContain('crdr_replication_status{region="r",broker="b",status="STALLED"} 1 5\n');
    expect(text).toContain('crdr_replication_status{region="r",broker="b",status="PAUSED"} 0 5\n');
  });

  it('is empty without samples', () => {
    expect(renderPrometheusText([])).toBe('');
    expect(renderBrokerInfo([])).toBe('');
  });

  it('writes one crdr_broker_info series per broker, joinable on broker', () => {
    expect(
      renderBrokerInfo([
        {
          region: 'region-b',
          brokerId: 'b-2',
          name: 'orders "replica"',
          role: 'REPLICA',
          replicationStatus: 'STALLED',
        },
      ]),
    ).toBe(
      [
        '# HELP crdr_broker_info A broker of the Region: its name, data replication role and replication status (always 1).',
        '# TYPE crdr_broker_info gauge',
        'crdr_broker_info{region="region-b",broker="b-2",broker_id="b-2",name="orders \\"replica\\"",role="REPLICA",replication_status="STALLED"} 1',
        '',
      ].join('\n'),
    );
  });
});
