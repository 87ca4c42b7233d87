import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

interface HealthClient extends grpc.Client {
  check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): void;
}

let healthClientConstructor:
  (new (address: string, credentials: grpc.ChannelCredentials) => HealthClient) | undefined;

function healthClient(address: string): HealthClient {
  if (healthClientConstructor === undefined) {
    const definition = protoLoader.loadSync(healthProtoPath, { enums: String });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      grpc: { health: { v1: { Health: typeof healthClientConstructor } } };
    };
    healthClientConstructor = loaded.grpc.health.v1.Health;
  }
  return new healthClientConstructor!(address, grpc.credentials.createInsecure());
}

/**
 * Asks a server's standard health service (grpc.health.v1.Health) whether `service` ('' for the
 * whole server) is SERVING. Resolves to the status name (`SERVING`, `NOT_SERVING`, ...); rejects
 * when the server cannot be reached within `deadlineMs`. For launchers, probes and tests.
 */
export function checkGrpcHealth(
  address: string,
  options: { readonly service?: string; readonly deadlineMs?: number } = {},
): Promise<string> {
  const client = healthClient(address);
  return new Promise<string>((resolve, reject) => {
    client.check(
      { service: options.service ?? '' },
      { deadline: Date.now() + (options.deadlineMs ?? 2_000) },
      (error, response) => {
        client.close();
        if (error !== null) reject(error);
        else resolve(response?.status ?? 'UNKNOWN');
      },
    );
  });
}
