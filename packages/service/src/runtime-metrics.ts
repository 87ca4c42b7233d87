import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';

/*
 * The process's own figures (heap, resident memory, CPU, event-loop lag, GC pauses, handles), as
 * prom-client collects them under their usual names (`nodejs_heap_size_used_bytes`,
 * `nodejs_eventloop_lag_p99_seconds`, `nodejs_gc_duration_seconds`, `process_cpu_seconds_total`,
 * ...) with a `service` label. Samples carry no timestamps: Prometheus stamps them at scrape.
 */

let registry: Registry | undefined;

/** The registry of this process's runtime metrics, created (and collecting) on first use. */
export function runtimeMetrics(service: string): Registry {
  if (registry === undefined) {
    registry = new Registry();
    registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  }
  return registry;
}

/** The runtime metrics in the Prometheus text format. */
export function renderRuntimeMetrics(service: string): Promise<string> {
  return runtimeMetrics(service).metrics();
}

export interface RuntimeMetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `GET /metrics` with the runtime metrics, for a service that has no HTTP listener of its own
 * (broker, replicator, control plane): started by `runService` when RUNTIME_METRICS_PORT is set.
 */
export async function listenRuntimeMetrics(
  service: string,
  host: string,
  port: number,
): Promise<RuntimeMetricsListener> {
  const metrics = runtimeMetrics(service);
  const server: Server = createServer((request, response) => {
    if ((request.url ?? '/').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found: try /metrics\n');
      return;
    }
    metrics.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`${(error as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
