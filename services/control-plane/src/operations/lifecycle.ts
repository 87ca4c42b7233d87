import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, toCrdrError } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { dropDatabase } from '@crdr/store';
import {
  asBrokerId,
  type BrokerAggregate,
  type BrokerId,
  type BrokerUser,
} from '../domain/broker.types.js';
import {
  brokerArn,
  primaryEligibilityFailures,
  validateCreateBroker,
} from '../domain/broker.validation.js';
import {
  brokerAdmin,
  brokerProcessSpec,
  createBrokerUsers,
  toEndpoints,
} from './broker-processes.js';
import {
  adminUsername,
  brokerDbUrl,
  handleWithRetry,
  hashUserPassword,
  withPasswordHash,
  type OperationsContext,
} from './context.js';
import { forceUnpair, startReplicationAsPrimary, unpair } from './pairing.js';
import { staticAdminCredentials, staticAdminUser } from './static-registration.js';
import { isStaticProvisioner } from '../adapters/provisioning/static-provisioner.js';

const reasonOf = (error: unknown): string => toCrdrError(error).message.slice(0, 2_000);

/** CreateBroker, RebootBroker and DeleteBroker: recorded at once, carried out in the background. */
export function createLifecycleOperations(context: OperationsContext) {
  const region = context.config.CONTROL_PLANE_REGION;

  async function provision(brokerId: BrokerId): Promise<void> {
    const broker = await context.repository.load(brokerId);
    try {
      const instances = toEndpoints(
        await context.provisioner.startBroker(brokerProcessSpec(context, broker)),
      );
      const admin = brokerAdmin(context, broker, instances);
      if (broker.role === 'REPLICA' && broker.counterpart !== undefined) {
        // Refused clients are told where the primary is.
        await admin.setRole({
          role: 'REPLICA',
          epoch: broker.epoch.toString(),
          primaryRegion: broker.counterpart.region,
          primaryBrokerId: broker.counterpart.brokerId,
        });
      }
      await createBrokerUsers(context, admin, broker);
      await handleWithRetry(context, brokerId, {
        type: 'RecordBrokerCreated',
        instances,
        at: context.now(),
      });
      context.log.info({ brokerId, instances: instances.length }, 'broker created');
    } catch (error) {
      if (context.stopping()) return;
      context.log.warn({ err: error, brokerId }, 'broker creation failed');
      await context.provisioner.stopBroker(brokerId, { graceful: false }).catch(() => undefined);
      await handleWithRetry(context, brokerId, {
        type: 'RecordBrokerCreationFailed',
        reason: reasonOf(error),
        at: context.now(),
      });
      if (broker.role === 'REPLICA' && broker.counterpart !== undefined) {
        await context
          .peer(broker.counterpart.region, 'data_replication_primary_broker_arn')
          .detachReplica({
            primaryBrokerId: broker.counterpart.brokerId,
            replica: { brokerId, region },
          })
          .catch((detachError: unknown) =>
            context.log.warn({ err: detachError, brokerId }, 'could not detach from the primary'),
          );
      }
    }
  }

  async function reboot(brokerId: BrokerId): Promise<void> {
    let broker = await context.repository.load(brokerId);
    try {
      // A graceful stop: clients are disconnected, in-flight writes commit, the lease is freed.
      await context.provisioner.stopBroker(brokerId, { graceful: true });
      const instances = toEndpoints(
        await context.provisioner.startBroker(brokerProcessSpec(context, broker)),
      );
      broker = { ...broker, instances };
      const pending = broker.pendingDataReplicationMode;
      if (broker.role !== undefined && pending === 'NONE') await unpair(context, broker);
      else if (broker.role === 'PRIMARY' && pending === 'CRDR') {
        await startReplicationAsPrimary(context, broker);
      }
      await handleWithRetry(context, brokerId, {
        type: 'RecordRebooted',
        instances,
        at: context.now(),
      });
      context.log.info({ brokerId }, 'broker rebooted');
    } catch (error) {
      if (context.stopping()) return;
      context.log.warn({ err: error, brokerId }, 'broker reboot failed');
      await handleWithRetry(context, brokerId, {
        type: 'RecordRebootFailed',
        reason: reasonOf(error),
        at: context.now(),
      });
    }
  }

  async function remove(brokerId: BrokerId): Promise<void> {
    try {
      await context.provisioner.stopReplicator(brokerId, { graceful: false });
      await context.provisioner.stopBroker(brokerId, { graceful: true });
      if (isStaticProvisioner(context.provisioner)) {
        // The deployment owns a static broker's store (its BROKER_DB_URL and volume).
        await context.provisioner.forget(brokerId);
      } else {
        await dropDatabase(brokerDbUrl(context.config, brokerId));
      }
      await handleWithRetry(context, brokerId, { type: 'RecordDeleted', at: context.now() });
      context.log.info({ brokerId }, 'broker deleted');
    } catch (error) {
      context.log.error({ err: error, brokerId }, 'broker deletion failed; retry DeleteBroker');
    }
  }

  /** Adopts the broker's running instances and starts those that died. */
  async function restartProcesses(broker: BrokerAggregate): Promise<void> {
    try {
      const instances = toEndpoints(
        await context.provisioner.startBroker(brokerProcessSpec(context, broker)),
      );
      await handleWithRetry(context, broker.brokerId, {
        type: 'RecordInstancesRestarted',
        instances,
        at: context.now(),
      });
    } catch (error) {
      if (context.stopping()) return;
      // The supervisor does not know a broker that never started: retry later by a reboot.
      context.log.error(
        { err: error, brokerId: broker.brokerId },
        'the broker could not be started again; RebootBroker retries',
      );
    }
  }

  async function restartReplicator(brokerId: BrokerId): Promise<void> {
    try {
      const replicator = await context.provisioner.resumeReplicator(brokerId);
      if (replicator !== undefined)
        context.log.info({ brokerId, grpc: replicator.grpc }, 'replicator running');
    } catch (error) {
      if (context.stopping()) return;
      context.log.error({ err: error, brokerId }, 'the replicator could not be started again');
    }
  }

  async function checkPrimary(
    arnField: string,
    primary: { brokerId: string; region: string },
  ): Promise<BrokerUser[]> {
    const described = await context.peer(primary.region, arnField).describePrimary({
      brokerId: primary.brokerId,
    });
    const failures = primaryEligibilityFailures({
      brokerId: described.brokerId,
      brokerState: described.brokerState,
      engineVersion: described.engineVersion,
      hostInstanceType: described.hostInstanceType,
      deploymentMode: described.deploymentMode,
      dataReplicationRole: described.dataReplicationRole,
    });
    if (failures.length > 0) {
      throw badRequest(
        `invalid ${arnField}: broker ${primary.brokerId} in ${primary.region} is not eligible ` +
          `as a CRDR primary: ${failures.join('; ')}`,
        { details: { field: arnField, failures: failures.join('; ') } },
      );
    }
    const copied = described.users.filter((u) => u.username !== adminUsername(primary.region));
    return Promise.all(
      copied.map(async (u) => ({
        username: u.username,
        // A peer Region not upgraded yet still sends the password: it is hashed here.
        passwordHash:
          u.passwordHash !== ''
            ? u.passwordHash
            : await hashUserPassword(context.config, u.password),
        consoleAccess: u.consoleAccess,
        groups: [...u.groups],
        replicationUser: u.replicationUser,
      })),
    );
  }

  return {
    async createBroker(
      request: controlPlaneV1.CreateBrokerRequest__Output,
    ): Promise<controlPlaneV1.CreateBrokerResponse> {
      const valid = validateCreateBroker(
        {
          brokerName: request.brokerName,
          engineType: request.engineType,
          engineVersion: request.engineVersion,
          hostInstanceType: request.hostInstanceType,
          deploymentMode: request.deploymentMode,
          users: request.users.map((u) => ({
            username: u.username,
            password: u.password,
            consoleAccess: u.consoleAccess,
            groups: u.groups,
            replicationUser: u.replicationUser,
          })),
          dataReplicationMode: request.dataReplicationMode,
          dataReplicationPrimaryBrokerArn: request.dataReplicationPrimaryBrokerArn,
        },
        region,
      );
      const staticProvisioning = context.provisioner.kind === 'static';
      const admin = staticProvisioning ? staticAdminUser(context.config) : adminUsername(region);
      if (valid.spec.users.some((u) => u.username === admin)) {
        throw badRequest(`invalid users.username: ${admin} is reserved for the control plane`, {
          details: { field: 'users.username' },
        });
      }
      if (request.creatorRequestId !== '') {
        const existing = (await context.repository.list()).find(
          (b) => b.creatorRequestId === request.creatorRequestId,
        );
        if (existing !== undefined) {
          return { brokerId: existing.brokerId, brokerArn: existing.brokerArn };
        }
      }
      let users: BrokerUser[] = await Promise.all(
        valid.spec.users.map((u) => withPasswordHash(context.config, u)),
      );
      const arnField = 'data_replication_primary_broker_arn';
      if (valid.replicaOf !== undefined) {
        // Users are copied once from the primary; the request's own win on a name clash.
        const copied = await checkPrimary(arnField, valid.replicaOf);
        users = [
          ...users,
          ...copied.filter((u) => !users.some((own) => own.username === u.username)),
        ];
      }
      // Static provisioning: the broker's id is its name, the BROKER_ID its containers run with.
      const brokerId = asBrokerId(staticProvisioning ? valid.spec.brokerName : `b-${randomUUID()}`);
      const arn = brokerArn(region, valid.spec.brokerName, brokerId);
      await context.repository.handle(brokerId, {
        type: 'RequestBrokerCreation',
        brokerId,
        brokerArn: arn,
        region,
        spec: { ...valid.spec, users },
        adminUser: staticProvisioning
          ? staticAdminCredentials(context.config)
          : { username: admin, password: randomBytes(18).toString('base64url') },
        creatorRequestId: request.creatorRequestId === '' ? undefined : request.creatorRequestId,
        replicaOf: valid.replicaOf,
        at: context.now(),
      });
      if (valid.replicaOf !== undefined) {
        try {
          await context.peer(valid.replicaOf.region, arnField).attachReplica({
            primaryBrokerId: valid.replicaOf.brokerId,
            replica: { brokerId, region },
          });
        } catch (error) {
          await handleWithRetry(context, brokerId, {
            type: 'RecordBrokerCreationFailed',
            reason: `the primary refused the pairing: ${reasonOf(error)}`,
            at: context.now(),
          });
          throw error;
        }
      }
      context.background(`create ${brokerId}`, () => provision(brokerId));
      return { brokerId, brokerArn: arn };
    },

    async rebootBroker(brokerId: string): Promise<void> {
      const id = asBrokerId(brokerId);
      await context.repository.handle(id, { type: 'RequestReboot', at: context.now() });
      context.background(`reboot ${brokerId}`, () => reboot(id));
    },

    /** UpdateBroker NONE with `force`: standalone at once, without the peer Region. */
    async forceUnpair(brokerId: string): Promise<void> {
      const broker = await context.repository.load(asBrokerId(brokerId));
      if (broker.role === undefined) return;
      if (broker.promotion !== undefined) {
        // The decider refuses it with the reason; nothing is stopped before.
        await context.repository.handle(broker.brokerId, {
          type: 'ForceUnpair',
          at: context.now(),
        });
      }
      await forceUnpair(context, broker);
    },

    async deleteBroker(brokerId: string): Promise<void> {
      const id = asBrokerId(brokerId);
      await context.repository.handle(id, { type: 'RequestDeletion', at: context.now() });
      context.background(`delete ${brokerId}`, () => remove(id));
    },

    /**
     * After a restart: finish what was in progress when the control plane stopped, and start
     * again the processes of running brokers that died while it was away (with the endpoints
     * they keep). Paired primaries are the promotion's to restart (held until checked).
     */
    async resume(): Promise<void> {
      for (const broker of await context.repository.list()) {
        if (context.provisioner.kind === 'local' && broker.exists && broker.state === 'RUNNING') {
          const pairedPrimary = broker.role === 'PRIMARY' && broker.counterpart !== undefined;
          if (!pairedPrimary)
            context.background(`restart ${broker.brokerId}`, () => restartProcesses(broker));
          if (broker.role === 'REPLICA')
            context.background(`restart the replicator of ${broker.brokerId}`, () =>
              restartReplicator(broker.brokerId),
            );
        }
        const resumeStep = resumable(broker);
        if (resumeStep === 'create')
          context.background(`create ${broker.brokerId}`, () => provision(broker.brokerId));
        if (resumeStep === 'reboot')
          context.background(`reboot ${broker.brokerId}`, () => reboot(broker.brokerId));
        if (resumeStep === 'delete')
          context.background(`delete ${broker.brokerId}`, () => remove(broker.brokerId));
      }
    },
  };
}

function resumable(broker: BrokerAggregate): 'create' | 'reboot' | 'delete' | undefined {
  if (!broker.exists) return undefined;
  if (broker.state === 'CREATION_IN_PROGRESS') return 'create';
  if (broker.state === 'REBOOT_IN_PROGRESS') return 'reboot';
  if (broker.state === 'DELETION_IN_PROGRESS') return 'delete';
  return undefined;
}
