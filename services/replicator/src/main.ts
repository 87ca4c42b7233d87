import { runService } from '@crdr/service';
import { loadConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm replicator`: configured by the environment only (REPLICATOR_*), parsed once.
runService({
  name: 'replicator',
  loadConfig,
  createServer: ({ config, log }) => createServer({ config, log }),
  describe: (endpoints, config) =>
    `replicator ${config.REPLICATOR_REPLICA_BROKER_ID} of ${config.REPLICATOR_PRIMARY_BROKER_ID} listening:\n` +
    `  gRPC  ${endpoints.grpc}\n`,
});
