import { hasErrorCode } from '@crdr/errors';
import { createBrokerAdmin, type BrokerAdmin } from '../adapters/broker/broker-admin.client.js';
import type {
  BrokerInstanceInfo,
  BrokerProcessSpec,
} from '../adapters/provisioning/provisioner.js';
import type { BrokerAggregate, BrokerInstanceEndpoints } from '../domain/broker.types.js';
import { brokerDbUrl, type OperationsContext } from './context.js';

/**
 * How a broker of this Region is started: its own database, the control plane's console user
 * (BROKER_CONTROL_PLANE_USER/PASSWORD), this Region's NATS for the relay (BROKER_NATS_*) and, for a replica, the
 * REPLICA role from its first start, so it never serves a client before it knows its primary.
 */
export function brokerProcessSpec(
  context: OperationsContext,
  broker: BrokerAggregate,
): BrokerProcessSpec {
  const c = context.config;
  const env: Record<string, string> = {
    LOG_LEVEL: c.CONTROL_PLANE_CHILD_LOG_LEVEL,
    // The control plane's console user is the broker's bootstrap user, never stored in its
    // store: left out of the replicated state and of the digest, a reboot of either broker of a
    // pair cannot make the two stores differ. No other user is created at start (the default
    // admin:admin of a standalone broker included): the broker's users come from its spec.
    BROKER_USERS: '',
    BROKER_CONTROL_PLANE_USER: broker.adminUser.username,
    BROKER_CONTROL_PLANE_PASSWORD: broker.adminUser.password,
    BROKER_INITIAL_ROLE: broker.role === 'REPLICA' ? 'REPLICA' : 'PRIMARY',
  };
  const optional: Record<string, string | undefined> = {
    BROKER_NATS_URL: c.CONTROL_PLANE_NATS_URL,
    BROKER_NATS_USER: c.CONTROL_PLANE_NATS_USER,
    BROKER_NATS_PASSWORD: c.CONTROL_PLANE_NATS_PASSWORD,
    BROKER_NATS_TLS_CA: c.CONTROL_PLANE_NATS_TLS_CA,
    BROKER_NATS_TLS_CERT: c.CONTROL_PLANE_NATS_TLS_CERT,
    BROKER_NATS_TLS_KEY: c.CONTROL_PLANE_NATS_TLS_KEY,
    BROKER_SCRYPT_COST: c.CONTROL_PLANE_BROKER_SCRYPT_COST?.toString(),
    BROKER_AUTHORIZATION: c.CONTROL_PLANE_BROKER_AUTHORIZATION,
    BROKER_LEASE_TTL_MS: c.CONTROL_PLANE_BROKER_LEASE_TTL_MS?.toString(),
    BROKER_LEASE_RENEW_MS:
      c.CONTROL_PLANE_BROKER_LEASE_TTL_MS === undefined
        ? undefined
        : String(Math.max(1, Math.floor(c.CONTROL_PLANE_BROKER_LEASE_TTL_MS / 4))),
  };
  for (const [name, value] of Object.entries(optional)) if (value !== undefined) env[name] = value;
  return {
    brokerId: broker.brokerId,
    brokerName: broker.spec.brokerName,
    region: broker.region,
    deploymentMode: broker.spec.deploymentMode,
    hostInstanceType: broker.spec.hostInstanceType,
    dbUrl: brokerDbUrl(c, broker.brokerId),
    env,
    // Endpoints are given out once, at creation, and kept for the broker's whole life.
    ...(broker.instances.length === 0 ? {} : { instances: broker.instances }),
  };
}

export const toEndpoints = (instances: readonly BrokerInstanceInfo[]): BrokerInstanceEndpoints[] =>
  instances.map((i) => ({
    instanceId: i.instanceId,
    stomp: i.stomp,
    ws: i.ws,
    grpc: i.grpc,
    ...(i.admin === undefined ? {} : { admin: i.admin }),
  }));

export function brokerAdmin(
  context: OperationsContext,
  broker: BrokerAggregate,
  instances: readonly BrokerInstanceEndpoints[] = broker.instances,
): BrokerAdmin {
  return createBrokerAdmin(
    instances,
    broker.adminUser,
    context.config.CONTROL_PLANE_BROKER_READY_TIMEOUT_MS,
  );
}

/** The epoch to set a role with: never below what the broker already stores (it refuses). */
export async function currentEpoch(admin: BrokerAdmin, broker: BrokerAggregate): Promise<bigint> {
  const role = await admin.withActive((a) => a.getRole({}));
  const stored = BigInt(role.epoch);
  return stored > broker.epoch ? stored : broker.epoch;
}

/** Creates the broker's users through its admin API; those that exist already are kept. */
export async function createBrokerUsers(
  context: OperationsContext,
  admin: BrokerAdmin,
  broker: BrokerAggregate,
): Promise<void> {
  for (const user of broker.users) {
    try {
      await admin.withActive((a) =>
        a.createUser({
          username: user.username,
          passwordHash: user.passwordHash,
          groups: [...user.groups],
          consoleAccess: user.consoleAccess,
          replicationUser: user.replicationUser,
        }),
      );
    } catch (error) {
      if (hasErrorCode(error, 'Conflict')) continue;
      // A replica's users arrive with the primary's snapshot; its own may be refused before.
      if (broker.role === 'REPLICA') {
        context.log.warn(
          { err: error, brokerId: broker.brokerId, username: user.username },
          'user not created on the replica broker; it is replicated from the primary',
        );
        continue;
      }
      throw error;
    }
  }
}
