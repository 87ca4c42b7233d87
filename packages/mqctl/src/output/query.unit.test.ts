import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { applyQuery, checkQuery } from './query.js';
import { renderYaml } from './yaml.js';

const brokers = {
  BrokerSummaries: [
    { BrokerId: 'b-1', BrokerName: 'orders', BrokerState: 'RUNNING' },
    { BrokerId: 'b-2', BrokerName: 'audit', BrokerState: 'REPLICA' },
  ],
  Sequence: 9007199254740993n,
};

describe('--query (JMESPath)', () => {
  it('projects, filters and builds objects as aws --query does', () => {
    expect(applyQuery(brokers, 'BrokerSummaries[].BrokerId')).toEqual(['b-1', 'b-2']);
    expect(applyQuery(brokers, "BrokerSummaries[?BrokerState=='REPLICA'].BrokerName | [0]")).toBe(
      'audit',
    );
    expect(applyQuery(brokers, 'BrokerSummaries[0].{Id: BrokerId, State: BrokerState}')).toEqual({
      Id: 'b-1',
      State: 'RUNNING',
    });
    expect(applyQuery(brokers, 'length(BrokerSummaries)')).toBe(2);
    expect(applyQuery(brokers, 'Missing')).toBeNull();
    // A uint64 beyond what a double holds exactly stays exact, as text.
    expect(applyQuery(brokers, 'Sequence')).toBe('9007199254740993');
  });

  it('refuses an expression that does not parse, as a usage error', () => {
    expect(() => checkQuery('BrokerSummaries[')).toThrow(UsageError);
    expect(() => checkQuery('BrokerSummaries[')).toThrow(
      /^bad value for --query BrokerSummaries\[/,
    );
    expect(() => checkQuery('BrokerSummaries[].BrokerId')).not.toThrow();
  });
});

describe('--output yaml', () => {
  it('prints block YAML in document order, with bigints as numbers', () => {
    expect(renderYaml({ BrokerId: 'b-1', Users: [{ Username: 'admin' }], Count: 3n })).toBe(
      ['BrokerId: b-1', 'Users:', '  - Username: admin', 'Count: 3'].join('\n'),
    );
  });
});
