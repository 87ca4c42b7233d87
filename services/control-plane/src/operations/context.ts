import { badRequest, hasErrorCode } from '@crdr/errors';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { hashPassword } from '@crdr/service';
import type { Logger } from '@crdr/telemetry';
import type { BrokerRepository } from '../adapters/pg/broker.repository.js';
import type { ReplicationLogAdmin } from '../adapters/nats/replication-log.admin.js';
import type { Provisioner } from '../adapters/provisioning/provisioner.js';
import type { ControlPlaneConfig } from '../config.js';
import type {
  BrokerAggregate,
  BrokerCommand,
  BrokerId,
  BrokerUser,
} from '../domain/broker.types.js';
import type { ValidUserInput } from '../domain/broker.validation.js';

export type PeerClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlanePeerService']
>;

/** What the operations share: the registry, the provisioner, this Region's NATS and its peers. */
export interface OperationsContext {
  readonly config: Readonly<ControlPlaneConfig>;
  readonly log: Logger;
  readonly repository: BrokerRepository;
  readonly provisioner: Provisioner;
  /** Undefined without CONTROL_PLANE_NATS_URL: brokers here cannot be CRDR primaries then. */
  readonly replicationLog: ReplicationLogAdmin | undefined;
  peer(region: string, field: string): PeerClient;
  now(): string;
  /** Runs a background step; its failure is logged (the step records its own outcome). */
  background(name: string, work: () => Promise<void>): void;
  /** Waits for the background steps in flight (shutdown, tests). */
  drain(): Promise<void>;
  /** True once stop() began: a step failing now is left in progress, resumed at the next start. */
  stopping(): boolean;
}

/** The broker's own Postgres database on CONTROL_PLANE_BROKER_PG_URL: <prefix><id>, crdr_<region>_<id> by default. */
export function brokerDbUrl(config: Readonly<ControlPlaneConfig>, brokerId: string): string {
  const url = new URL(config.CONTROL_PLANE_BROKER_PG_URL);
  const prefix = config.CONTROL_PLANE_BROKER_DB_PREFIX ?? `crdr_${config.CONTROL_PLANE_REGION}_`;
  const name = `${prefix}${brokerId}`.replace(/[^A-Za-z0-9_]/g, '_');
  url.pathname = `/${name.slice(0, 63)}`;
  return url.toString();
}

/**
 * A password's scrypt hash, made before anything is recorded: the event store, the brokers and
 * the peer Region only ever see the hash (CONTROL_PLANE_BROKER_SCRYPT_COST sets its cost).
 */
export function hashUserPassword(
  config: Readonly<ControlPlaneConfig>,
  password: string,
): Promise<string> {
  const cost = config.CONTROL_PLANE_BROKER_SCRYPT_COST;
  return hashPassword(password, cost === undefined ? {} : { scrypt: { cost } });
}

/** A validated user, its password replaced by the hash. */
export async function withPasswordHash(
  config: Readonly<ControlPlaneConfig>,
  user: ValidUserInput,
): Promise<BrokerUser> {
  const { password, ...rest } = user;
  return {
    ...rest,
    groups: [...rest.groups],
    passwordHash: await hashUserPassword(config, password),
  };
}

/** The console user the control plane keeps on each broker; per Region, so that a replicated
 * copy of the primary's never overwrites the replica Region's own. */
export const adminUsername = (region: string): string => `crdr-cp-${region}`;

/**
 * `repository.handle` retried when another step changed the broker meanwhile: internal steps
 * (unlike API calls, which report the Conflict) re-decide against the new state.
 */
export async function handleWithRetry(
  context: OperationsContext,
  brokerId: BrokerId,
  command: BrokerCommand,
): Promise<BrokerAggregate> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await context.repository.handle(brokerId, command);
    } catch (error) {
      const concurrent =
        hasErrorCode(error, 'Conflict') && error.details['state'] === 'CONCURRENT_MODIFICATION';
      if (!concurrent || attempt >= 10) throw error;
    }
  }
}

export function createPeerClients(peers: Readonly<Record<string, string>>): {
  get(region: string, field: string): PeerClient;
  close(): void;
} {
  const clients = new Map<string, PeerClient>();
  return {
    get(region, field) {
      const address = peers[region];
      if (address === undefined) {
        throw badRequest(
          `invalid ${field}: no control plane is known for Region ${region} ` +
            `(known: ${Object.keys(peers).join(', ') || 'none'}; see CONTROL_PLANE_PEERS)`,
          { details: { field } },
        );
      }
      let client = clients.get(region);
      if (client === undefined) {
        client = createClient(loadProto().crdr.controlplane.v1.ControlPlanePeerService, address, {
          deadlineMs: 120_000,
        });
        clients.set(region, client);
      }
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}
