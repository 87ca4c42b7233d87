import {
  addStandardServices,
  bindGrpcServer,
  createGrpcServer,
  loadProto,
  shutdownGrpcServer,
} from '@crdr/proto';
import type { Logger } from '@crdr/telemetry';
import type { BrokerEngine } from '../../engine/engine.types.js';
import { createBrokerAdminServiceHandlers } from './broker-admin.grpc.js';
import { createBrokerServiceHandlers } from './broker.grpc.js';
import { TransactionRegistry } from './transaction-registry.js';

export interface GrpcListener {
  readonly port: number;
  /** BrokerService's health answers SERVING only while this instance serves clients. */
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

export interface GrpcListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /**
   * The broker's maximum message size: gRPC messages may be this much larger than it, for the
   * request's other fields (the body itself is checked by the engine, with a clear error).
   */
  readonly maxMessageBytes?: number;
  /** A gRPC transaction unused for this long is aborted. Default 60 s. */
  readonly transactionIdleTimeoutMs?: number;
  /** How long close() waits for calls in flight before cancelling them (open Receive streams). */
  readonly shutdownGraceMs?: number;
  /** BrokerAdminService only (the admin port), without the clients' BrokerService. */
  readonly adminOnly?: boolean;
}

/** Room in a gRPC message for what is not the body: destination, headers, ids. */
const grpcEnvelopeBytes = 1024 * 1024;

const clientServiceName = 'crdr.broker.v1.BrokerService';
const brokerServiceNames = [clientServiceName, 'crdr.broker.v1.BrokerAdminService'];

/**
 * The broker's gRPC endpoint: BrokerService and BrokerAdminService over the engine, plus the
 * standard health (NOT_SERVING until `setServing(true)`) and reflection services.
 */
export async function createGrpcListener(
  engine: BrokerEngine,
  options: GrpcListenerOptions,
): Promise<GrpcListener> {
  const log = options.log;
  const onUnexpectedError = (error: unknown, context: string): void =>
    log.error({ err: error, context }, 'gRPC call failed unexpectedly');
  const transactions = new TransactionRegistry({
    ...(options.transactionIdleTimeoutMs === undefined
      ? {}
      : { idleTimeoutMs: options.transactionIdleTimeoutMs }),
    onError: (error, transactionId) =>
      log.warn({ err: error, transactionId }, 'aborting a gRPC transaction failed'),
  });

  const { BrokerService, BrokerAdminService } = loadProto().crdr.broker.v1;
  const maxGrpcMessageBytes =
    options.maxMessageBytes === undefined ? undefined : options.maxMessageBytes + grpcEnvelopeBytes;
  const server = createGrpcServer(
    maxGrpcMessageBytes === undefined
      ? {}
      : {
          'grpc.max_receive_message_length': maxGrpcMessageBytes,
          'grpc.max_send_message_length': maxGrpcMessageBytes,
        },
  );
  if (options.adminOnly !== true)
    server.addService(
      BrokerService.service,
      createBrokerServiceHandlers({ engine, transactions, onUnexpectedError }),
    );
  server.addService(
    BrokerAdminService.service,
    createBrokerAdminServiceHandlers({ engine, onUnexpectedError }),
  );
  // The server and the admin service answer SERVING while the process is up (the control plane
  // drives replicas and standbys through it); BrokerService only while this instance serves clients.
  const standard = addStandardServices(
    server,
    options.adminOnly === true ? brokerServiceNames.slice(1) : brokerServiceNames,
  );
  if (options.adminOnly !== true) standard.setServing(false, clientServiceName);
  const port = await bindGrpcServer(server, `${options.host}:${options.port}`);
  return {
    port,
    setServing: (serving) => {
      if (options.adminOnly !== true) standard.setServing(serving, clientServiceName);
    },
    async close() {
      standard.setServing(false);
      await transactions.closeAll();
      await shutdownGrpcServer(server, options.shutdownGraceMs);
    },
  };
}
