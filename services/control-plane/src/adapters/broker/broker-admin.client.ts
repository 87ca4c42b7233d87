import { setTimeout as sleep } from 'node:timers/promises';
import { unavailable } from '@crdr/errors';
import {
  createClient,
  loadProto,
  type brokerV1,
  type ClientOf,
  type ProtoGrpcType,
} from '@crdr/proto';
import {
  adminAddress,
  type AdminCredentials,
  type BrokerInstanceEndpoints,
} from '../../domain/broker.types.js';

export type BrokerAdminClient = ClientOf<
  ProtoGrpcType['crdr']['broker']['v1']['BrokerAdminService']
>;

interface InstanceProbe {
  readonly instance: BrokerInstanceEndpoints;
  readonly serving: boolean;
  readonly role: string;
}

function adminClient(
  instance: BrokerInstanceEndpoints,
  credentials: AdminCredentials,
): BrokerAdminClient {
  return createClient(loadProto().crdr.broker.v1.BrokerAdminService, adminAddress(instance), {
    credentials,
    deadlineMs: 15_000,
  });
}

async function probe(
  instance: BrokerInstanceEndpoints,
  credentials: AdminCredentials,
): Promise<InstanceProbe> {
  const admin = adminClient(instance, credentials);
  try {
    const [stats, role] = await Promise.all([admin.getStats({}), admin.getRole({})]);
    return { instance, serving: stats.serving, role: role.role };
  } finally {
    admin.close();
  }
}

/**
 * Waits until the broker answers: the instance that serves clients (the lease holder of a
 * primary) or, for a replica, which serves nobody, any instance that answers.
 */
async function answeringInstances(
  instances: readonly BrokerInstanceEndpoints[],
  credentials: AdminCredentials,
  timeoutMs: number,
): Promise<InstanceProbe[]> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const probes = await Promise.all(
      instances.map((instance) =>
        probe(instance, credentials).catch((error: unknown) => {
          lastError = error;
          return undefined;
        }),
      ),
    );
    const answered = probes.filter((p): p is InstanceProbe => p !== undefined);
    if (answered.some((p) => p.serving || p.role === 'REPLICA')) {
      return answered.sort((a, b) => Number(b.serving) - Number(a.serving));
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? lastError.message : 'no instance serves yet';
      throw unavailable(`the broker did not answer as active within ${timeoutMs} ms: ${why}`, {
        cause: lastError,
      });
    }
    await sleep(250);
  }
}

export interface BrokerAdmin {
  /** Runs `fn` against the serving instance (or a replica's first answering one). */
  withActive<T>(fn: (admin: BrokerAdminClient) => Promise<T>): Promise<T>;
  /**
   * SetRole on every instance, the serving one first: the role lives in the shared store, but
   * each process keeps its own copy (a standby must refuse clients the same way once it
   * takes over). Turning CRDR on snapshots the store on the serving instance.
   */
  setRole(request: brokerV1.SetRoleRequest): Promise<brokerV1.GetRoleResponse__Output>;
}

export function createBrokerAdmin(
  instances: readonly BrokerInstanceEndpoints[],
  credentials: AdminCredentials,
  timeoutMs = 60_000,
): BrokerAdmin {
  return {
    async withActive(fn) {
      const [first] = await answeringInstances(instances, credentials, timeoutMs);
      const admin = adminClient(first!.instance, credentials);
      try {
        return await fn(admin);
      } finally {
        admin.close();
      }
    },
    async setRole(request) {
      const ordered = await answeringInstances(instances, credentials, timeoutMs);
      let state: brokerV1.GetRoleResponse__Output | undefined;
      for (const [index, p] of ordered.entries()) {
        const admin = adminClient(p.instance, credentials);
        try {
          const response = await admin.setRole(request);
          state ??= response.state ?? undefined;
        } catch (error) {
          // The serving instance must take it; a standby that fails reads the store on takeover.
          if (index === 0) throw error;
        } finally {
          admin.close();
        }
      }
      if (state === undefined) throw unavailable('SetRole returned no role');
      return state;
    },
  };
}

/**
 * ACTIVE (holds the lease and serves), STANDBY (waits, or a replica's instance), or UNREACHABLE,
 * for each instance: what DescribeBroker shows in BrokerInstances.InstanceState.
 */
export async function instanceStates(
  instances: readonly BrokerInstanceEndpoints[],
  credentials: AdminCredentials,
  deadlineMs = 1_500,
): Promise<string[]> {
  return Promise.all(
    instances.map(async (instance) => {
      const admin = createClient(
        loadProto().crdr.broker.v1.BrokerAdminService,
        adminAddress(instance),
        {
          credentials,
          deadlineMs,
        },
      );
      try {
        return (await admin.getStats({})).serving ? 'ACTIVE' : 'STANDBY';
      } catch {
        return 'UNREACHABLE';
      } finally {
        admin.close();
      }
    }),
  );
}
