import { describe, expect, it } from 'vitest';
import { isCrdrError, type ErrorCode } from '@crdr/errors';
import { decide, evolve, fold, initialState } from './broker.decider.js';
import {
  asBrokerId,
  type BrokerCommand,
  type BrokerEvent,
  type BrokerSpec,
} from './broker.types.js';

// Given events, when a command, then the events it causes, or the error it is refused with
// (Emmett's decider specification, docs/style.md §11). Time is passed in.

const at = '2026-01-01T00:00:00.000Z';
const brokerId = asBrokerId('b-11111111-2222-3333-4444-555555555555');
const spec: BrokerSpec = {
  brokerName: 'orders',
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
  users: [
    {
      username: 'app',
      passwordHash: 'scrypt$2$1$1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5',
      consoleAccess: false,
      groups: [],
      replicationUser: false,
    },
  ],
};
const instances = [{ instanceId: `${brokerId}-1`, stomp: 'h:1', ws: 'h:2', grpc: 'h:3' }];
const replica = { brokerId: 'b-replica', region: 'region-b' };

type EventOf<T extends BrokerEvent['type']> = Extract<BrokerEvent, { type: T }>;

const requestCreation = {
  type: 'RequestBrokerCreation',
  brokerId,
  brokerArn: `arn:mq:region-a:local:broker:orders:${brokerId}`,
  region: 'region-a',
  spec,
  adminUser: { username: 'crdr-cp-region-a', password: 'secret' },
  creatorRequestId: undefined,
  replicaOf: undefined,
  at,
} satisfies BrokerCommand;
const requested: EventOf<'BrokerCreationRequested'> = {
  ...requestCreation,
  type: 'BrokerCreationRequested',
  epoch: 1n,
};
const created: BrokerEvent = { type: 'BrokerCreated', instances, at };
const attached: BrokerEvent = { type: 'ReplicaAttached', replica, at };
const started: EventOf<'ReplicationStarted'> = {
  type: 'ReplicationStarted',
  epoch: 1n,
  replicatorGrpc: undefined,
  at,
};

function given(...events: BrokerEvent[]) {
  const state = fold(events);
  return {
    when(command: BrokerCommand) {
      return {
        then(expected: BrokerEvent[]) {
          expect(decide(command, state)).toEqual(expected);
        },
        thenRefused(code: ErrorCode, messagePart: string) {
          let thrown: unknown;
          try {
            decide(command, state);
          } catch (error) {
            thrown = error;
          }
          expect(isCrdrError(thrown) && thrown.code).toBe(code);
          expect((thrown as Error).message).toContain(messagePart);
        },
      };
    },
  };
}

describe('broker decider', () => {
  it('records a creation request, and refuses a second one', () => {
    given().when(requestCreation).then([requested]);
    given(requested).when(requestCreation).thenRefused('Conflict', 'already exists');
  });

  it('names the unknown broker', () => {
    given().when({ type: 'RequestReboot', at }).thenRefused('NotFound', 'does not exist');
  });

  it('goes RUNNING with its instances, or CREATION_FAILED with the reason', () => {
    given(requested).when({ type: 'RecordBrokerCreated', instances, at }).then([created]);
    given(requested, created).when({ type: 'RecordBrokerCreated', instances, at }).then([]);
    const failed = fold([requested, { type: 'BrokerCreationFailed', reason: 'port taken', at }]);
    expect(failed.state).toBe('CREATION_FAILED');
    expect(failed.stateReason).toBe('port taken');
    expect(fold([requested, created]).state).toBe('RUNNING');
  });

  it('pairs a running primary once: pending CRDR until the reboot', () => {
    given(requested, created).when({ type: 'AttachReplica', replica, at }).then([attached]);
    given(requested, created, attached).when({ type: 'AttachReplica', replica, at }).then([]);
    given(requested, created, attached)
      .when({ type: 'AttachReplica', replica: { ...replica, brokerId: 'b-other' }, at })
      .thenRefused('Conflict', 'already paired');
    given(requested)
      .when({ type: 'AttachReplica', replica, at })
      .thenRefused('Conflict', 'CREATION_IN_PROGRESS');
    const paired = fold([requested, created, attached]);
    expect(paired).toMatchObject({
      role: 'PRIMARY',
      counterpart: replica,
      replicationStatus: 'PAIRING',
      dataReplicationMode: 'NONE',
      pendingDataReplicationMode: 'CRDR',
    });
  });

  it('a replica is created paired, REPLICA and PAIRING', () => {
    const state = fold([
      { ...requested, replicaOf: { brokerId: 'b-primary', region: 'region-a' } },
    ]);
    expect(state).toMatchObject({
      role: 'REPLICA',
      dataReplicationMode: 'CRDR',
      replicationStatus: 'PAIRING',
      counterpart: { brokerId: 'b-primary', region: 'region-a' },
      epoch: 1n,
    });
  });

  it('replication started: CRDR applied, REPLICATING, epoch kept as a bigint', () => {
    const state = fold([requested, created, attached, { ...started, epoch: 3n }]);
    expect(state).toMatchObject({
      dataReplicationMode: 'CRDR',
      pendingDataReplicationMode: undefined,
      replicationStatus: 'REPLICATING',
      epoch: 3n,
    });
  });

  it('unpairing: NONE is pending until the reboot, then both sides are standalone', () => {
    given(requested, created, attached, started)
      .when({ type: 'SetPendingReplicationMode', mode: 'NONE', at })
      .then([{ type: 'PendingReplicationModeSet', mode: 'NONE', at }]);
    given(requested, created)
      .when({ type: 'SetPendingReplicationMode', mode: 'CRDR', at })
      .thenRefused('BadRequest', 'data_replication_mode CRDR');
    given(requested, created).when({ type: 'Unpair', at }).then([]);
    const unpaired = fold([requested, created, attached, started, { type: 'BrokerUnpaired', at }]);
    expect(unpaired).toMatchObject({
      role: undefined,
      counterpart: undefined,
      dataReplicationMode: 'NONE',
      replicationStatus: undefined,
    });
  });

  it('a forced unpair: standalone at once, remembering whom it left; refused during a promotion', () => {
    const forced: BrokerEvent = { type: 'BrokerForceUnpaired', formerCounterpart: replica, at };
    given(requested, created, attached, started).when({ type: 'ForceUnpair', at }).then([forced]);
    given(requested, created).when({ type: 'ForceUnpair', at }).then([]);
    expect(fold([requested, created, attached, started, forced])).toMatchObject({
      role: undefined,
      counterpart: undefined,
      dataReplicationMode: 'NONE',
      forceUnpairedFrom: ['b-replica'],
    });
    const promoting: BrokerEvent = {
      type: 'PromotionStatusRecorded',
      status: 'PROMOTION_IN_PROGRESS',
      promotion: { mode: 'FAILOVER', step: 'PROMOTING_REPLICA', startedAt: at },
      at,
    };
    given(requested, created, attached, started, promoting)
      .when({ type: 'ForceUnpair', at })
      .thenRefused('Conflict', 'while a failover of its pair runs');
  });

  it('refuses to delete a paired broker, naming the pairing', () => {
    given(requested, created, attached)
      .when({ type: 'RequestDeletion', at })
      .thenRefused('Conflict', 'while it is paired');
    given(requested, created)
      .when({ type: 'RequestDeletion', at })
      .then([{ type: 'BrokerDeletionRequested', at }]);
    given(requested)
      .when({ type: 'RequestDeletion', at })
      .thenRefused('Conflict', 'CREATION_IN_PROGRESS');
  });

  it('reboots only a running broker: REBOOT_IN_PROGRESS, then RUNNING', () => {
    given(requested, created)
      .when({ type: 'RequestReboot', at })
      .then([{ type: 'BrokerRebootRequested', at }]);
    given(requested)
      .when({ type: 'RequestReboot', at })
      .thenRefused('Conflict', 'in state CREATION_IN_PROGRESS');
    const rebooting = [requested, created, { type: 'BrokerRebootRequested', at } as BrokerEvent];
    expect(fold(rebooting).state).toBe('REBOOT_IN_PROGRESS');
    given(...rebooting)
      .when({ type: 'RecordRebooted', instances, at })
      .then([{ type: 'BrokerRebooted', instances, at }]);
  });

  it('users: created once, updated, deleted; refused on a replica', () => {
    const user = { ...spec.users[0]!, username: 'second' };
    given(requested, created)
      .when({ type: 'CreateUser', user, at })
      .then([{ type: 'UserCreated', user, at }]);
    given(requested, created)
      .when({ type: 'CreateUser', user: spec.users[0]!, at })
      .thenRefused('Conflict', 'already exists');
    given(requested, created)
      .when({ type: 'UpdateUser', username: 'app', changes: { consoleAccess: true }, at })
      .then([{ type: 'UserUpdated', user: { ...spec.users[0]!, consoleAccess: true }, at }]);
    given(requested, created)
      .when({ type: 'DeleteUser', username: 'nobody', at })
      .thenRefused('NotFound', 'nobody');
    const replicaCreated = {
      ...requested,
      replicaOf: { brokerId: 'b-p', region: 'region-a' },
    } as BrokerEvent;
    given(replicaCreated, created)
      .when({ type: 'CreateUser', user, at })
      .thenRefused('Conflict', 'replicated from the primary');
    expect(fold([requested, created, { type: 'UserDeleted', username: 'app', at }]).users).toEqual(
      [],
    );
  });

  it('evolve starts from the initial state', () => {
    expect(evolve(initialState, requested).exists).toBe(true);
    expect(initialState.exists).toBe(false);
  });
});
