import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, failedPrecondition, notFound } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import { asBrokerId, type BrokerAggregate, type Counterpart } from '../domain/broker.types.js';
import { brokerAdmin, currentEpoch } from './broker-processes.js';
import { brokerDbUrl, handleWithRetry, type OperationsContext } from './context.js';

/**
 * Pairing across Regions. The primary's Region owns the log (its NATS, the stream, the
 * replica's consumer); the replica's Region owns the replicator. Every step is idempotent, so a
 * failed reboot is simply retried by rebooting again.
 */

const counterpartOf = (b: BrokerAggregate): Counterpart => {
  if (b.counterpart === undefined) {
    throw conflict(`broker ${b.brokerId} is not paired`, { details: { state: 'UNPAIRED' } });
  }
  return b.counterpart;
};

async function loadExisting(context: OperationsContext, id: string): Promise<BrokerAggregate> {
  const broker = await context.repository.load(asBrokerId(id));
  if (!broker.exists || broker.state === 'DELETED') {
    throw notFound(`broker ${id} does not exist in ${context.config.CONTROL_PLANE_REGION}`, {
      details: { field: 'broker_id' },
    });
  }
  return broker;
}

/** RebootBroker of a primary with PendingDataReplicationMode CRDR: the log starts, then the replicator. */
export async function startReplicationAsPrimary(
  context: OperationsContext,
  broker: BrokerAggregate,
): Promise<void> {
  const replica = counterpartOf(broker);
  const c = context.config;
  if (context.replicationLog === undefined || c.CONTROL_PLANE_REPLICATION_NATS_URL === undefined) {
    throw failedPrecondition(
      `broker ${broker.brokerId} cannot replicate: CONTROL_PLANE_NATS_URL is not set in ${c.CONTROL_PLANE_REGION}`,
    );
  }
  const admin = brokerAdmin(context, broker);
  const epoch = await currentEpoch(admin, broker);
  // Turning CRDR on starts the broker's log with a snapshot of its store (broker SetRole).
  await admin.setRole({ role: 'PRIMARY', epoch: epoch.toString(), dataReplicationMode: 'CRDR' });
  await context.replicationLog.ensureConsumer(
    broker.brokerId,
    replica.brokerId,
    c.CONTROL_PLANE_BROKER_READY_TIMEOUT_MS,
  );
  const caPem =
    c.CONTROL_PLANE_NATS_TLS_CA === undefined
      ? ''
      : await readFile(c.CONTROL_PLANE_NATS_TLS_CA, 'utf8');
  await context.peer(replica.region, 'data_replication_counterpart').startReplication({
    replicaBrokerId: replica.brokerId,
    primary: { brokerId: broker.brokerId, region: broker.region },
    natsUrl: c.CONTROL_PLANE_REPLICATION_NATS_URL,
    natsUser: c.CONTROL_PLANE_REPLICATION_USER ?? '',
    natsPassword: c.CONTROL_PLANE_REPLICATION_PASSWORD ?? '',
    natsCaPem: caPem,
    natsInboxPrefix: c.CONTROL_PLANE_REPLICATION_INBOX_PREFIX ?? '',
    epoch: epoch.toString(),
  });
  await handleWithRetry(context, broker.brokerId, {
    type: 'RecordReplicationStarted',
    epoch,
    replicatorGrpc: undefined,
    at: context.now(),
  });
}

type UnpairEvent = { readonly type: 'Unpair' | 'ForceUnpair'; readonly at: string };

/** Makes a paired primary standalone: no more log, its stream removed. */
async function standalonePrimary(
  context: OperationsContext,
  broker: BrokerAggregate,
  event: UnpairEvent = { type: 'Unpair', at: context.now() },
): Promise<void> {
  if (broker.instances.length > 0) {
    const admin = brokerAdmin(context, broker);
    const epoch = await currentEpoch(admin, broker);
    await admin.setRole({ role: 'PRIMARY', epoch: epoch.toString(), dataReplicationMode: 'NONE' });
  }
  await context.replicationLog?.removeStream(broker.brokerId);
  await handleWithRetry(context, broker.brokerId, event);
}

/** Makes a replica standalone: its replicator stops and it becomes a primary of its own. */
async function standaloneReplica(
  context: OperationsContext,
  broker: BrokerAggregate,
  event: UnpairEvent = { type: 'Unpair', at: context.now() },
): Promise<void> {
  await context.provisioner.stopReplicator(broker.brokerId, { graceful: true });
  if (broker.instances.length > 0) {
    const admin = brokerAdmin(context, broker);
    const epoch = await currentEpoch(admin, broker);
    await admin.setRole({ role: 'PRIMARY', epoch: epoch.toString(), dataReplicationMode: 'NONE' });
  }
  await handleWithRetry(context, broker.brokerId, event);
}

/** RebootBroker with PendingDataReplicationMode NONE: both sides become standalone. */
export async function unpair(context: OperationsContext, broker: BrokerAggregate): Promise<void> {
  const other = counterpartOf(broker);
  const self = { brokerId: broker.brokerId, region: broker.region };
  if (broker.role === 'PRIMARY') {
    await context
      .peer(other.region, 'data_replication_counterpart')
      .stopReplication({ replicaBrokerId: other.brokerId, primary: self });
    await standalonePrimary(context, broker);
  } else {
    await standaloneReplica(context, broker);
    await context
      .peer(other.region, 'data_replication_counterpart')
      .detachReplica({ primaryBrokerId: other.brokerId, replica: self });
  }
}

/**
 * UpdateBroker NONE with `force` (an extension): the broker becomes standalone at once, without
 * its peer Region, which is lost or cut off. The peer is told when it answers within a short
 * deadline; otherwise its broker learns it when it comes back (GetPromotionState lists the
 * brokers this one was force-unpaired from) and stays fenced (docs/design/partitions.md).
 */
export async function forceUnpair(
  context: OperationsContext,
  broker: BrokerAggregate,
): Promise<void> {
  const other = counterpartOf(broker);
  const self = { brokerId: broker.brokerId, region: broker.region };
  const event: UnpairEvent = { type: 'ForceUnpair', at: context.now() };
  const tellPeer = async () => {
    const peer = context.peer(other.region, 'data_replication_counterpart');
    try {
      if (broker.role === 'PRIMARY') {
        await peer.stopReplication(
          { replicaBrokerId: other.brokerId, primary: self },
          { deadlineMs: 2_000 },
        );
      } else {
        await peer.detachReplica(
          { primaryBrokerId: other.brokerId, replica: self },
          { deadlineMs: 2_000 },
        );
      }
    } catch (error) {
      context.log.warn(
        { err: error, brokerId: broker.brokerId, counterpart: other },
        'force unpair: the peer Region was not told; its broker learns it when it comes back',
      );
    }
  };
  if (broker.role === 'PRIMARY') {
    await tellPeer();
    await standalonePrimary(context, broker, event);
  } else {
    await standaloneReplica(context, broker, event);
    await tellPeer();
  }
  context.log.warn({ brokerId: broker.brokerId, counterpart: other }, 'broker force-unpaired');
}

/** Peer calls served for the other Region (ControlPlanePeerService). */
export function createPeerOperations(context: OperationsContext) {
  const c = context.config;
  return {
    async describePrimary(
      request: controlPlaneV1.DescribePrimaryRequest__Output,
    ): Promise<controlPlaneV1.DescribePrimaryResponse> {
      const b = await loadExisting(context, request.brokerId);
      return {
        brokerId: b.brokerId,
        brokerArn: b.brokerArn,
        brokerName: b.spec.brokerName,
        brokerState: b.state,
        engineType: b.spec.engineType,
        engineVersion: b.spec.engineVersion,
        hostInstanceType: b.spec.hostInstanceType,
        deploymentMode: b.spec.deploymentMode,
        dataReplicationMode: b.dataReplicationMode,
        dataReplicationRole: b.role ?? '',
        ...(b.counterpart === undefined ? {} : { dataReplicationCounterpart: b.counterpart }),
        // The hash, never the password (the peer copies users to a replica).
        users: b.users.map((u) => ({
          username: u.username,
          password: '',
          passwordHash: u.passwordHash,
          consoleAccess: u.consoleAccess,
          groups: [...u.groups],
          replicationUser: u.replicationUser,
        })),
        region: c.CONTROL_PLANE_REGION,
      };
    },

    async attachReplica(
      request: controlPlaneV1.AttachReplicaRequest__Output,
    ): Promise<controlPlaneV1.AttachReplicaResponse> {
      await loadExisting(context, request.primaryBrokerId);
      const replica = {
        brokerId: request.replica?.brokerId ?? '',
        region: request.replica?.region ?? '',
      };
      const b = await handleWithRetry(context, asBrokerId(request.primaryBrokerId), {
        type: 'AttachReplica',
        replica,
        at: context.now(),
      });
      return { primaryBrokerArn: b.brokerArn };
    },

    async detachReplica(
      request: controlPlaneV1.DetachReplicaRequest__Output,
    ): Promise<controlPlaneV1.DetachReplicaResponse> {
      const b = await loadExisting(context, request.primaryBrokerId);
      if (b.role !== 'PRIMARY' || b.counterpart?.brokerId !== request.replica?.brokerId) return {};
      await standalonePrimary(context, b);
      return {};
    },

    async startReplication(
      request: controlPlaneV1.StartReplicationRequest__Output,
    ): Promise<controlPlaneV1.StartReplicationResponse> {
      const b = await loadExisting(context, request.replicaBrokerId);
      const primary = request.primary;
      if (
        primary === null ||
        b.role !== 'REPLICA' ||
        b.counterpart?.brokerId !== primary.brokerId
      ) {
        throw conflict(
          `broker ${b.brokerId} is not the replica of ${primary?.brokerId ?? '(none)'}`,
          { details: { state: b.role ?? 'UNPAIRED' } },
        );
      }
      if (b.state !== 'RUNNING') {
        throw conflict(`replica ${b.brokerId} is ${b.state}, not RUNNING: retry the reboot`, {
          details: { state: b.state },
        });
      }
      const env: Record<string, string> = {
        LOG_LEVEL: c.CONTROL_PLANE_CHILD_LOG_LEVEL,
        REPLICATOR_DB_URL: brokerDbUrl(c, b.brokerId),
        REPLICATOR_NATS_URL: request.natsUrl,
      };
      if (request.natsUser !== '') env['REPLICATOR_NATS_USER'] = request.natsUser;
      if (request.natsPassword !== '') env['REPLICATOR_NATS_PASSWORD'] = request.natsPassword;
      if (request.natsInboxPrefix !== '')
        env['REPLICATOR_NATS_INBOX_PREFIX'] = request.natsInboxPrefix;
      if (request.natsCaPem !== '') {
        // The primary Region's CA, handed over with the credentials; kept in the state folder.
        const dir = join(c.CONTROL_PLANE_STATE_DIR, 'peer-ca');
        await mkdir(dir, { recursive: true });
        const file = join(dir, `${b.brokerId}.pem`);
        await writeFile(file, request.natsCaPem, { mode: 0o600 });
        env['REPLICATOR_NATS_TLS_CA'] = file;
      }
      if (
        c.CONTROL_PLANE_NATS_TLS_CERT !== undefined &&
        c.CONTROL_PLANE_NATS_TLS_KEY !== undefined
      ) {
        env['REPLICATOR_NATS_TLS_CERT'] = c.CONTROL_PLANE_NATS_TLS_CERT;
        env['REPLICATOR_NATS_TLS_KEY'] = c.CONTROL_PLANE_NATS_TLS_KEY;
      }
      const replicator = await context.provisioner.startReplicator({
        replicaBrokerId: b.brokerId,
        primaryBrokerId: primary.brokerId,
        env,
        ...(b.replicatorGrpc === undefined ? {} : { grpc: b.replicatorGrpc }),
      });
      await handleWithRetry(context, b.brokerId, {
        type: 'RecordReplicationStarted',
        epoch: BigInt(request.epoch),
        replicatorGrpc: replicator.grpc,
        at: context.now(),
      });
      return { replicatorGrpcEndpoint: replicator.grpc };
    },

    async stopReplication(
      request: controlPlaneV1.StopReplicationRequest__Output,
    ): Promise<controlPlaneV1.StopReplicationResponse> {
      const b = await loadExisting(context, request.replicaBrokerId);
      if (b.role !== 'REPLICA' || b.counterpart?.brokerId !== request.primary?.brokerId) return {};
      await standaloneReplica(context, b);
      return {};
    },
  };
}
