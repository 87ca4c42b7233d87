/**
 * The gRPC contracts of the project and the one place gRPC meets our errors.
 *
 * - Types generated from `proto/` (`pnpm gen:proto`), one namespace per proto package:
 *   `brokerV1.SendRequest` (what a client may send), `brokerV1.SendRequest__Output` (what a
 *   handler receives: int64 fields as decimal strings, enums as names), `brokerV1.BrokerServiceHandlers`.
 * - `loadProto()`: service definitions and client constructors, loaded once.
 * - Errors: `toGrpcStatus` (server) and `fromGrpcError` (client), one table each way; handler
 *   wrappers so handlers only throw `CrdrError`s.
 * - Clients: `createClient` (promises, deadlines, Basic credentials) and `withRetry`.
 * - Servers: `createGrpcServer`, `addStandardServices` (health, reflection), `parseBasicAuth`.
 */

// Generated types, one namespace per proto package.
export * as brokerV1 from './generated/crdr/broker/v1/index.js';
export * as controlPlaneV1 from './generated/crdr/controlplane/v1/index.js';
export * as metricsV1 from './generated/crdr/metrics/v1/index.js';
export * as replicationV1 from './generated/crdr/replication/v1/index.js';
export * as replicatorV1 from './generated/crdr/replicator/v1/index.js';
export type { ProtoGrpcType } from './generated/manifest.js';
export { protoFiles } from './generated/manifest.js';

export { loadProto, loadPackageDefinition, protoLoaderOptions, protoRoot } from './proto-loader.js';

export {
  errorCodeByGrpcStatus,
  errorCodeMetadataKey,
  errorDetailsMetadataKey,
  fromGrpcError,
  grpcStatusByErrorCode,
  internalErrorMessage,
  toGrpcStatus,
  type GrpcErrorStatus,
} from './status-mapping.js';

export {
  bidiStreamHandler,
  clientStreamHandler,
  serverStreamHandler,
  unaryHandler,
  type HandlerOptions,
} from './server-handlers.js';

export {
  createClient,
  defaultDeadlineMs,
  type BidiStreamMethod,
  type CallOptions,
  type ClientOf,
  type ClientOptions,
  type ClientStreamMethod,
  type PromiseClient,
  type ServerStreamMethod,
  type ServiceClientConstructor,
  type UnaryMethod,
} from './client.js';

export {
  backoffDelayMs,
  isRetryable,
  retryableCodes,
  withRetry,
  type RetryOptions,
} from './retry.js';

export {
  addStandardServices,
  bindGrpcServer,
  createGrpcServer,
  healthServiceName,
  reflectionServiceNames,
  shutdownGrpcServer,
  type ServingStatus,
  type StandardServices,
  type StandardServicesOptions,
} from './grpc-server.js';

export {
  authorizationMetadataKey,
  formatBasicAuth,
  parseBasicAuth,
  type BasicCredentials,
} from './basic-auth.js';

export { checkGrpcHealth } from './health-check.js';
