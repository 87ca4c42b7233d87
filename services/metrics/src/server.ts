import {
  addStandardServices,
  bindGrpcServer,
  createGrpcServer,
  loadProto,
  shutdownGrpcServer,
  type StandardServices,
} from '@crdr/proto';
import type { Logger } from '@crdr/telemetry';
import type { MetricsConfig } from './config.js';
import { createCollector, type Collector } from './adapters/collector/collector.js';
import { ScrapeClients } from './adapters/collector/scrape-clients.js';
import {
  controlPlaneTargets,
  staticTargets,
  type TargetSource,
} from './adapters/collector/targets.js';
import { createMetricsServiceHandlers } from './adapters/grpc/metrics.grpc.js';
import { createHttpListener, type HttpListener } from './adapters/http/http-listener.js';
import {
  createMetricsRepository,
  type MetricsRepository,
} from './adapters/pg/metrics.repository.js';

export interface MetricsEndpoints {
  /** `http://host:port`: /metrics and /healthz. */
  readonly http: string;
  /** `host:port`: MetricsService, health, reflection. */
  readonly grpc: string;
}

export interface MetricsServerDeps {
  readonly config: Readonly<MetricsConfig>;
  readonly log: Logger;
  /** The clock of every figure and query (epoch ms); tests pass their own. */
  readonly now?: () => number;
  /** Where targets come from, instead of the config's (tests). */
  readonly targets?: TargetSource;
}

export interface MetricsServer {
  start(): Promise<MetricsEndpoints>;
  stop(): Promise<void>;
  readonly collector: Collector;
  readonly repository: MetricsRepository;
}

const serviceName = 'crdr.metrics.v1.MetricsService';

/** Builds the metrics service's parts; nothing runs until `start()` (docs/style.md §1). */
export function createServer(deps: MetricsServerDeps): MetricsServer {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const repository = createMetricsRepository({
    url: config.METRICS_DB_URL,
    poolSize: config.METRICS_DB_POOL_SIZE,
  });
  const targets =
    deps.targets ??
    (config.METRICS_CONTROL_PLANE !== undefined
      ? controlPlaneTargets(config.METRICS_CONTROL_PLANE, config.METRICS_SCRAPE_TIMEOUT_MS)
      : staticTargets(config.METRICS_TARGETS ?? []));
  const clients = new ScrapeClients(config.METRICS_SCRAPE_TIMEOUT_MS);
  const collector = createCollector({
    region: config.METRICS_REGION,
    targets,
    clients,
    repository,
    retentionMs: config.METRICS_RETENTION_MS,
    log,
    now,
  });
  const abort = new AbortController();
  const grpc = createGrpcServer();
  let standard: StandardServices | undefined;
  let http: HttpListener | undefined;
  let loop: Promise<void> | undefined;
  let storeHealthy = true;

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const startedMs = Date.now();
      try {
        await collector.collectOnce();
        if (!storeHealthy) log.info('metrics: the database is reachable again');
        storeHealthy = true;
      } catch (error) {
        if (storeHealthy) log.error({ err: error }, 'metrics: a collection round failed');
        storeHealthy = false;
      }
      const waitMs = Math.max(0, config.METRICS_INTERVAL_MS - (Date.now() - startedMs));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  return {
    collector,
    repository,
    async start() {
      await repository.prepare();
      grpc.addService(
        loadProto().crdr.metrics.v1.MetricsService.service,
        createMetricsServiceHandlers({
          repository,
          now,
          onUnexpectedError: (error, method) =>
            log.error({ err: error, method }, 'gRPC call failed unexpectedly'),
        }),
      );
      standard = addStandardServices(grpc, [serviceName]);
      const grpcPort = await bindGrpcServer(
        grpc,
        `${config.METRICS_HOST}:${config.METRICS_GRPC_PORT}`,
      );
      http = await createHttpListener({
        host: config.METRICS_HOST,
        port: config.METRICS_HTTP_PORT,
        collector,
        healthy: () => storeHealthy,
        log,
      });
      if (config.METRICS_COLLECT === 1) loop = run(abort.signal);
      log.info(
        {
          region: config.METRICS_REGION,
          httpPort: http.port,
          grpcPort,
          intervalMs: config.METRICS_INTERVAL_MS,
          retentionMs: config.METRICS_RETENTION_MS,
          targets: config.METRICS_CONTROL_PLANE ?? 'static',
        },
        'metrics service started',
      );
      return {
        http: `http://${config.METRICS_HOST}:${http.port}`,
        grpc: `${config.METRICS_HOST}:${grpcPort}`,
      };
    },
    async stop() {
      abort.abort();
      await loop;
      standard?.setServing(false);
      await Promise.allSettled([http?.close(), shutdownGrpcServer(grpc, 2_000)]);
      clients.close();
      targets.close();
      await repository.close();
    },
  };
}
