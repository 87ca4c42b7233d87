import { toCrdrError } from '@crdr/errors';
import { createClient, loadProto, type controlPlaneV1 } from '@crdr/proto';
import {
  replicationConsumerName,
  replicationHealth,
  type PairProgress,
  type ReplicationHealth,
  type ReplicatorReport,
  type ReplicatorSupervision,
} from '@crdr/replication';
import type { BrokerAggregate } from '../domain/broker.types.js';
import type { OperationsContext } from './context.js';

/** How long DescribeBroker waits for each live figure before showing what it has. */
const probeDeadlineMs = 2_000;

/**
 * The registry statuses of a pair that replicates: live health may show PAUSED or STALLED
 * instead. A pairing or a promotion in progress shows its own step.
 */
const steadyStatuses = new Set(['REPLICATING', 'PROMOTED', 'DEMOTED']);

/** A broker of this Region whose pair should be replicating now. */
export function replicatesNow(broker: BrokerAggregate): boolean {
  return (
    broker.state === 'RUNNING' &&
    broker.dataReplicationMode === 'CRDR' &&
    broker.role !== undefined &&
    broker.counterpart !== undefined &&
    steadyStatuses.has(broker.replicationStatus ?? '')
  );
}

export interface LocalPairView {
  readonly health: ReplicationHealth;
  readonly progress: PairProgress | undefined;
}

const errorText = (error: unknown): string => toCrdrError(error).message.replace(/\.$/, '');

/** What the provisioner's supervisor knows of a replica's replicator process, when it watches it. */
export type ReplicatorSupervisionOf = (
  replicaBrokerId: string,
) => ReplicatorSupervision | undefined;

/** The replicator of a replica of this Region: its own report and how far behind it is. */
async function replicaView(
  broker: BrokerAggregate,
  supervisionOf: ReplicatorSupervisionOf,
  nowMs: () => number,
): Promise<LocalPairView> {
  const supervised = supervisionOf(broker.brokerId);
  const supervision = supervised === undefined ? {} : { supervision: supervised };
  if (broker.replicatorGrpc === undefined) {
    const replicator: ReplicatorReport = {
      reachable: false,
      error: 'no replicator is running for this replica',
      ...supervision,
    };
    return { health: replicationHealth({ replicator }, nowMs()), progress: undefined };
  }
  const client = createClient(
    loadProto().crdr.replicator.v1.ReplicatorService,
    broker.replicatorGrpc,
    { deadlineMs: probeDeadlineMs },
  );
  try {
    const status = await client.getStatus({});
    const applied = BigInt(status.appliedSequence);
    const behind = BigInt(status.lastKnownSequence) - applied;
    const counted = BigInt(status.pendingCount);
    const progress: PairProgress = {
      waitingEvents: behind > counted ? behind : counted,
      oldestWaitingCreatedAtMs: Number(status.oldestPendingCreatedAtMs),
      lastProgressAtMs: Number(status.lastAppliedAtMs),
    };
    const replicator: ReplicatorReport = {
      reachable: true,
      state: status.state,
      error: status.error,
      ...supervision,
    };
    return { health: replicationHealth({ replicator, progress }, nowMs()), progress };
  } catch (error) {
    const replicator: ReplicatorReport = {
      reachable: false,
      error: errorText(error),
      ...supervision,
    };
    return { health: replicationHealth({ replicator }, nowMs()), progress: undefined };
  } finally {
    client.close();
  }
}

/** A primary of this Region: its log's head against what the replica's consumer acknowledged. */
async function primaryView(
  broker: BrokerAggregate,
  nowMs: () => number,
): Promise<LocalPairView | undefined> {
  const consumer = replicationConsumerName(broker.counterpart!.brokerId);
  const errors: string[] = [];
  const answers = await Promise.all(
    broker.instances.map(async (instance) => {
      const admin = createClient(loadProto().crdr.broker.v1.BrokerAdminService, instance.grpc, {
        credentials: broker.adminUser,
        deadlineMs: probeDeadlineMs,
      });
      try {
        return await admin.getReplicationStatus({});
      } catch (error) {
        errors.push(errorText(error));
        return undefined;
      } finally {
        admin.close();
      }
    }),
  );
  // No instance can read its log (the processes are down, or their store is: a database
  // restart): nothing leaves it, whatever the replica's side, which sees no event waiting, says.
  if (broker.instances.length > 0 && errors.length === broker.instances.length) {
    const health: ReplicationHealth = {
      status: 'STALLED',
      reason: `No instance of the primary broker can read its replication log, so nothing is relayed: ${errors[0]}.`,
    };
    return { health, progress: undefined };
  }
  // Only the serving instance's relay reads the consumers; a standby lists none.
  for (const status of answers) {
    const replica = status?.replicas.find((r) => r.consumer === consumer);
    if (status === undefined || status === null || replica === undefined) continue;
    const behind = BigInt(status.lastSequence) - BigInt(replica.acknowledgedSequence);
    const progress: PairProgress = {
      waitingEvents: behind > 0n ? behind : 0n,
      oldestWaitingCreatedAtMs: Number(replica.oldestUnacknowledgedCreatedAtMs),
      lastProgressAtMs: Number(replica.acknowledgedAtMs),
    };
    return { health: replicationHealth({ progress }, nowMs()), progress };
  }
  return undefined;
}

/** The pair of a broker of this Region as this Region alone sees it; undefined: cannot tell. */
export async function localPairView(
  broker: BrokerAggregate,
  supervisionOf: ReplicatorSupervisionOf = () => undefined,
  nowMs: () => number = Date.now,
): Promise<LocalPairView | undefined> {
  if (!replicatesNow(broker)) return undefined;
  return broker.role === 'REPLICA'
    ? replicaView(broker, supervisionOf, nowMs)
    : primaryView(broker, nowMs);
}

/** The supervisor's view of this Region's replicators, through the context's provisioner. */
export const replicatorSupervision =
  (context: Pick<OperationsContext, 'provisioner'>): ReplicatorSupervisionOf =>
  (replicaBrokerId) =>
    context.provisioner.supervision('replicator', replicaBrokerId);

export function toPairHealth(view: LocalPairView | undefined): controlPlaneV1.PairHealth {
  if (view === undefined) return { status: '', reason: '' };
  return {
    status: view.health.status,
    reason: view.health.reason,
    ...(view.progress === undefined
      ? {}
      : {
          progress: {
            waitingEvents: view.progress.waitingEvents.toString(),
            oldestWaitingCreatedAtMs: String(view.progress.oldestWaitingCreatedAtMs),
            lastProgressAtMs: String(view.progress.lastProgressAtMs),
          },
        }),
  };
}

/** The counterpart Region's view of the pair (its GetPairHealth); undefined when unreachable. */
export async function counterpartPairHealth(
  context: OperationsContext,
  broker: BrokerAggregate,
): Promise<controlPlaneV1.PairHealth__Output | undefined> {
  if (!replicatesNow(broker)) return undefined;
  const counterpart = broker.counterpart!;
  try {
    return await context
      .peer(counterpart.region, 'counterpart')
      .getPairHealth({ brokerId: counterpart.brokerId }, { deadlineMs: probeDeadlineMs });
  } catch (error) {
    context.log.debug(
      { err: error, brokerId: broker.brokerId, region: counterpart.region },
      "the counterpart's Region did not say how the pair replicates",
    );
    return undefined;
  }
}

/**
 * What DescribeBroker shows for a replicating pair, from this Region's view and the counterpart
 * Region's (so a primary learns that its replica's replicator is paused or down). The replica's
 * side speaks first: it knows the replicator, so its PAUSED explains the events that wait, which
 * the primary's side alone would call STALLED after 10 s; the primary's side adds what only it
 * can see (events that never reach the replica). Undefined when the registry's status stands.
 */
export async function shownPairHealth(
  context: OperationsContext,
  broker: BrokerAggregate,
): Promise<ReplicationHealth | undefined> {
  if (!replicatesNow(broker)) return undefined;
  const [local, remote] = await Promise.all([
    localPairView(broker, replicatorSupervision(context)),
    counterpartPairHealth(context, broker),
  ]);
  const remoteHealth: ReplicationHealth | undefined =
    remote !== undefined && (remote.status === 'PAUSED' || remote.status === 'STALLED')
      ? { status: remote.status, reason: remote.reason }
      : undefined;
  const [replicaSide, primarySide] =
    broker.role === 'REPLICA' ? [local?.health, remoteHealth] : [remoteHealth, local?.health];
  const shown = [replicaSide, primarySide].find(
    (h) => h !== undefined && h.status !== 'REPLICATING',
  );
  return shown;
}
