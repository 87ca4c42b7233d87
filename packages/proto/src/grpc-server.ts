import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { loadPackageDefinition, protoLoaderOptions } from './proto-loader.js';

export type { ServingStatus } from 'grpc-health-check';

/** Fully qualified names of the standard services {@link addStandardServices} adds. */
export const healthServiceName = 'grpc.health.v1.Health';
export const reflectionServiceNames = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

/** Our defaults; `options` overrides them. */
const defaultServerOptions: grpc.ServerOptions = {
  // Message bodies may be large (ActiveMQ's default limit is 100 MiB frames); 4 MiB is gRPC's.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  // Find dead peers of long streams (Receive) in about a minute.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/** A grpc-js server with the project's defaults (message sizes, keepalive). */
export function createGrpcServer(options: grpc.ServerOptions = {}): grpc.Server {
  return new grpc.Server({ ...defaultServerOptions, ...options });
}

/** Binds `address` (`host:port`, port 0 for any) and resolves with the bound port. */
export function bindGrpcServer(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    );
  });
}

/**
 * Stops taking calls and waits for those in flight for up to `graceMs`, then cancels what is
 * left (open streams such as Receive would otherwise hold the shutdown forever).
 */
export function shutdownGrpcServer(server: grpc.Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface StandardServicesOptions {
  /** Status of the server ('') and of each service at start. Default 'SERVING'. */
  readonly initialStatus?: 'SERVING' | 'NOT_SERVING';
  /** An existing health implementation to add instead of a new one. */
  readonly health?: HealthImplementation;
  /** Add server reflection. Default true. */
  readonly reflection?: boolean;
}

export interface StandardServices {
  /** The health service: `health.setStatus(serviceName, 'SERVING' | 'NOT_SERVING')`. */
  readonly health: HealthImplementation;
  /** Sets the status of one service, or of the server ('') and every service when none is named. */
  setServing(serving: boolean, serviceName?: string): void;
}

let standardPackageDefinition: protoLoader.PackageDefinition | undefined;

/** Our protos plus health and reflection, so reflection can describe every service served. */
function reflectionPackageDefinition(): protoLoader.PackageDefinition {
  if (!standardPackageDefinition) {
    const require = createRequire(import.meta.url);
    const reflectionProtoRoot = path.resolve(
      path.dirname(require.resolve('@grpc/reflection')),
      '../proto',
    );
    const healthProtoRoot = path.resolve(path.dirname(healthProtoPath), '../..');
    const standard = protoLoader.loadSync(
      [
        'health/v1/health.proto',
        'grpc/reflection/v1/reflection.proto',
        'grpc/reflection/v1alpha/reflection.proto',
      ],
      { ...protoLoaderOptions, includeDirs: [healthProtoRoot, reflectionProtoRoot] },
    );
    standardPackageDefinition = { ...loadPackageDefinition(), ...standard };
  }
  return standardPackageDefinition;
}

/**
 * Adds the standard gRPC health service (grpc.health.v1.Health, for load balancers and
 * `grpc_health_probe`) and server reflection (so `grpcurl -plaintext HOST:PORT list` works) to
 * `server`. `serviceNames` are the fully qualified names of the services the server offers
 * (e.g. `crdr.broker.v1.BrokerService`): reflection lists those (and the standard ones), and
 * health answers for each of them and for the whole server ('').
 */
export function addStandardServices(
  server: grpc.Server,
  serviceNames: readonly string[],
  options: StandardServicesOptions = {},
): StandardServices {
  const initialStatus = options.initialStatus ?? 'SERVING';
  const health = options.health ?? new HealthImplementation();
  for (const name of ['', ...serviceNames]) health.setStatus(name, initialStatus);
  health.addToServer(server);

  if (options.reflection ?? true) {
    const reflection = new ReflectionService(reflectionPackageDefinition(), {
      services: [...serviceNames, healthServiceName, ...reflectionServiceNames],
    });
    reflection.addToServer(server);
  }

  return {
    health,
    setServing(serving, serviceName) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      for (const name of serviceName === undefined ? ['', ...serviceNames] : [serviceName]) {
        health.setStatus(name, status);
      }
    },
  };
}
