import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import type { PairProgress } from '@crdr/replication';
import type { StaticTarget } from '../../config.js';

/**
 * A broker to measure, as the Region's control plane (or METRICS_TARGETS) describes it, with its
 * replication status as describe-broker shows it when the control plane told it.
 */
export type ScrapeTarget = StaticTarget & {
  readonly replicationStatus?: string;
  /** Events of a PENDING divergent tail (0 when none), when the control plane told it. */
  readonly divergentTailPendingEvents?: number;
};

export interface TargetSource {
  list(): Promise<readonly ScrapeTarget[]>;
  /**
   * A replica's progress as its primary's side sees it (through the control plane and its peer
   * in the primary's Region); undefined when it cannot be told.
   */
  counterpartProgress(brokerId: string): Promise<PairProgress | undefined>;
  close(): void;
}

type ControlPlaneInternalClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneInternalService']
>;
type ControlPlaneClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneService']
>;

export function staticTargets(targets: readonly ScrapeTarget[]): TargetSource {
  return {
    list: () => Promise.resolve(targets),
    counterpartProgress: () => Promise.resolve(undefined),
    close: () => undefined,
  };
}

/** The targets of the Region's control plane (ControlPlaneInternalService.ListTargets). */
export function controlPlaneTargets(address: string, deadlineMs: number): TargetSource {
  const client: ControlPlaneInternalClient = createClient(
    loadProto().crdr.controlplane.v1.ControlPlaneInternalService,
    address,
    { deadlineMs },
  );
  const publicClient: ControlPlaneClient = createClient(
    loadProto().crdr.controlplane.v1.ControlPlaneService,
    address,
    { deadlineMs },
  );
  /** What describe-broker shows (passed through as it is); nothing when it cannot be read. */
  const statusOf = async (
    brokerId: string,
  ): Promise<{ replicationStatus: string; divergentTailPendingEvents?: number }> => {
    try {
      const broker = await publicClient.describeBroker({ brokerId });
      const metadata = broker.dataReplicationMetadata;
      const tail = metadata?.divergentTail;
      return {
        replicationStatus: metadata?.replicationStatus ?? '',
        divergentTailPendingEvents: tail?.state === 'PENDING' ? Number(tail.eventCount) : 0,
      };
    } catch {
      return { replicationStatus: '' };
    }
  };
  return {
    async list() {
      const { targets } = await client.listTargets({});
      const statuses = await Promise.all(targets.map((t) => statusOf(t.brokerId)));
      return targets.map((t, index) => ({
        ...statuses[index],
        brokerId: t.brokerId,
        brokerName: t.brokerName,
        region: t.region,
        dataReplicationRole:
          t.dataReplicationRole === 'PRIMARY' || t.dataReplicationRole === 'REPLICA'
            ? t.dataReplicationRole
            : '',
        brokerGrpcEndpoints: t.brokerGrpcEndpoints,
        replicatorGrpcEndpoint: t.replicatorGrpcEndpoint,
        adminUsername: t.adminUsername,
        adminPassword: t.adminPassword,
        replicationStatus: t.replicationStatus,
      }));
    },
    async counterpartProgress(brokerId) {
      const health = await client.getCounterpartHealth({ brokerId });
      const progress = health.progress;
      if (progress === null || progress === undefined) return undefined;
      return {
        waitingEvents: BigInt(progress.waitingEvents),
        oldestWaitingCreatedAtMs: Number(progress.oldestWaitingCreatedAtMs),
        lastProgressAtMs: Number(progress.lastProgressAtMs),
      };
    },
    close: () => {
      client.close();
      publicClient.close();
    },
  };
}
