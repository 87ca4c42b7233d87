import { timingSafeEqual } from 'node:crypto';
import { badRequest, hasErrorCode, notFound, unauthenticated } from '@crdr/errors';
import type { BasicCredentials } from '@crdr/proto';
import type { BrokerRepository } from '../adapters/pg/broker.repository.js';
import type { StaticProvisioner } from '../adapters/provisioning/static-provisioner.js';
import type { ControlPlaneConfig } from '../config.js';
import { asBrokerId, type BrokerInstanceEndpoints } from '../domain/broker.types.js';
import { toEndpoints } from './broker-processes.js';
import { adminUsername } from './context.js';

/**
 * Static provisioning's rules, in one place:
 * - a broker created through the API gets its name as its broker id, so the containers started
 *   with BROKER_ID=<name> are its instances (Amazon MQ's ids are opaque: nothing relies on the
 *   `b-<uuid>` shape);
 * - the control plane administers it with the shared console user CONTROL_PLANE_BROKER_ADMIN_USER
 *   (default crdr-cp-<region>) / CONTROL_PLANE_BROKER_ADMIN_PASSWORD, which the brokers create at
 *   start from BROKER_CONTROL_PLANE_USER / BROKER_CONTROL_PLANE_PASSWORD;
 * - an instance registers with those same credentials, under the id of a broker CreateBroker
 *   created (NotFound before: the broker retries until the operator creates it).
 */
export function staticAdminUser(config: Readonly<ControlPlaneConfig>): string {
  return config.CONTROL_PLANE_BROKER_ADMIN_USER ?? adminUsername(config.CONTROL_PLANE_REGION);
}

export function staticAdminCredentials(config: Readonly<ControlPlaneConfig>): {
  username: string;
  password: string;
} {
  const password = config.CONTROL_PLANE_BROKER_ADMIN_PASSWORD;
  if (password === undefined) {
    throw badRequest('CONTROL_PLANE_BROKER_ADMIN_PASSWORD is required for static provisioning', {
      details: { field: 'CONTROL_PLANE_BROKER_ADMIN_PASSWORD' },
    });
  }
  return { username: staticAdminUser(config), password };
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

export interface RegistrationRequest {
  readonly brokerId: string;
  readonly instanceId: string;
  readonly stomp: string;
  readonly ws: string;
  readonly grpc: string;
}

/** RegisterBrokerInstance: checks the caller's credentials and the broker id, then records it. */
export async function registerStaticInstance(
  deps: {
    readonly config: Readonly<ControlPlaneConfig>;
    readonly repository: BrokerRepository;
    readonly provisioner: StaticProvisioner;
  },
  credentials: BasicCredentials | undefined,
  request: RegistrationRequest,
): Promise<void> {
  const expected = staticAdminCredentials(deps.config);
  if (credentials === undefined) {
    throw unauthenticated(
      'RegisterBrokerInstance needs Basic credentials: the broker sends ' +
        'BROKER_CONTROL_PLANE_USER / BROKER_CONTROL_PLANE_PASSWORD',
    );
  }
  if (
    !sameSecret(credentials.username, expected.username) ||
    !sameSecret(credentials.password, expected.password)
  ) {
    throw unauthenticated(
      `bad credentials for user "${credentials.username}": BROKER_CONTROL_PLANE_USER / ` +
        "BROKER_CONTROL_PLANE_PASSWORD must equal the control plane's " +
        'CONTROL_PLANE_BROKER_ADMIN_USER / CONTROL_PLANE_BROKER_ADMIN_PASSWORD',
    );
  }
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(request.brokerId)) {
    throw badRequest(
      `invalid broker_id "${request.brokerId}": 1-100 letters, digits, dots, dashes, underscores`,
      { details: { field: 'broker_id' } },
    );
  }
  for (const field of ['instanceId', 'stomp', 'ws', 'grpc'] as const) {
    if (request[field] === '') {
      throw badRequest(`invalid ${field}: it is required`, { details: { field } });
    }
  }
  for (const field of ['stomp', 'ws', 'grpc'] as const) {
    if (!/^[^\s/]+:\d{1,5}$/.test(request[field])) {
      throw badRequest(`invalid ${field} "${request[field]}": must be HOST:PORT`, {
        details: { field },
      });
    }
  }
  const broker = await deps.repository.load(asBrokerId(request.brokerId));
  if (!broker.exists || broker.state === 'DELETED' || broker.state === 'DELETION_IN_PROGRESS') {
    throw notFound(
      `broker ${request.brokerId} is not known to this control plane (region ` +
        `${deps.config.CONTROL_PLANE_REGION}): create it first, e.g. mqctl create-broker ` +
        `--broker-name ${request.brokerId} (with static provisioning a broker's id is its name)`,
      { details: { field: 'broker_id' } },
    );
  }
  await deps.provisioner.register(request.brokerId, {
    instanceId: request.instanceId,
    stomp: request.stomp,
    ws: request.ws,
    grpc: request.grpc,
  });
  // The orchestrator restarted or replaced an instance (a pod comes back with a new IP, or under
  // a new name): the registry follows its registration, so that DescribeBroker and the control
  // plane's admin calls reach it without a reboot. A creation or reboot in progress records the
  // instances itself when it ends.
  if (broker.state !== 'RUNNING') return;
  const wanted = broker.spec.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ' ? 2 : 1;
  const instances = toEndpoints(deps.provisioner.registered(request.brokerId, wanted));
  if (instances.length < wanted) return;
  // Field by field: the stored instances come back from jsonb with their keys reordered.
  const key = (i: BrokerInstanceEndpoints): string =>
    [i.instanceId, i.stomp, i.ws, i.grpc, i.admin ?? ''].join(' ');
  if (instances.map(key).join('\n') === broker.instances.map(key).join('\n')) return;
  try {
    await deps.repository.handle(asBrokerId(request.brokerId), {
      type: 'RecordInstancesRestarted',
      instances,
      at: new Date().toISOString(),
    });
  } catch (error) {
    // Another step changed the broker meanwhile: the next heartbeat tries again.
    if (!hasErrorCode(error, 'Conflict')) throw error;
  }
}
