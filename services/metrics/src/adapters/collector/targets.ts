import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import type { StaticTarget } from '../../config.js';

/** A broker to measure, as the Region's control plane (or METRICS_TARGETS) describes it. */
export type ScrapeTarget = StaticTarget;

export interface TargetSource {
  list(): Promise<readonly ScrapeTarget[]>;
  close(): void;
}

type ControlPlaneInternalClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneInternalService']
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
      }));
    },
    close: () => client.close(),
  };
}
