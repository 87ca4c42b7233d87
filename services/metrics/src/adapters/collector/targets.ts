import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
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
  close(): void;
}

type ControlPlaneInternalClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneInternalService']
>;
type ControlPlaneClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneService']
>;

export function staticTargets(targets: readonly ScrapeTarget[]): TargetSource {
  return { list: () => Promise.resolve(targets), close: () => undefined };
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
      }));
    },
    close: () => {
      client.close();
      publicClient.close();
    },
  };
}
