import { ConfigError, type Env } from '@crdr/config';
import { createLogger, startTelemetry, type Logger } from '@crdr/telemetry';
import { listenRuntimeMetrics, type RuntimeMetricsListener } from './runtime-metrics.js';

/** `RUNTIME_METRICS_PORT`: where a service serves its runtime metrics (off when unset). */
export const runtimeMetricsPortEnv = 'RUNTIME_METRICS_PORT';

function runtimeMetricsPort(env: Env): number | undefined {
  const text = env[runtimeMetricsPortEnv];
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${runtimeMetricsPortEnv} must be a port 0-65535 (got "${text}")`);
  }
  return port;
}

export interface RunnableServer<E extends object> {
  start(): Promise<E>;
  stop(): Promise<void>;
}

export interface RunServiceOptions<C extends { readonly LOG_LEVEL: string }, E extends object> {
  /** Used in log lines, error messages and as the OpenTelemetry service name. */
  readonly name: string;
  /** Extra environment (from command-line flags) laid over `process.env`; may throw for bad flags. */
  readonly readArgs?: (argv: readonly string[]) => Env;
  /** Printed after a bad flag. */
  readonly usage?: string;
  readonly loadConfig: (env: Env) => C;
  readonly createServer: (deps: { config: C; log: Logger; env: Env }) => RunnableServer<E>;
  /** The human lines printed before `ENDPOINTS {json}`; none when omitted. */
  readonly describe?: (endpoints: E, config: C) => string;
  /** Whether to print the endpoints at all (a config may turn it off). */
  readonly printEndpoints?: (config: C) => boolean;
}

/** Runs a service until SIGINT/SIGTERM; exits the process on a start failure. */
export function runService<C extends { readonly LOG_LEVEL: string }, E extends object>(
  options: RunServiceOptions<C, E>,
): void {
  main(options).catch((error: unknown) => {
    process.stderr.write(
      `${options.name}: failed to start: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exit(1);
  });
}

async function main<C extends { readonly LOG_LEVEL: string }, E extends object>(
  options: RunServiceOptions<C, E>,
): Promise<void> {
  const { name } = options;
  let env: Env;
  try {
    env = { ...process.env, ...(options.readArgs?.(process.argv.slice(2)) ?? {}) };
  } catch (error) {
    const usage = options.usage === undefined ? '' : `\nusage: ${options.usage}`;
    process.stderr.write(`${name}: ${(error as Error).message}${usage}\n`);
    process.exit(2);
  }
  let config: C;
  let metricsPort: number | undefined;
  try {
    config = options.loadConfig(env);
    metricsPort = runtimeMetricsPort(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const telemetry = await startTelemetry({ serviceName: name, env });
  const log = createLogger({ service: name, level: config.LOG_LEVEL, destination: process.stderr });
  const server = options.createServer({ config, log, env });
  const endpoints = await server.start();
  let runtimeListener: RuntimeMetricsListener | undefined;
  if (metricsPort !== undefined) {
    runtimeListener = await listenRuntimeMetrics(
      name,
      env['RUNTIME_METRICS_HOST'] ?? '127.0.0.1',
      metricsPort,
    );
    log.info({ port: runtimeListener.port }, `${name} runtime metrics on /metrics`);
  }
  if (options.printEndpoints?.(config) ?? true) {
    const human = options.describe?.(endpoints, config) ?? '';
    process.stdout.write(`${human}ENDPOINTS ${JSON.stringify(endpoints)}\n`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${name} stopping`);
    server
      .stop()
      .then(() => runtimeListener?.close())
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, `${name} stop failed`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
