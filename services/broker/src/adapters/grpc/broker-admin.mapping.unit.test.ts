import { hasErrorCode } from '@crdr/errors';
import { describe, expect, it } from 'vitest';
import {
  toBrowseLimit,
  toDestination,
  toProtoRole,
  toProtoStats,
  toSetRoleRequest,
  toUpdateUserRequest,
} from './broker-admin.mapping.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!hasErrorCode(error, 'BadRequest')) throw error;
    return error.details['field'];
  }
  throw new Error('expected a BadRequest');
}

describe('toDestination', () => {
  it('maps the type and keeps the bare name', () => {
    expect(toDestination({ type: 'QUEUE', name: 'orders' })).toEqual({
      kind: 'queue',
      name: 'orders',
    });
    expect(toDestination({ type: 'TOPIC', name: 'prices' })).toEqual({
      kind: 'topic',
      name: 'prices',
    });
  });

  it('refuses an unspecified type, an empty name and a prefixed one', () => {
    expect(fieldOf(() => toDestination({ type: 'DESTINATION_TYPE_UNSPECIFIED', name: 'x' }))).toBe(
      'type',
    );
    expect(fieldOf(() => toDestination({ type: 7, name: 'x' }))).toBe('type');
    expect(fieldOf(() => toDestination({ type: 'QUEUE', name: '' }))).toBe('name');
    expect(fieldOf(() => toDestination({ type: 'QUEUE', name: '/queue/x' }))).toBe('name');
  });
});

describe('toBrowseLimit', () => {
  it('defaults 0 and caps the limit', () => {
    expect(toBrowseLimit(0)).toBe(100);
    expect(toBrowseLimit(5)).toBe(5);
    expect(fieldOf(() => toBrowseLimit(10_001))).toBe('max_messages');
  });
});

describe('roles', () => {
  it('reads SetRole with the epoch as a bigint and empty strings as unset', () => {
    expect(
      toSetRoleRequest({
        role: 'REPLICA',
        epoch: '18446744073709551615',
        primaryRegion: 'eu-west-1',
        primaryBrokerId: 'b-1',
        dataReplicationMode: '',
        logStart: 'LOG_START_UNSPECIFIED',
      }),
    ).toEqual({
      role: 'REPLICA',
      epoch: 18_446_744_073_709_551_615n,
      primaryRegion: 'eu-west-1',
      primaryBrokerId: 'b-1',
    });
    expect(
      toSetRoleRequest({
        role: 'PRIMARY',
        epoch: '3',
        primaryRegion: '',
        primaryBrokerId: '',
        dataReplicationMode: 'CRDR',
        logStart: 'EMPTY',
      }),
    ).toEqual({ role: 'PRIMARY', epoch: 3n, dataReplicationMode: 'CRDR', logStart: 'EMPTY' });
  });

  it('refuses an unspecified role and an unknown mode', () => {
    const base = {
      epoch: '1',
      primaryRegion: '',
      primaryBrokerId: '',
      dataReplicationMode: '',
      logStart: 'LOG_START_UNSPECIFIED' as const,
    };
    expect(
      fieldOf(() => toSetRoleRequest({ ...base, role: 'DATA_REPLICATION_ROLE_UNSPECIFIED' })),
    ).toBe('role');
    expect(
      fieldOf(() => toSetRoleRequest({ ...base, role: 'PRIMARY', dataReplicationMode: 'ASYNC' })),
    ).toBe('data_replication_mode');
  });

  it('writes the role with the epoch as a string and null as empty', () => {
    expect(
      toProtoRole({
        brokerId: 'b-2',
        role: 'PRIMARY',
        epoch: 7n,
        primaryRegion: null,
        primaryBrokerId: null,
        dataReplicationMode: 'NONE',
      }),
    ).toEqual({
      role: 'PRIMARY',
      epoch: '7',
      primaryRegion: '',
      primaryBrokerId: '',
      brokerId: 'b-2',
      dataReplicationMode: 'NONE',
    });
  });
});

describe('toUpdateUserRequest', () => {
  const base = { username: 'u', password: '', passwordHash: '', groups: [], replaceGroups: false };

  it('leaves unset fields out', () => {
    expect(toUpdateUserRequest(base)).toEqual({ username: 'u' });
  });

  it('sets what is given, optional booleans included when false', () => {
    expect(
      toUpdateUserRequest({
        ...base,
        password: 'p',
        consoleAccess: false,
        replicationUser: true,
        groups: ['g'],
      }),
    ).toEqual({
      username: 'u',
      password: 'p',
      consoleAccess: false,
      replicationUser: true,
      groups: ['g'],
    });
  });

  it('clears the groups only with replace_groups', () => {
    expect(toUpdateUserRequest({ ...base, replaceGroups: true })).toEqual({
      username: 'u',
      groups: [],
    });
  });

  it('refuses an empty username', () => {
    expect(fieldOf(() => toUpdateUserRequest({ ...base, username: '' }))).toBe('username');
  });
});

describe('toProtoStats', () => {
  it('writes uint64 counts as strings', () => {
    const stats = toProtoStats({
      currentConnectionsCount: 1,
      totalMessageCount: 2,
      totalEnqueueCount: 3,
      totalDequeueCount: 4,
      totalConsumerCount: 5,
      totalProducerCount: 6,
      serving: true,
      destinations: [
        {
          kind: 'queue',
          name: 'q',
          queueSize: 7,
          consumerCount: 1,
          producerCount: 0,
          enqueueCount: 8,
          dequeueCount: 1,
          dispatchCount: 1,
          durableSubscriptionCount: 0,
        },
      ],
    });
    expect(stats).toMatchObject({ totalMessageCount: '2', serving: true });
    expect(stats.destinations?.[0]).toMatchObject({
      type: 'QUEUE',
      queueSize: '7',
      consumerCount: 1,
    });
  });
});
