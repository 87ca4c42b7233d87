import { badRequest } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { decide } from '../domain/broker.decider.js';
import {
  asBrokerId,
  type BrokerAggregate,
  type BrokerCommand,
  type UserChanges,
} from '../domain/broker.types.js';
import { validateUser, validateUserChanges } from '../domain/broker.validation.js';
import { brokerAdmin } from './broker-processes.js';
import {
  adminUsername,
  hashUserPassword,
  withPasswordHash,
  type OperationsContext,
} from './context.js';

/**
 * The user calls. A change is checked against the registry first (no broker call for a request
 * that would be refused), then applied on the broker, then recorded: the broker applies users at
 * once (they replicate to a replica through the log), so nothing waits for a reboot.
 */
export function createUserOperations(context: OperationsContext) {
  const reserved = adminUsername(context.config.CONTROL_PLANE_REGION);

  async function checked(brokerId: string, command: BrokerCommand): Promise<BrokerAggregate> {
    const broker = await context.repository.load(asBrokerId(brokerId));
    decide(command, broker);
    return broker;
  }

  function notReserved(username: string): void {
    if (username === reserved) {
      throw badRequest(`invalid username: ${reserved} is reserved for the control plane`, {
        details: { field: 'username' },
      });
    }
  }

  return {
    async createUser(request: controlPlaneV1.CreateUserRequest__Output): Promise<void> {
      notReserved(request.username);
      const input = validateUser(
        {
          username: request.username,
          password: request.password,
          consoleAccess: request.consoleAccess,
          groups: request.groups,
          replicationUser: request.replicationUser,
        },
        'user',
      );
      const user = await withPasswordHash(context.config, input);
      const command: BrokerCommand = { type: 'CreateUser', user, at: context.now() };
      const broker = await checked(request.brokerId, command);
      await brokerAdmin(context, broker).withActive((a) =>
        a.createUser({
          username: user.username,
          passwordHash: user.passwordHash,
          groups: [...user.groups],
          consoleAccess: user.consoleAccess,
          replicationUser: user.replicationUser,
        }),
      );
      await context.repository.handle(broker.brokerId, command);
    },

    async updateUser(request: controlPlaneV1.UpdateUserRequest__Output): Promise<void> {
      notReserved(request.username);
      const { password, ...rest } = validateUserChanges({
        ...(request.password === '' ? {} : { password: request.password }),
        ...(request.consoleAccess === undefined ? {} : { consoleAccess: request.consoleAccess }),
        ...(request.groups.length === 0 ? {} : { groups: request.groups }),
        ...(request.replicationUser === undefined
          ? {}
          : { replicationUser: request.replicationUser }),
      });
      const changes: UserChanges = {
        ...rest,
        ...(password === undefined
          ? {}
          : { passwordHash: await hashUserPassword(context.config, password) }),
      };
      const command: BrokerCommand = {
        type: 'UpdateUser',
        username: request.username,
        changes,
        at: context.now(),
      };
      const broker = await checked(request.brokerId, command);
      await brokerAdmin(context, broker).withActive((a) =>
        a.updateUser({
          username: request.username,
          password: '',
          passwordHash: changes.passwordHash ?? '',
          groups: [...(changes.groups ?? [])],
          replaceGroups: changes.groups !== undefined,
          ...(changes.consoleAccess === undefined ? {} : { consoleAccess: changes.consoleAccess }),
          ...(changes.replicationUser === undefined
            ? {}
            : { replicationUser: changes.replicationUser }),
        }),
      );
      await context.repository.handle(broker.brokerId, command);
    },

    async deleteUser(request: controlPlaneV1.DeleteUserRequest__Output): Promise<void> {
      notReserved(request.username);
      const command: BrokerCommand = {
        type: 'DeleteUser',
        username: request.username,
        at: context.now(),
      };
      const broker = await checked(request.brokerId, command);
      await brokerAdmin(context, broker).withActive((a) =>
        a.deleteUser({ username: request.username }),
      );
      await context.repository.handle(broker.brokerId, command);
    },
  };
}
