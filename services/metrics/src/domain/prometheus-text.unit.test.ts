import { describe, expect, it } from 'vitest';
import { renderPrometheusText } from './prometheus-text.js';

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
    expect(text).toContain('crdr_replication_lag_seconds{region="r",broker="b"} 1.5 5\n');
    expect(text).toContain(
      'crdr_destination_messages{region="r",broker="b",destination="/queue/a\\"b\\\\c"} 3 5\n',
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
  });
});
