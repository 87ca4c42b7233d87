import { describe, expect, it } from 'vitest';
import { isCrdrError } from '@crdr/errors';
import {
  brokerArn,
  parseBrokerArn,
  primaryEligibilityFailures,
  validateCreateBroker,
  type CreateBrokerInput,
} from './broker.validation.js';

const valid: CreateBrokerInput = {
  brokerName: 'orders',
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
  users: [
    {
      username: 'app',
      password: 'app-password-1',
      consoleAccess: false,
      groups: [],
      replicationUser: false,
    },
  ],
  dataReplicationMode: '',
  dataReplicationPrimaryBrokerArn: '',
};

function fieldOf(input: Partial<CreateBrokerInput>): string | undefined {
  try {
    validateCreateBroker({ ...valid, ...input }, 'region-b');
  } catch (error) {
    if (isCrdrError(error)) return error.details['field'];
    throw error;
  }
  return undefined;
}

describe('CreateBroker validation', () => {
  it('accepts a valid request', () => {
    expect(validateCreateBroker(valid, 'region-b').replicaOf).toBeUndefined();
  });

  it('names the field at fault', () => {
    expect(fieldOf({ brokerName: 'has space' })).toBe('broker_name');
    expect(fieldOf({ engineType: 'RABBITMQ' })).toBe('engine_type');
    expect(fieldOf({ engineVersion: '5.18' })).toBe('engine_version');
    expect(fieldOf({ hostInstanceType: 'mq.m5.huge' })).toBe('host_instance_type');
    expect(fieldOf({ deploymentMode: 'CLUSTER_MULTI_AZ' })).toBe('deployment_mode');
    expect(fieldOf({ users: [] })).toBe('users');
    expect(fieldOf({ users: [{ ...valid.users[0]!, password: 'short' }] })).toBe('users.password');
    expect(fieldOf({ users: [{ ...valid.users[0]!, password: 'has,comma-long' }] })).toBe(
      'users.password',
    );
    expect(fieldOf({ users: [{ ...valid.users[0]!, username: 'a' }] })).toBe('users.username');
    expect(fieldOf({ dataReplicationMode: 'SYNC' })).toBe('data_replication_mode');
    expect(fieldOf({ dataReplicationMode: 'CRDR' })).toBe('data_replication_primary_broker_arn');
    expect(
      fieldOf({
        dataReplicationMode: 'CRDR',
        dataReplicationPrimaryBrokerArn: brokerArn('region-a', 'orders', 'b-1'),
      }),
    ).toBe('users');
    expect(
      fieldOf({
        dataReplicationMode: 'CRDR',
        dataReplicationPrimaryBrokerArn: 'arn:aws:mq:x',
        users: [{ ...valid.users[0]!, replicationUser: true }],
      }),
    ).toBe('data_replication_primary_broker_arn');
  });

  it('parses a replica request', () => {
    const result = validateCreateBroker(
      {
        ...valid,
        dataReplicationMode: 'CRDR',
        dataReplicationPrimaryBrokerArn: brokerArn('region-a', 'orders', 'b-1'),
        users: [{ ...valid.users[0]!, replicationUser: true }],
      },
      'region-b',
    );
    expect(result.replicaOf).toEqual({ brokerId: 'b-1', region: 'region-a' });
    expect(parseBrokerArn('arn:mq:region-a:local:broker:orders:b-1', 'f')).toEqual({
      region: 'region-a',
      brokerName: 'orders',
      brokerId: 'b-1',
    });
  });

  it('names every failed eligibility criterion', () => {
    const eligible = {
      brokerId: 'b-1',
      brokerState: 'RUNNING',
      engineVersion: '5.17.6',
      hostInstanceType: 'mq.m5.large',
      deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      dataReplicationRole: '',
    };
    expect(primaryEligibilityFailures(eligible)).toEqual([]);
    expect(primaryEligibilityFailures({ ...eligible, engineVersion: '5.18.0' })).toEqual([]);
    const failures = primaryEligibilityFailures({
      ...eligible,
      engineVersion: '5.17.5',
      hostInstanceType: 'mq.t3.micro',
      deploymentMode: 'SINGLE_INSTANCE',
      brokerState: 'CREATION_IN_PROGRESS',
      dataReplicationRole: 'PRIMARY',
    });
    expect(failures).toHaveLength(5);
    expect(failures.join('; ')).toMatch(
      /engine version 5\.17\.5.*mq\.t3\.micro.*SINGLE_INSTANCE.*CREATION_IN_PROGRESS.*already paired/,
    );
  });
});
