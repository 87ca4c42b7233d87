/**
 * The web console of one Region, mounted by its control plane (README.md in this package).
 */
export {
  createConsoleServer,
  type ConsoleServer,
  type ConsoleServerOptions,
} from './console-server.js';
export { cookieNames, parseBootstrapAdmin } from './login.routes.js';
export type { ConsoleLogger } from './context.js';
