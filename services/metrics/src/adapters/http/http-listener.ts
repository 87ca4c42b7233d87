import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@crdr/telemetry';
import { renderRuntimeMetrics } from '@crdr/service';
import { renderBrokerInfo, renderPrometheusText } from '../../domain/prometheus-text.js';
import type { Collector } from '../collector/collector.js';

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface HttpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly collector: Collector;
  /** Whether the service is up (database reachable, collection running). */
  readonly healthy: () => boolean;
  readonly log: Logger;
}

/** `/metrics` (Prometheus text of the last round) and `/healthz`. */
export async function createHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const server: Server = createHttpServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      response.end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      // The brokers' series, crdr_broker_info, then this process's runtime metrics.
      const own =
        renderPrometheusText(options.collector.latest, options.collector.latestStatuses) +
        renderBrokerInfo(options.collector.brokers);
      renderRuntimeMetrics('metrics').then(
        (runtime) => {
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          response.end(own + runtime);
        },
        (error: unknown) => {
          options.log.warn({ err: error }, 'metrics http: runtime metrics failed');
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          response.end(own);
        },
      );
      return;
    }
    if (path === '/healthz') {
      const healthy = options.healthy();
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          status: healthy ? 'ok' : 'unavailable',
          lastRoundAtMs: options.collector.lastRoundAtMs,
        }),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: try /metrics or /healthz\n');
  });
  server.on('clientError', (error, socket) => {
    options.log.debug({ err: error }, 'metrics http: bad request');
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
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
