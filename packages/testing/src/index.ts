export { createTestDatabase, type TestDatabase } from './test-database.js';
export { freePort } from './free-port.js';
export {
  hostPort,
  repoRoot,
  startServiceProcess,
  type ServiceProcess,
  type StartServiceOptions,
} from './service-process.js';
export { waitFor } from './wait-for.js';
