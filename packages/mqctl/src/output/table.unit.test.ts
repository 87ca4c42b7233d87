import { describe, expect, it } from 'vitest';
import { omitFromItems } from './reshape.js';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns keys and values, with dotted paths for nested objects', () => {
    expect(
      renderTable({
        BrokerId: 'b-1',
        BrokerState: 'REPLICA',
        DataReplicationMetadata: {
          DataReplicationRole: 'REPLICA',
          DataReplicationCounterpart: { BrokerId: 'b-0', Region: 'region-a' },
        },
        Skipped: undefined,
      }),
    ).toBe(
      [
        ['BrokerId', 'b-1'],
        ['BrokerState', 'REPLICA'],
        ['DataReplicationMetadata.DataReplicationRole', 'REPLICA'],
        ['DataReplicationMetadata.DataReplicationCounterpart.BrokerId', 'b-0'],
        ['DataReplicationMetadata.DataReplicationCounterpart.Region', 'region-a'],
      ]
        .map(([key, value]) => `${key!.padEnd(59)}  ${value}`)
        .join('\n'),
    );
  });

  it('renders lists of flat objects as a table, multi-value cells on several lines', () => {
    const text = renderTable({
      BrokerId: 'b-1',
      BrokerInstances: [
        { Endpoints: ['stomp://h:1', 'ws://h:2'], ConsoleURL: 'http://h:3' },
        { Endpoints: ['stomp://h:4'], ConsoleURL: 'http://h:5', InstanceState: 'STANDBY' },
      ],
      Users: [],
    });
    expect(text.split('\n')).toEqual([
      'BrokerId  b-1',
      'Users     -',
      '',
      'BrokerInstances (2)',
      '  Endpoints    ConsoleURL  InstanceState',
      '  ---------    ----------  -------------',
      '  stomp://h:1  http://h:3  -',
      '  ws://h:2',
      '  stomp://h:4  http://h:5  STANDBY',
    ]);
  });

  it('renders items holding lists of objects one block each', () => {
    const text = renderTable({ Items: [{ Name: 'a', Parts: [{ X: 1 }] }] });
    expect(text.split('\n')).toEqual([
      'Items (1)',
      '  [0]',
      '    Name  a',
      '',
      '    Parts (1)',
      '      X',
      '      -',
      '      1',
    ]);
  });

  it('prints nothing for an empty result and shows empty scalar lists as -', () => {
    expect(renderTable({})).toBe('');
    expect(renderTable({ Groups: [], Count: 3n, Flag: false })).toBe(
      'Groups  -\nCount   3\nFlag    false',
    );
  });
});

describe('omitFromItems', () => {
  it('drops fields from the items of one list, for a narrower table', () => {
    expect(
      omitFromItems(
        { BrokerSummaries: [{ BrokerId: 'b', BrokerArn: 'arn' }], NextToken: 't' },
        'BrokerSummaries',
        ['BrokerArn'],
      ),
    ).toEqual({ BrokerSummaries: [{ BrokerId: 'b' }], NextToken: 't' });
  });

  it('renders a top-level list and lists nested in lists', () => {
    expect(renderTable([['a', 'b'], 'c'])).toBe(
      ['Items (2)', '  Value', '  -----', '  a', '  b', '  c'].join('\n'),
    );
  });
});
