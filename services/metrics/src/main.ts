import { runService } from '@crdr/service';
import { loadConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm metrics`: configured by the environment only (METRICS_*), parsed once.
runService({
  name: 'metrics',
  loadConfig,
  createServer: ({ config, log }) => createServer({ config, log }),
  describe: (endpoints, config) =>
    `metrics of ${config.METRICS_REGION} listening:\n` +
    `  HTTP  ${endpoints.http}/metrics\n` +
    `  gRPC  ${endpoints.grpc}\n`,
});
