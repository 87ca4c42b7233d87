import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import type { PairProgress } from '@crdr/replication';
import type { StaticTarget } from '../../config.js';

/** A broker to measure, as the Region's control plane (or METRICS_TARGETS) describes it. */
export type ScrapeTarget = StaticTarget;

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
  return {
    async list() {
      const { targets } = await client.listTargets({});
      return targets.map((t) => ({
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
    close: () => client.close(),
  };
}
