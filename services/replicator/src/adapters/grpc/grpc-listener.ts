import {
  addStandardServices,
  bindGrpcServer,
  createGrpcServer,
  loadProto,
  shutdownGrpcServer,
} from '@crdr/proto';
import type { Logger } from '@crdr/telemetry';
import type { ReplicationLoop } from '../nats/replication-loop.js';
import { createReplicatorServiceHandlers } from './replicator.grpc.js';

export interface GrpcListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface GrpcListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly primaryBrokerId: string;
  readonly replicaBrokerId: string;
  readonly log: Logger;
  readonly shutdownGraceMs?: number;
}

const serviceName = 'crdr.replicator.v1.ReplicatorService';

/** ReplicatorService with the standard health and reflection services. */
export async function createGrpcListener(
  loop: ReplicationLoop,
  options: GrpcListenerOptions,
): Promise<GrpcListener> {
  const { log } = options;
  const server = createGrpcServer();
  server.addService(
    loadProto().crdr.replicator.v1.ReplicatorService.service,
    createReplicatorServiceHandlers({
      loop,
      primaryBrokerId: options.primaryBrokerId,
      replicaBrokerId: options.replicaBrokerId,
      onUnexpectedError: (error, context) =>
        log.error({ err: error, context }, 'gRPC call failed unexpectedly'),
    }),
  );
  const standard = addStandardServices(server, [serviceName]);
  const port = await bindGrpcServer(server, `${options.host}:${options.port}`);
  return {
    port,
    async close() {
      standard.setServing(false);
      await shutdownGrpcServer(server, options.shutdownGraceMs ?? 2_000);
    },
  };
}
