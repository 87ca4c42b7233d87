import { ConfigError } from '@crdr/config';
import { createLogger, startTelemetry } from '@crdr/telemetry';
import { loadConfig, type ReplicatorConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm replicator`: configured by the environment only (REPLICATOR_*), parsed once.
async function main(): Promise<void> {
  const env = process.env;
  let config: Readonly<ReplicatorConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`replicator: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const telemetry = await startTelemetry({ serviceName: 'replicator', env });
  const log = createLogger({
    service: 'replicator',
    level: config.LOG_LEVEL,
    destination: process.stderr,
  });
  const server = createServer({ config, log });
  const endpoints = await server.start();
  process.stdout.write(
    `replicator ${config.REPLICATOR_REPLICA_BROKER_ID} of ${config.REPLICATOR_PRIMARY_BROKER_ID} listening:\n` +
      `  gRPC  ${endpoints.grpc}\n` +
      `ENDPOINTS ${JSON.stringify(endpoints)}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'replicator stopping');
    server
      .stop()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'replicator stop failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`replicator: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
