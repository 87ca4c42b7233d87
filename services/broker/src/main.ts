import { parseArgs } from 'node:util';
import { ConfigError } from '@crdr/config';
import { createLogger, startTelemetry } from '@crdr/telemetry';
import { loadConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm broker [--stomp-port P] [--ws-port P] [--grpc-port P] [--db-url URL] [--user NAME:PASSWORD]`:
// flags override the environment, which the config parses once.
const flags: Record<string, string> = {
  'stomp-port': 'BROKER_STOMP_PORT',
  'ws-port': 'BROKER_WS_PORT',
  'grpc-port': 'BROKER_GRPC_PORT',
  'db-url': 'BROKER_DB_URL',
  user: 'BROKER_USERS',
  'broker-id': 'BROKER_ID',
  'instance-id': 'BROKER_INSTANCE_ID',
  host: 'BROKER_HOST',
  role: 'BROKER_INITIAL_ROLE',
};

function readArgs(argv: readonly string[]): Record<string, string> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: Object.fromEntries(
      Object.keys(flags).map((name) => [
        name,
        { type: 'string' as const, multiple: name === 'user' },
      ]),
    ),
    strict: true,
    allowPositionals: false,
  });
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    env[flags[name]!] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

async function main(): Promise<void> {
  let env: Record<string, string | undefined>;
  try {
    env = { ...process.env, ...readArgs(process.argv.slice(2)) };
  } catch (error) {
    process.stderr.write(
      `broker: ${(error as Error).message}\nusage: pnpm broker [--stomp-port P] [--ws-port P] [--grpc-port P] [--db-url URL] [--user NAME:PASSWORD]\n`,
    );
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`broker: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const telemetry = await startTelemetry({ serviceName: 'broker', env });
  const log = createLogger({
    service: 'broker',
    level: config.LOG_LEVEL,
    destination: process.stderr,
  });
  const server = createServer({ config, log });
  const endpoints = await server.start();
  if (config.BROKER_PRINT_ENDPOINTS) {
    process.stdout.write(
      `broker ${config.BROKER_ID} listening (${server.runtime.serving ? 'serving' : 'standby or replica'}):\n` +
        `  STOMP            ${endpoints.stomp}\n  STOMP/WebSocket  ${endpoints.ws}\n  gRPC             ${endpoints.grpc}\n` +
        `ENDPOINTS ${JSON.stringify(endpoints)}\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'broker stopping');
    server
      .stop()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'broker stop failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`broker: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
