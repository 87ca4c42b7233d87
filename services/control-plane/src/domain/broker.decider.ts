import { badRequest, conflict, notFound } from '@crdr/errors';
import type {
  BrokerAggregate,
  BrokerCommand,
  BrokerEvent,
  BrokerInstanceEndpoints,
  BrokerState,
} from './broker.types.js';
import { evolve, fold, initialState } from './broker.evolve.js';

export { evolve, fold, initialState };

const describe = (s: BrokerAggregate): string => `broker ${s.brokerId}`;

function requireExisting(s: BrokerAggregate, id?: string): void {
  if (!s.exists || s.state === 'DELETED') {
    throw notFound(`broker ${id ?? s.brokerId} does not exist`, {
      details: { field: 'broker_id' },
    });
  }
}

function requireState(s: BrokerAggregate, allowed: readonly BrokerState[], action: string): void {
  if (!allowed.includes(s.state)) {
    throw conflict(
      `cannot ${action} ${describe(s)} in state ${s.state}` +
        ` (it must be ${allowed.join(' or ')})`,
      { details: { state: s.state } },
    );
  }
}

function pairing(s: BrokerAggregate): string {
  const c = s.counterpart;
  return c === undefined
    ? ''
    : `${s.role === 'PRIMARY' ? 'primary of replica' : 'replica of primary'} ${c.brokerId} in ${c.region}`;
}

/**
 * The broker aggregate as a decider (docs/style.md §2): `decide` checks a command against the state
 * and returns the events it causes (none when it is already done: every command is idempotent,
 * so a retried or resumed step is harmless) or throws a typed error naming the state at fault;
 * `evolve` folds one event into the state.
 */
export function decide(command: BrokerCommand, s: BrokerAggregate): readonly BrokerEvent[] {
  const at = command.at;
  if (command.type === 'RequestBrokerCreation') {
    if (s.exists) {
      throw conflict(`broker ${command.brokerId} already exists`, {
        details: { state: s.state },
      });
    }
    return [
      {
        type: 'BrokerCreationRequested',
        brokerId: command.brokerId,
        brokerArn: command.brokerArn,
        region: command.region,
        spec: command.spec,
        adminUser: command.adminUser,
        creatorRequestId: command.creatorRequestId,
        replicaOf: command.replicaOf,
        epoch: 1n,
        at,
      },
    ];
  }
  requireExisting(s);
  switch (command.type) {
    case 'RecordBrokerCreated':
      if (s.state === 'RUNNING') return [];
      requireState(s, ['CREATION_IN_PROGRESS'], 'record the creation of');
      return [{ type: 'BrokerCreated', instances: command.instances, at }];
    case 'RecordBrokerCreationFailed':
      if (s.state === 'CREATION_FAILED') return [];
      requireState(s, ['CREATION_IN_PROGRESS'], 'record a failed creation of');
      return [{ type: 'BrokerCreationFailed', reason: command.reason, at }];
    case 'AttachReplica': {
      const same =
        s.role === 'PRIMARY' &&
        s.counterpart?.brokerId === command.replica.brokerId &&
        s.counterpart.region === command.replica.region;
      if (same) return [];
      if (s.role !== undefined) {
        throw conflict(`${describe(s)} is already paired: it is the ${pairing(s)}`, {
          details: { state: 'PAIRED', dataReplicationRole: s.role },
        });
      }
      requireState(s, ['RUNNING'], 'pair');
      return [{ type: 'ReplicaAttached', replica: command.replica, at }];
    }
    case 'SetPendingReplicationMode': {
      requireState(s, ['RUNNING'], 'update');
      if (command.mode === 'CRDR') {
        if (s.role === undefined) {
          throw badRequest(
            `data_replication_mode CRDR: ${describe(s)} is not paired; a pair is made by ` +
              'creating the replica with data_replication_primary_broker_arn',
            { details: { field: 'data_replication_mode' } },
          );
        }
        const effective = s.pendingDataReplicationMode ?? s.dataReplicationMode;
        return effective === 'CRDR'
          ? []
          : [{ type: 'PendingReplicationModeSet', mode: 'CRDR', at }];
      }
      if (s.role === undefined) return [];
      const effective = s.pendingDataReplicationMode ?? s.dataReplicationMode;
      if (effective === 'NONE' && s.pendingDataReplicationMode !== undefined) return [];
      return [{ type: 'PendingReplicationModeSet', mode: 'NONE', at }];
    }
    case 'RequestReboot':
      if (s.state === 'REBOOT_IN_PROGRESS') return [];
      requireState(s, ['RUNNING', 'CRITICAL_ACTION_REQUIRED'], 'reboot');
      return [{ type: 'BrokerRebootRequested', at }];
    case 'RecordRebooted':
      if (s.state === 'RUNNING') return [];
      requireState(s, ['REBOOT_IN_PROGRESS'], 'record the reboot of');
      return [{ type: 'BrokerRebooted', instances: command.instances, at }];
    case 'RecordRebootFailed':
      requireState(s, ['REBOOT_IN_PROGRESS'], 'record a failed reboot of');
      return [{ type: 'BrokerRebootFailed', reason: command.reason, at }];
    case 'RecordReplicationStarted':
      if (s.role === undefined) {
        throw conflict(`${describe(s)} is not paired: replication cannot start`, {
          details: { state: 'UNPAIRED' },
        });
      }
      if (
        s.replicationStatus === 'REPLICATING' &&
        s.dataReplicationMode === 'CRDR' &&
        s.pendingDataReplicationMode === undefined &&
        s.replicatorGrpc === command.replicatorGrpc
      ) {
        return [];
      }
      return [
        {
          type: 'ReplicationStarted',
          epoch: command.epoch,
          replicatorGrpc: command.replicatorGrpc,
          at,
        },
      ];
    case 'Unpair':
      return s.role === undefined ? [] : [{ type: 'BrokerUnpaired', at }];
    case 'ForceUnpair':
      if (s.role === undefined || s.counterpart === undefined) return [];
      requireState(s, ['RUNNING', 'CRITICAL_ACTION_REQUIRED'], 'force-unpair');
      if (s.promotion !== undefined) {
        throw conflict(
          `cannot force-unpair ${describe(s)} while a ${s.promotion.mode.toLowerCase()} of its ` +
            'pair runs: wait until it completes',
          { details: { state: 'PROMOTION_IN_PROGRESS' } },
        );
      }
      return [{ type: 'BrokerForceUnpaired', formerCounterpart: s.counterpart, at }];
    case 'RequestDeletion':
      if (s.state === 'DELETION_IN_PROGRESS') return [];
      if (s.role !== undefined) {
        throw conflict(
          `cannot delete ${describe(s)} while it is paired (it is the ${pairing(s)}): ` +
            'unpair it first (update-broker --data-replication-mode NONE, then reboot-broker)',
          { details: { state: 'PAIRED', dataReplicationRole: s.role } },
        );
      }
      requireState(s, ['RUNNING', 'CREATION_FAILED', 'CRITICAL_ACTION_REQUIRED'], 'delete');
      return [{ type: 'BrokerDeletionRequested', at }];
    case 'RecordDeleted':
      requireState(s, ['DELETION_IN_PROGRESS'], 'record the deletion of');
      return [{ type: 'BrokerDeleted', at }];
    case 'CreateUser':
      requireUserChanges(s);
      if (s.users.some((u) => u.username === command.user.username)) {
        throw conflict(`user ${command.user.username} already exists on ${describe(s)}`, {
          details: { field: 'username', state: 'EXISTS' },
        });
      }
      return [{ type: 'UserCreated', user: command.user, at }];
    case 'UpdateUser': {
      requireUserChanges(s);
      const user = findUser(s, command.username);
      const c = command.changes;
      return [
        {
          type: 'UserUpdated',
          user: {
            ...user,
            ...(c.passwordHash === undefined ? {} : { passwordHash: c.passwordHash }),
            ...(c.consoleAccess === undefined ? {} : { consoleAccess: c.consoleAccess }),
            ...(c.groups === undefined ? {} : { groups: c.groups }),
            ...(c.replicationUser === undefined ? {} : { replicationUser: c.replicationUser }),
          },
          at,
        },
      ];
    }
    case 'DeleteUser':
      requireUserChanges(s);
      findUser(s, command.username);
      return [{ type: 'UserDeleted', username: command.username, at }];
    case 'RecordPromotionStatus':
      if (s.role === undefined) {
        throw conflict(`${describe(s)} is not paired: it has no promotion status`, {
          details: { state: 'UNPAIRED' },
        });
      }
      if (
        s.replicationStatus === command.status &&
        JSON.stringify(s.promotion) === JSON.stringify(command.promotion)
      ) {
        return [];
      }
      return [
        {
          type: 'PromotionStatusRecorded',
          status: command.status,
          promotion: command.promotion,
          at,
        },
      ];
    case 'ChangeDataReplicationRole':
      if (
        s.role === command.role &&
        s.counterpart?.brokerId === command.counterpart.brokerId &&
        s.counterpart.region === command.counterpart.region &&
        s.epoch >= command.epoch &&
        (s.replicationStatus === command.status ||
          (command.role === 'REPLICA' && s.replicationStatus === 'REPLICATING'))
      ) {
        return [];
      }
      return [
        {
          type: 'DataReplicationRoleChanged',
          role: command.role,
          counterpart: command.counterpart,
          epoch: command.epoch,
          status: command.status,
          at,
        },
      ];
    case 'RecordDivergentTail':
      if (
        s.divergentTail !== undefined &&
        s.divergentTail.promotionId === command.tail.promotionId &&
        s.divergentTail.generation === command.tail.generation &&
        s.divergentTail.failoverSequence === command.tail.failoverSequence
      ) {
        return [];
      }
      return [{ type: 'DivergentTailRecorded', tail: command.tail, at }];
    case 'ResolveDivergentTail':
      if (s.divergentTail === undefined) {
        throw notFound(`${describe(s)} has no divergent tail`, { details: { field: 'broker_id' } });
      }
      if (s.divergentTail.state === command.state) return [];
      if (s.divergentTail.state !== 'PENDING') {
        throw conflict(`the divergent tail of ${describe(s)} is ${s.divergentTail.state} already`, {
          details: { state: s.divergentTail.state },
        });
      }
      return [
        {
          type: 'DivergentTailResolved',
          state: command.state,
          republishedMessages: command.republishedMessages,
          at,
        },
      ];
    case 'RecordInstancesRestarted':
      return sameInstances(s.instances, command.instances)
        ? []
        : [{ type: 'BrokerInstancesRestarted', instances: command.instances, at }];
  }
}

/** Field by field: instances read back from the event store (jsonb) have their keys reordered. */
function sameInstances(
  a: readonly BrokerInstanceEndpoints[],
  b: readonly BrokerInstanceEndpoints[],
): boolean {
  const key = (i: BrokerInstanceEndpoints): string =>
    [i.instanceId, i.stomp, i.ws, i.grpc, i.admin ?? ''].join(' ');
  return a.length === b.length && a.every((instance, n) => key(instance) === key(b[n]!));
}

function requireUserChanges(s: BrokerAggregate): void {
  requireState(s, ['RUNNING'], 'change the users of');
  if (s.role === 'REPLICA') {
    throw conflict(
      `cannot change the users of ${describe(s)}: it is the ${pairing(s)}, whose users ` +
        'are replicated from the primary',
      { details: { state: 'REPLICA', dataReplicationRole: 'REPLICA' } },
    );
  }
}

function findUser(s: BrokerAggregate, username: string) {
  const user = s.users.find((u) => u.username === username);
  if (user === undefined) {
    throw notFound(`user ${username} does not exist on ${describe(s)}`, {
      details: { field: 'username' },
    });
  }
  return user;
}

export const brokerDecider = { initialState, decide, evolve } as const;
