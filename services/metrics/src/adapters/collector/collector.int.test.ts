import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindGrpcServer,
  createGrpcServer,
  loadProto,
  shutdownGrpcServer,
  unaryHandler,
  type controlPlaneV1,
} from '@crdr/proto';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, freePort, type TestDatabase } from '@crdr/testing';
import type * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../config.js';
import { createServer, type MetricsServer } from '../../server.js';

// Targets from a control plane's ControlPlaneInternalService (a real gRPC server answering
// ListTargets) pointing at a broker that is not there: the round reports it, logs it once,
// never logs the admin password, and /metrics and /healthz still answer.

describe('collection from the control plane targets', () => {
  let database: TestDatabase;
  let controlPlane: grpc.Server;
  let server: MetricsServer;
  let http: string;
  const logLines: string[] = [];
  const password = 'never-logged-0xC0FFEE';

  beforeAll(async () => {
    database = await createTestDatabase('metrics_collector');
    const deadPort = await freePort();
    controlPlane = createGrpcServer();
    const handlers: Partial<controlPlaneV1.ControlPlaneInternalServiceHandlers> = {
      ListTargets: unaryHandler<
        controlPlaneV1.ListTargetsRequest__Output,
        controlPlaneV1.ListTargetsResponse
      >(async () => ({
        targets: [
          {
            brokerId: 'b-gone',
            region: 'region-a',
            dataReplicationRole: 'PRIMARY',
            brokerGrpcEndpoints: [`127.0.0.1:${deadPort}`],
            adminUsername: 'metrics',
            adminPassword: password,
          },
        ],
      })),
    };
    controlPlane.addService(
      loadProto().crdr.controlplane.v1.ControlPlaneInternalService.service,
      handlers as grpc.UntypedServiceImplementation,
    );
    const port = await bindGrpcServer(controlPlane, '127.0.0.1:0');
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => logLines.push(chunk.toString()));
    server = createServer({
      config: loadConfig({
        METRICS_DB_URL: database.url,
        METRICS_COLLECT: '0',
        METRICS_CONTROL_PLANE: `127.0.0.1:${port}`,
        METRICS_SCRAPE_TIMEOUT_MS: '500',
      }),
      log: createLogger({ service: 'metrics-test', level: 'info', destination }),
    });
    http = (await server.start()).http;
  });

  afterAll(async () => {
    await server?.stop();
    if (controlPlane !== undefined) await shutdownGrpcServer(controlPlane, 1_000);
    await database?.drop();
  });

  it('reports an unreachable broker once, without its password', async () => {
    const first = await server.collector.collectOnce();
    const second = await server.collector.collectOnce();
    expect(first.failures.get('b-gone')).toMatch(/^broker: /);
    expect(second.failures.get('b-gone')).toMatch(/^broker: /);
    // Nothing of the broker itself; only that none of its instances answered (issue 17: the
    // instance counts let an alert see a broker without its standby).
    expect(first.samples.map((sample) => [sample.metric, sample.value])).toEqual([
      ['BrokerInstanceCount', 1],
      ['AvailableBrokerInstanceCount', 0],
    ]);
    const reported = logLines.filter((line) => line.includes('target not fully readable'));
    expect(reported).toHaveLength(1);
    expect(JSON.parse(reported[0]!)).toMatchObject({ brokerId: 'b-gone', level: 40 });
    expect(logLines.join('')).not.toContain(password);

    const metrics = await fetch(`${http}/metrics`);
    expect(metrics.status).toBe(200);
    // Issue 17: the broker's info series and the service's runtime metrics, and no timestamps.
    const text = await metrics.text();
    expect(text).toContain(
      'crdr_broker_instances_available{region="region-a",broker="b-gone"} 0\n',
    );
    expect(text).toMatch(/^crdr_broker_info\{.*broker_id="b-gone".*\} 1$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{service="metrics"\} \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="metrics"\} /m);
    expect(text).toContain('nodejs_gc_duration_seconds');
    expect(text).not.toMatch(/^crdr_\w+\{[^}]*\} \S+ \d+$/m);
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${http}/nope`)).status).toBe(404);
  });
});
