import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './generated/manifest.js';
import { protoFiles } from './generated/manifest.js';

/** The repository's `proto/` folder, the include root of every `.proto` file. */
export const protoRoot: string = fileURLToPath(new URL('../../../proto/', import.meta.url));

/**
 * The options every `.proto` is loaded with. They match the flags `scripts/gen-proto.mjs` passes
 * to `proto-loader-gen-types`, so the generated `__Output` types describe what handlers and
 * clients really receive: camelCase field names, 64-bit integers as decimal strings (convert them
 * to `bigint` once, in the adapter), enums as their names, defaults for absent fields, and a
 * virtual field naming the set member of each oneof.
 */
export const protoLoaderOptions: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot],
});

let packageDefinition: protoLoader.PackageDefinition | undefined;
let grpcObject: ProtoGrpcType | undefined;

/** The package definition of every `.proto` under `proto/`, loaded once (reflection needs it). */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync([...protoFiles], { ...protoLoaderOptions });
  return packageDefinition;
}

/**
 * Every service, message and enum of `proto/`, typed by the generated `ProtoGrpcType`: e.g.
 * `loadProto().crdr.broker.v1.BrokerService.service` for `server.addService`, and
 * `loadProto().crdr.broker.v1.BrokerService` as the client constructor for `createClient`.
 * Loaded once per process.
 */
export function loadProto(): ProtoGrpcType {
  // grpc-js types the result as an untyped GrpcObject; the generated type describes it.
  grpcObject ??= grpc.loadPackageDefinition(loadPackageDefinition()) as unknown as ProtoGrpcType;
  return grpcObject;
}
