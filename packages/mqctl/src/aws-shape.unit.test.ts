import { describe, expect, it } from 'vitest';
import type { controlPlaneV1 } from '@crdr/proto';
import {
  toBrokerDescription,
  toListBrokersResult,
  toListDivergentEventsResult,
  toListUsersResult,
  toUpdateBrokerResult,
  toUserDescription,
} from './aws-shape.js';

/** A DescribeBroker answer as grpc-js hands it over: proto defaults for every absent field. */
function broker(
  overrides: Partial<controlPlaneV1.DescribeBrokerResponse__Output> = {},
): controlPlaneV1.DescribeBrokerResponse__Output {
  return {
    brokerId: 'b-1',
    brokerArn: 'arn:mq:region-b:local:broker:orders:b-1',
    brokerName: 'orders',
    brokerState: 'RUNNING',
    deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
    engineType: 'ACTIVEMQ',
    engineVersion: '5.18.4',
    hostInstanceType: 'mq.m5.large',
    created: '2026-11-25T22:00:00.000Z',
    users: [{ username: 'admin', pendingChange: '' }],
    brokerInstances: [
      {
        endpoints: ['stomp://127.0.0.1:1', 'ws://127.0.0.1:2', 'grpc://127.0.0.1:3'],
        consoleUrl: 'http://127.0.0.1:4',
        ipAddress: '',
        instanceState: 'ACTIVE',
      },
    ],
    dataReplicationMode: '',
    pendingDataReplicationMode: '',
    dataReplicationMetadata: null,
    pendingDataReplicationMetadata: null,
    brokerStateReason: '',
    region: 'region-b',
    ...overrides,
  };
}

describe('toBrokerDescription', () => {
  it('uses AWS names (ConsoleURL spelled as AWS does) and omits empty optional fields', () => {
    expect(toBrokerDescription(broker())).toEqual({
      BrokerId: 'b-1',
      BrokerArn: 'arn:mq:region-b:local:broker:orders:b-1',
      BrokerName: 'orders',
      BrokerState: 'RUNNING',
      Region: 'region-b',
      DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
      EngineType: 'ACTIVEMQ',
      EngineVersion: '5.18.4',
      HostInstanceType: 'mq.m5.large',
      Created: '2026-11-25T22:00:00.000Z',
      Users: [{ Username: 'admin' }],
      BrokerInstances: [
        {
          Endpoints: ['stomp://127.0.0.1:1', 'ws://127.0.0.1:2', 'grpc://127.0.0.1:3'],
          ConsoleURL: 'http://127.0.0.1:4',
          InstanceState: 'ACTIVE',
        },
      ],
    });
  });

  it('maps the data replication metadata, the promotion and the divergent tail', () => {
    const described = toBrokerDescription(
      broker({
        brokerState: 'REPLICA',
        dataReplicationMode: 'CRDR',
        pendingDataReplicationMode: 'NONE',
        users: [{ username: 'repl', pendingChange: 'UPDATE' }],
        dataReplicationMetadata: {
          dataReplicationRole: 'REPLICA',
          dataReplicationCounterpart: { brokerId: 'b-0', region: 'region-a' },
          replicationStatus: 'PROMOTION_IN_PROGRESS',
          replicationStatusReason: '',
          promotion: {
            mode: 'SWITCHOVER',
            step: 'WAITING_FOR_REPLICA',
            startedAt: '2026-11-25T22:01:00Z',
          },
          divergentTail: {
            eventCount: '3',
            firstSequence: '9007199254740993',
            lastSequence: '9007199254740995',
            destinations: ['/queue/orders'],
            state: 'PENDING',
            failoverSequence: '9007199254740992',
          },
        },
        pendingDataReplicationMetadata: {
          dataReplicationRole: '',
          dataReplicationCounterpart: { brokerId: '', region: '' },
          replicationStatus: '',
          replicationStatusReason: '',
          promotion: null,
          divergentTail: null,
        },
      }),
    );
    expect(described).toMatchObject({
      BrokerState: 'REPLICA',
      DataReplicationMode: 'CRDR',
      PendingDataReplicationMode: 'NONE',
      Users: [{ Username: 'repl', PendingChange: 'UPDATE' }],
      DataReplicationMetadata: {
        DataReplicationRole: 'REPLICA',
        DataReplicationCounterpart: { BrokerId: 'b-0', Region: 'region-a' },
        ReplicationStatus: 'PROMOTION_IN_PROGRESS',
        Promotion: {
          Mode: 'SWITCHOVER',
          Step: 'WAITING_FOR_REPLICA',
          StartedAt: '2026-11-25T22:01:00Z',
        },
        DivergentTail: {
          EventCount: 3n,
          FirstSequence: 9007199254740993n,
          LastSequence: 9007199254740995n,
          FailoverSequence: 9007199254740992n,
          Destinations: ['/queue/orders'],
          State: 'PENDING',
        },
      },
    });
    // A metadata message holding only defaults is absent, as aws leaves it out.
    expect(described).not.toHaveProperty('PendingDataReplicationMetadata');
  });
});

describe('list and user results', () => {
  it('keeps empty lists and drops an empty NextToken', () => {
    expect(toListBrokersResult([], '')).toEqual({ BrokerSummaries: [] });
    expect(
      toListBrokersResult(
        [
          {
            brokerId: 'b-1',
            brokerArn: 'arn',
            brokerName: 'orders',
            brokerState: 'RUNNING',
            deploymentMode: 'SINGLE_INSTANCE',
            hostInstanceType: 'mq.m5.large',
            created: '',
            engineType: 'ACTIVEMQ',
          },
        ],
        'next',
      ),
    ).toEqual({
      BrokerSummaries: [
        {
          BrokerId: 'b-1',
          BrokerArn: 'arn',
          BrokerName: 'orders',
          BrokerState: 'RUNNING',
          DeploymentMode: 'SINGLE_INSTANCE',
          HostInstanceType: 'mq.m5.large',
          EngineType: 'ACTIVEMQ',
        },
      ],
      NextToken: 'next',
    });
  });

  it('maps users as aws mq prints them', () => {
    expect(
      toListUsersResult({
        brokerId: 'b',
        users: [{ username: 'u', pendingChange: '' }],
        maxResults: 0,
        nextToken: '',
      }),
    ).toEqual({ BrokerId: 'b', Users: [{ Username: 'u' }] });
    expect(
      toUserDescription({
        brokerId: 'b',
        username: 'u',
        consoleAccess: false,
        groups: [],
        replicationUser: true,
      }),
    ).toEqual({
      BrokerId: 'b',
      Username: 'u',
      ConsoleAccess: false,
      Groups: [],
      ReplicationUser: true,
    });
  });

  it('maps update-broker and the divergent events', () => {
    expect(
      toUpdateBrokerResult({
        brokerId: 'b',
        dataReplicationMode: 'CRDR',
        pendingDataReplicationMode: 'NONE',
        dataReplicationMetadata: null,
        pendingDataReplicationMetadata: null,
      }),
    ).toEqual({ BrokerId: 'b', DataReplicationMode: 'CRDR', PendingDataReplicationMode: 'NONE' });
    expect(
      toListDivergentEventsResult({
        summary: null,
        events: [
          {
            sequence: '12',
            eventType: 'MESSAGE_SENT',
            destination: '/queue/q',
            messageId: 'm-1',
            createdAt: '',
          },
        ],
        nextToken: '',
      }),
    ).toEqual({
      Events: [
        { Sequence: 12n, EventType: 'MESSAGE_SENT', Destination: '/queue/q', MessageId: 'm-1' },
      ],
    });
  });
});
