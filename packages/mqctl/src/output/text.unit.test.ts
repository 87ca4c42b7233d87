import { describe, expect, it } from 'vitest';
import { renderText } from './text.js';

describe('renderText (aws --output text)', () => {
  it('prints a list of objects one line each, upper-cased key first, columns in sorted key order', () => {
    expect(
      renderText({
        BrokerSummaries: [
          { BrokerName: 'orders', BrokerId: 'b-1', BrokerState: 'RUNNING' },
          { BrokerId: 'b-2', BrokerName: 'audit', BrokerState: 'REPLICA', Extra: true },
        ],
      }),
    ).toBe(
      [
        'BROKERSUMMARIES\tb-1\torders\tRUNNING\tNone',
        'BROKERSUMMARIES\tb-2\taudit\tREPLICA\tTrue',
      ].join('\n'),
    );
  });

  it('prints an object: its scalars on one line, then its lists and objects by sorted key', () => {
    expect(
      renderText({
        BrokerState: 'RUNNING',
        BrokerId: 'b-1',
        Users: [{ Username: 'admin' }],
        DataReplicationMetadata: { DataReplicationRole: 'PRIMARY', Counterpart: { Region: 'r' } },
        Groups: ['a', 'b'],
        Count: 3n,
        Ready: false,
      }),
    ).toBe(
      [
        'b-1\tRUNNING\t3\tFalse',
        'DATAREPLICATIONMETADATA\tPRIMARY',
        'COUNTERPART\tr',
        'GROUPS\ta',
        'GROUPS\tb',
        'USERS\tadmin',
      ].join('\n'),
    );
  });

  it('prints a bare list of scalars tab-separated, a scalar alone, and nothing for empty', () => {
    expect(renderText(['b-1', 'b-2'])).toBe('b-1\tb-2');
    expect(renderText([['a', 'b'], ['c']])).toBe('a\tb\nc');
    expect(renderText('RUNNING')).toBe('RUNNING');
    expect(renderText(null)).toBe('None');
    expect(renderText({})).toBe('');
    expect(renderText({ Items: [] })).toBe('');
  });
});
