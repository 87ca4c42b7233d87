import { parseArgs } from 'node:util';
import { runService } from '@crdr/service';
import { loadConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm broker [--stomp-port P] [--ws-port P] [--grpc-port P] [--db-url URL] [--user NAME:PASSWORD]`:
// flags override the environment, which the config parses once.
const flags: Record<string, string> = {
  'stomp-port': 'BROKER_STOMP_PORT',
  'ws-port': 'BROKER_WS_PORT',
  'grpc-port': 'BROKER_GRPC_PORT',
  'admin-port': 'BROKER_ADMIN_PORT',
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

let server: ReturnType<typeof createServer> | undefined;
runService({
  name: 'broker',
  readArgs,
  usage:
    'pnpm broker [--stomp-port P] [--ws-port P] [--grpc-port P] [--db-url URL] [--user NAME:PASSWORD]',
  loadConfig,
  createServer: ({ config, log }) => (server = createServer({ config, log })),
  printEndpoints: (config) => config.BROKER_PRINT_ENDPOINTS,
  describe: (endpoints, config) =>
    `broker ${config.BROKER_ID} listening (${server?.runtime.serving === true ? 'serving' : 'standby or replica'}):\n` +
    `  STOMP            ${endpoints.stomp}\n  STOMP/WebSocket  ${endpoints.ws}\n  gRPC             ${endpoints.grpc}\n`,
});
