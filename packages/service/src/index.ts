/**
 * The one way a service's `main.ts` runs: parse the config once (a `ConfigError` exits 2 with
 * its message), start telemetry and the logger, start the server, print its endpoints (the
 * `ENDPOINTS {json}` line is what launchers and tests read), and stop it on SIGINT/SIGTERM.
 */
export { runService, type RunServiceOptions, type RunnableServer } from './run-service.js';
export {
  createLoginThrottle,
  type LoginThrottle,
  type LoginThrottleOptions,
  type LoginVerdict,
  sourceAddress,
} from './login-throttle.js';
export {
  listenRuntimeMetrics,
  renderRuntimeMetrics,
  runtimeMetrics,
  type RuntimeMetricsListener,
} from './runtime-metrics.js';
export {
  createPasswordHasher,
  defaultScryptParameters,
  hashPassword,
  isPasswordHash,
  verifyPassword,
  type PasswordHasher,
  type PasswordHasherOptions,
  type ScryptParameters,
} from './password-hasher.js';
