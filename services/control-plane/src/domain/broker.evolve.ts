import { asBrokerId, type BrokerAggregate, type BrokerEvent } from './broker.types.js';

/** The broker aggregate's state: the fold of its events (see broker.decider.ts). */
export const initialState: BrokerAggregate = Object.freeze<BrokerAggregate>({
  exists: false,
  brokerId: asBrokerId(''),
  brokerArn: '',
  region: '',
  spec: {
    brokerName: '',
    engineType: 'ACTIVEMQ',
    engineVersion: '',
    hostInstanceType: '',
    deploymentMode: 'SINGLE_INSTANCE',
    users: [],
  },
  state: 'CREATION_IN_PROGRESS',
  stateReason: undefined,
  forceUnpairedFrom: [],
  createdAt: '',
  creatorRequestId: undefined,
  users: [],
  adminUser: { username: '', password: '' },
  instances: [],
  dataReplicationMode: 'NONE',
  pendingDataReplicationMode: undefined,
  role: undefined,
  counterpart: undefined,
  replicationStatus: undefined,
  epoch: 1n,
  replicatorGrpc: undefined,
  promotion: undefined,
  divergentTail: undefined,
});

export function evolve(s: BrokerAggregate, event: BrokerEvent): BrokerAggregate {
  switch (event.type) {
    case 'BrokerCreationRequested':
      return {
        ...initialState,
        exists: true,
        brokerId: event.brokerId,
        brokerArn: event.brokerArn,
        region: event.region,
        spec: event.spec,
        state: 'CREATION_IN_PROGRESS',
        createdAt: event.at,
        creatorRequestId: event.creatorRequestId,
        users: event.spec.users,
        adminUser: event.adminUser,
        epoch: event.epoch,
        ...(event.replicaOf === undefined
          ? {}
          : {
              dataReplicationMode: 'CRDR',
              role: 'REPLICA',
              counterpart: event.replicaOf,
              replicationStatus: 'PAIRING',
            }),
      };
    case 'BrokerCreated':
      return { ...s, state: 'RUNNING', stateReason: undefined, instances: event.instances };
    case 'BrokerCreationFailed':
      return { ...s, state: 'CREATION_FAILED', stateReason: event.reason, instances: [] };
    case 'ReplicaAttached':
      return {
        ...s,
        role: 'PRIMARY',
        counterpart: event.replica,
        replicationStatus: 'PAIRING',
        pendingDataReplicationMode: 'CRDR',
      };
    case 'PendingReplicationModeSet':
      return {
        ...s,
        pendingDataReplicationMode:
          event.mode === s.dataReplicationMode && s.replicationStatus !== 'PAIRING'
            ? undefined
            : event.mode,
      };
    case 'BrokerRebootRequested':
      return { ...s, state: 'REBOOT_IN_PROGRESS', stateReason: undefined };
    case 'BrokerRebooted':
      return { ...s, state: 'RUNNING', stateReason: undefined, instances: event.instances };
    case 'BrokerRebootFailed':
      return { ...s, state: 'CRITICAL_ACTION_REQUIRED', stateReason: event.reason };
    case 'ReplicationStarted':
      return {
        ...s,
        dataReplicationMode: 'CRDR',
        pendingDataReplicationMode: undefined,
        replicationStatus: 'REPLICATING',
        epoch: event.epoch > s.epoch ? event.epoch : s.epoch,
        replicatorGrpc: event.replicatorGrpc,
      };
    case 'BrokerUnpaired':
      return {
        ...s,
        dataReplicationMode: 'NONE',
        pendingDataReplicationMode: undefined,
        role: undefined,
        counterpart: undefined,
        replicationStatus: undefined,
        replicatorGrpc: undefined,
      };
    case 'BrokerForceUnpaired':
      return {
        ...s,
        dataReplicationMode: 'NONE',
        pendingDataReplicationMode: undefined,
        role: undefined,
        counterpart: undefined,
        replicationStatus: undefined,
        replicatorGrpc: undefined,
        promotion: undefined,
        forceUnpairedFrom: [...s.forceUnpairedFrom, event.formerCounterpart.brokerId],
      };
    case 'BrokerDeletionRequested':
      return { ...s, state: 'DELETION_IN_PROGRESS' };
    case 'BrokerDeleted':
      return { ...s, state: 'DELETED', instances: [] };
    case 'UserCreated':
      return { ...s, users: [...s.users, event.user] };
    case 'UserUpdated':
      return {
        ...s,
        users: s.users.map((u) => (u.username === event.user.username ? event.user : u)),
      };
    case 'UserDeleted':
      return { ...s, users: s.users.filter((u) => u.username !== event.username) };
    case 'PromotionStatusRecorded':
      return { ...s, replicationStatus: event.status, promotion: event.promotion };
    case 'DataReplicationRoleChanged':
      return {
        ...s,
        dataReplicationMode: 'CRDR',
        pendingDataReplicationMode: undefined,
        role: event.role,
        counterpart: event.counterpart,
        epoch: event.epoch > s.epoch ? event.epoch : s.epoch,
        replicationStatus: event.status,
        promotion: undefined,
        replicatorGrpc: undefined,
      };
    case 'DivergentTailRecorded':
      return { ...s, divergentTail: event.tail };
    case 'DivergentTailResolved':
      return s.divergentTail === undefined
        ? s
        : {
            ...s,
            divergentTail: {
              ...s.divergentTail,
              state: event.state,
              republishedMessages: event.republishedMessages,
            },
          };
    case 'BrokerInstancesRestarted':
      return { ...s, instances: event.instances };
  }
}

/** The state after `events`, from the initial state. */
export function fold(events: readonly BrokerEvent[]): BrokerAggregate {
  return events.reduce(evolve, initialState);
}
