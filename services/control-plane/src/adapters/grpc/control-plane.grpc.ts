import { badRequest, notFound } from '@crdr/errors';
import { unaryHandler, type controlPlaneV1, type HandlerOptions } from '@crdr/proto';
import { instanceStates } from '../broker/broker-admin.client.js';
import type { BrokerRepository } from '../pg/broker.repository.js';
import type { SupervisionStatus } from '../provisioning/local-supervisor.js';
import type { ReplicationHealth } from '@crdr/replication';
import { asBrokerId, type BrokerAggregate } from '../../domain/broker.types.js';
import { parseDataReplicationMode } from '../../domain/broker.validation.js';
import type { createLifecycleOperations } from '../../operations/lifecycle.js';
import type { createUserOperations } from '../../operations/users.js';
import {
  page,
  toBrokerSummary,
  toDescribeBroker,
  toPendingReplicationMetadata,
  toReplicationMetadata,
} from './control-plane.mapping.js';

/** The promotion calls, served once the promotion sagas are wired in. */
export type PromotionRpc = 'Promote' | 'ListDivergentEvents' | 'ResolveDivergentTail';
/** The named methods of a generated handlers interface, without its index signature. */
type NamedMethods<T> = { [K in keyof T as string extends K ? never : K]: T[K] };
export type ControlPlaneHandlers = Omit<
  NamedMethods<controlPlaneV1.ControlPlaneServiceHandlers>,
  PromotionRpc
>;

export interface ControlPlaneServiceOptions {
  readonly repository: BrokerRepository;
  readonly lifecycle: ReturnType<typeof createLifecycleOperations>;
  readonly users: ReturnType<typeof createUserOperations>;
  /**
   * What the provisioner's supervisor knows of a broker's processes: an instance that does not
   * answer shows STARTING while it is being started again, CRASH_LOOP when it keeps dying.
   */
  readonly supervision?: (brokerId: string) => SupervisionStatus | undefined;
  /** The Region's console, for each instance's ConsoleURL; none when no console runs. */
  readonly consoleUrl?: () => string | undefined;
  /**
   * The live health of a replicating pair (PAUSED or STALLED with why), shown instead of the
   * registry's status; undefined while it replicates.
   */
  readonly pairHealth?: (broker: BrokerAggregate) => Promise<ReplicationHealth | undefined>;
  readonly handlerOptions?: HandlerOptions;
}

const brokerIdPattern = /^[A-Za-z0-9._-]{1,100}$/;

function checkBrokerId(brokerId: string): void {
  if (brokerId === '') {
    throw badRequest('invalid broker_id: it is required', { details: { field: 'broker_id' } });
  }
  if (!brokerIdPattern.test(brokerId)) {
    throw badRequest(`invalid broker_id: "${brokerId}" is not a broker id`, {
      details: { field: 'broker_id' },
    });
  }
}

/** The handlers of ControlPlaneService but the promotion calls (PromotionRpc). */
export function createControlPlaneServiceHandlers(
  options: ControlPlaneServiceOptions,
): ControlPlaneHandlers {
  const { repository, lifecycle, users } = options;
  const h = options.handlerOptions ?? {};

  async function existing(brokerId: string): Promise<BrokerAggregate> {
    checkBrokerId(brokerId);
    const broker = await repository.load(asBrokerId(brokerId));
    if (!broker.exists || broker.state === 'DELETED') {
      throw notFound(`broker ${brokerId} does not exist`, { details: { field: 'broker_id' } });
    }
    return broker;
  }

  return {
    CreateBroker: unaryHandler((request) => lifecycle.createBroker(request), h),
    DescribeBroker: unaryHandler(async (request) => {
      const broker = await existing(request.brokerId);
      const supervised = options.supervision?.(broker.brokerId)?.state;
      const [health, probed] = await Promise.all([
        options.pairHealth?.(broker),
        broker.state !== 'RUNNING' || broker.instances.length === 0
          ? undefined
          : instanceStates(broker.instances, broker.adminUser),
      ]);
      const described = toDescribeBroker(broker, health);
      if (probed === undefined) return described;
      const states = probed.map((state) =>
        state !== 'UNREACHABLE'
          ? state
          : supervised === 'CRASH_LOOP'
            ? 'CRASH_LOOP'
            : supervised === 'RESTARTING'
              ? 'STARTING'
              : state,
      );
      const consoleUrl = options.consoleUrl?.();
      return {
        ...described,
        brokerInstances: described.brokerInstances?.map((instance, i) => ({
          ...instance,
          instanceState: states[i] ?? '',
          consoleUrl: consoleUrl === undefined ? '' : `${consoleUrl}/brokers/${broker.brokerId}`,
        })),
      };
    }, h),
    ListBrokers: unaryHandler(async (request) => {
      const all = (await repository.list()).filter((b) => b.exists && b.state !== 'DELETED');
      const { items, nextToken } = page(all, request.maxResults, request.nextToken);
      return { brokerSummaries: items.map(toBrokerSummary), nextToken };
    }, h),
    UpdateBroker: unaryHandler(async (request) => {
      await existing(request.brokerId);
      const mode = parseDataReplicationMode(request.dataReplicationMode, 'data_replication_mode');
      if (request.force) {
        if (mode !== 'NONE') {
          throw badRequest('force goes with data_replication_mode NONE (a forced unpair)', {
            details: { field: 'force' },
          });
        }
        await lifecycle.forceUnpair(request.brokerId);
      }
      const broker = request.force
        ? await existing(request.brokerId)
        : mode === undefined
          ? await existing(request.brokerId)
          : await repository.handle(asBrokerId(request.brokerId), {
              type: 'SetPendingReplicationMode',
              mode,
              at: new Date().toISOString(),
            });
      const metadata = toReplicationMetadata(broker);
      const pending = toPendingReplicationMetadata(broker);
      return {
        brokerId: broker.brokerId,
        dataReplicationMode: broker.dataReplicationMode,
        pendingDataReplicationMode: broker.pendingDataReplicationMode ?? '',
        ...(metadata === undefined ? {} : { dataReplicationMetadata: metadata }),
        ...(pending === undefined ? {} : { pendingDataReplicationMetadata: pending }),
      };
    }, h),
    RebootBroker: unaryHandler(async (request) => {
      await existing(request.brokerId);
      await lifecycle.rebootBroker(request.brokerId);
      return {};
    }, h),
    DeleteBroker: unaryHandler(async (request) => {
      await existing(request.brokerId);
      await lifecycle.deleteBroker(request.brokerId);
      return { brokerId: request.brokerId };
    }, h),
    CreateUser: unaryHandler(async (request) => {
      await existing(request.brokerId);
      await users.createUser(request);
      return {};
    }, h),
    UpdateUser: unaryHandler(async (request) => {
      await existing(request.brokerId);
      await users.updateUser(request);
      return {};
    }, h),
    DeleteUser: unaryHandler(async (request) => {
      await existing(request.brokerId);
      await users.deleteUser(request);
      return {};
    }, h),
    ListUsers: unaryHandler(async (request) => {
      const broker = await existing(request.brokerId);
      const { items, nextToken } = page(broker.users, request.maxResults, request.nextToken);
      return {
        brokerId: broker.brokerId,
        users: items.map((u) => ({ username: u.username, pendingChange: '' })),
        maxResults: request.maxResults,
        nextToken,
      };
    }, h),
    DescribeUser: unaryHandler(async (request) => {
      const broker = await existing(request.brokerId);
      const user = broker.users.find((u) => u.username === request.username);
      if (user === undefined) {
        throw notFound(`user ${request.username} does not exist on broker ${broker.brokerId}`, {
          details: { field: 'username' },
        });
      }
      return {
        brokerId: broker.brokerId,
        username: user.username,
        consoleAccess: user.consoleAccess,
        groups: [...user.groups],
        replicationUser: user.replicationUser,
      };
    }, h),
  };
}
