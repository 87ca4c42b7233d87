import { runService } from '@crdr/service';
import { loadConfig } from './config.js';
import { createServer } from './server.js';

// `pnpm control-plane`: one Region's control plane, configured by CONTROL_PLANE_* (config.ts).
runService({
  name: 'control-plane',
  loadConfig,
  createServer: ({ config, log }) => createServer({ config, log }),
  describe: (endpoints, config) =>
    `control plane of ${config.CONTROL_PLANE_REGION} (${config.CONTROL_PLANE_PROVISIONER} provisioner):\n` +
    `  gRPC     ${endpoints.grpc}\n` +
    (endpoints.console === undefined ? '' : `  console  ${endpoints.console}\n`),
});
