/**
 * The local stack launcher behind `pnpm stack up | down | status [--region R]` (docs/interface.md):
 * two Regions as plain processes on this machine, each with its own nats-server (JetStream,
 * mutual TLS), control plane and metrics service, databases on the local Postgres or `PG_URL`.
 */
export {
  stackDown,
  stackStatus,
  stackUp,
  type StackEndpoints,
  type StackOptions,
} from './stack.js';
export { regionNames, isRegionName, type RegionName } from './stack-layout.js';
export { MissingPrerequisiteError } from './prerequisites.js';
