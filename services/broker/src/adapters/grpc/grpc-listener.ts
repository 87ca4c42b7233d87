import { addStandardServices, bindGrpcServer, createGrpcServer, shutdownGrpcServer } from '@crdr/proto';
import type { Logger } from '@crdr/telemetry';
import type { BrokerEngine } from '../../engine/engine.types.js';

export interface GrpcListener {
  readonly port: number;
  /** The health service answers SERVING only while this instance serves clients. */
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

const brokerServiceNames = ['crdr.broker.v1.BrokerService', 'crdr.broker.v1.BrokerAdminService'];

export async function createGrpcListener(
  _engine: BrokerEngine,
  options: { host: string; port: number; log: Logger },
): Promise<GrpcListener> {
  const server = createGrpcServer();
  const standard = addStandardServices(server, brokerServiceNames, { initialStatus: 'NOT_SERVING' });
  const port = await bindGrpcServer(server, `${options.host}:${options.port}`);
  return {
    port,
    setServing: (serving) => standard.setServing(serving),
    close: () => shutdownGrpcServer(server),
  };
}
