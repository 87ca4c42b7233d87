import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { checkGrpcHealth } from '@crdr/proto';
import {
  nodeArgsFor,
  renderNatsConfig,
  replicationUserWildcardPermissions,
  type TestPki,
} from '@crdr/testing';
import type { RegionName, StackLayout } from './stack-layout.js';
import type { RegionState, StackState } from './stack-state.js';
import { isMarked, stackMark, stackMarkVariable, startDetached } from './stack-processes.js';

export const host = '127.0.0.1';

/** The processes the stack itself starts per Region; brokers and replicators are the control plane's. */
export const serviceNames = ['nats', 'control-plane', 'metrics'] as const;
export type ServiceName = (typeof serviceNames)[number];

export interface RegionEndpoints {
  readonly controlPlane: string;
  readonly metricsHttp: string;
  readonly metricsGrpc: string;
  readonly console: string;
  readonly nats: string;
}

export function regionEndpoints(state: RegionState): RegionEndpoints {
  return {
    controlPlane: `${host}:${state.controlPlaneGrpcPort}`,
    metricsHttp: `http://${host}:${state.metricsHttpPort}`,
    metricsGrpc: `${host}:${state.metricsGrpcPort}`,
    console: `http://${host}:${state.consolePort}`,
    nats: `tls://${host}:${state.natsPort}`,
  };
}

export interface RegionContext {
  readonly root: string;
  readonly region: RegionName;
  readonly peer: RegionName;
  readonly layout: StackLayout;
  readonly stack: StackState;
  readonly pki: TestPki;
  readonly natsServer: string;
  /** The launcher's environment, passed on to the services (PATH, OTEL_*, LOG_LEVEL...). */
  readonly env: NodeJS.ProcessEnv;
}

/** NATS users of a Region: the Region's own services, and the peer's replicators. */
export const natsAdminUser = 'crdr-admin';
export const natsReplicationUser = 'crdr-replication';
export const replicationInboxPrefix = '_INBOX_crdr_replication';

/**
 * The Region's nats-server: JetStream on disk under `.stack/<region>/nats`, mutual TLS with the
 * stack's CA, and two users. The replication user may only read through consumers and ack
 * (any replication stream: pairs come and go while the server runs), never publish into a log,
 * create or delete anything, nor answer requests.
 */
function natsConfig(ctx: RegionContext): string {
  const state = ctx.stack.regions[ctx.region];
  return renderNatsConfig({
    server_name: ctx.region,
    listen: `${host}:${state.natsPort}`,
    jetstream: { store_dir: ctx.layout.natsDir(ctx.region) },
    tls: {
      cert_file: ctx.pki.server.certPath,
      key_file: ctx.pki.server.keyPath,
      ca_file: ctx.pki.ca.certPath,
      verify: true,
      timeout: 5,
    },
    authorization: {
      users: [
        { user: natsAdminUser, password: state.natsAdminPassword },
        {
          user: natsReplicationUser,
          password: state.natsReplicationPassword,
          permissions: replicationUserWildcardPermissions({ inboxPrefix: replicationInboxPrefix }),
        },
      ],
    },
  });
}

/**
 * A per-Region override of the launcher's environment: `STACK_REGION_A_<NAME>` for region-a.
 * Fault tests use them to give one Region a Postgres they may restart, or to put a TCP proxy
 * between the peer's replicators and this Region's NATS; nobody else needs them.
 */
export function regionSetting(
  env: NodeJS.ProcessEnv,
  region: RegionName,
  name: 'PG_URL' | 'REPLICATION_NATS_URL',
): string | undefined {
  const value = env[`STACK_${region.toUpperCase().replace(/-/g, '_')}_${name}`];
  return value === undefined || value === '' ? undefined : value;
}

/** The Postgres server of a Region's control plane, metrics and brokers. */
export function regionPgUrl(env: NodeJS.ProcessEnv, stack: StackState, region: RegionName): string {
  return regionSetting(env, region, 'PG_URL') ?? stack.pgUrl;
}

function pgUrlFor(pgUrl: string, database: string): string {
  const url = new URL(pgUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function serviceEnv(ctx: RegionContext, service: ServiceName): Record<string, string | undefined> {
  const state = ctx.stack.regions[ctx.region];
  const peerState = ctx.stack.regions[ctx.peer];
  const pgUrl = regionPgUrl(ctx.env, ctx.stack, ctx.region);
  const common = {
    ...ctx.env,
    [stackMarkVariable]: stackMark(ctx.layout.dir, ctx.region),
    LOG_LEVEL: ctx.env['LOG_LEVEL'] ?? 'info',
  };
  if (service === 'control-plane') {
    return {
      ...common,
      CONTROL_PLANE_REGION: ctx.region,
      CONTROL_PLANE_HOST: host,
      CONTROL_PLANE_GRPC_PORT: String(state.controlPlaneGrpcPort),
      CONTROL_PLANE_CONSOLE_PORT: String(state.consolePort),
      CONTROL_PLANE_CONSOLE_ADMIN: `admin:${state.consoleAdminPassword}`,
      CONTROL_PLANE_DB_URL: pgUrlFor(pgUrl, state.controlPlaneDb),
      CONTROL_PLANE_BROKER_PG_URL: pgUrl,
      CONTROL_PLANE_BROKER_DB_PREFIX: state.brokerDbPrefix,
      CONTROL_PLANE_PEERS: `${ctx.peer}=${host}:${peerState.controlPlaneGrpcPort}`,
      CONTROL_PLANE_PROVISIONER: 'local',
      CONTROL_PLANE_STATE_DIR: ctx.layout.controlPlaneStateDir(ctx.region),
      CONTROL_PLANE_NATS_URL: `tls://${host}:${state.natsPort}`,
      CONTROL_PLANE_NATS_USER: natsAdminUser,
      CONTROL_PLANE_NATS_PASSWORD: state.natsAdminPassword,
      CONTROL_PLANE_NATS_TLS_CA: ctx.pki.ca.certPath,
      CONTROL_PLANE_NATS_TLS_CERT: ctx.pki.client.certPath,
      CONTROL_PLANE_NATS_TLS_KEY: ctx.pki.client.keyPath,
      // What the peer's replicators dial: this Region's NATS, or a proxy in front of it.
      CONTROL_PLANE_REPLICATION_NATS_URL:
        regionSetting(ctx.env, ctx.region, 'REPLICATION_NATS_URL') ??
        `tls://${host}:${state.natsPort}`,
      CONTROL_PLANE_REPLICATION_USER: natsReplicationUser,
      CONTROL_PLANE_REPLICATION_PASSWORD: state.natsReplicationPassword,
      CONTROL_PLANE_REPLICATION_INBOX_PREFIX: replicationInboxPrefix,
      CONTROL_PLANE_METRICS_GRPC: `${host}:${state.metricsGrpcPort}`,
      CONTROL_PLANE_PEER_CONSOLES: `${ctx.peer}=http://${host}:${peerState.consolePort}`,
    };
  }
  return {
    ...common,
    METRICS_REGION: ctx.region,
    METRICS_HOST: host,
    METRICS_HTTP_PORT: String(state.metricsHttpPort),
    METRICS_GRPC_PORT: String(state.metricsGrpcPort),
    METRICS_DB_URL: pgUrlFor(pgUrl, state.metricsDb),
    METRICS_CONTROL_PLANE: `${host}:${state.controlPlaneGrpcPort}`,
  };
}

const entries: Record<Exclude<ServiceName, 'nats'>, string> = {
  'control-plane': 'services/control-plane/src/main.ts',
  metrics: 'services/metrics/src/main.ts',
};

interface PidRecord {
  readonly pid: number;
  readonly startedAt: string;
}

export async function runningPid(
  ctx: RegionContext,
  service: ServiceName,
): Promise<number | undefined> {
  let record: PidRecord;
  try {
    record = JSON.parse(
      await readFile(ctx.layout.pidFile(ctx.region, service), 'utf8'),
    ) as PidRecord;
  } catch {
    return undefined;
  }
  // A recycled pid is not ours: it must carry this Region's mark.
  return (await isMarked(record.pid, stackMark(ctx.layout.dir, ctx.region)))
    ? record.pid
    : undefined;
}

/** Starts one service unless it runs already; returns whether it was started. */
export async function ensureService(ctx: RegionContext, service: ServiceName): Promise<boolean> {
  if ((await runningPid(ctx, service)) !== undefined) return false;
  await mkdir(ctx.layout.regionDir(ctx.region), { recursive: true });
  await mkdir(ctx.layout.logsDir, { recursive: true });
  let pid: number;
  if (service === 'nats') {
    await mkdir(ctx.layout.natsDir(ctx.region), { recursive: true });
    const configFile = join(ctx.layout.regionDir(ctx.region), 'nats.conf');
    await writeFile(configFile, natsConfig(ctx), { mode: 0o600 });
    pid = startDetached({
      command: ctx.natsServer,
      args: ['-c', configFile],
      env: { ...ctx.env, [stackMarkVariable]: stackMark(ctx.layout.dir, ctx.region) },
      cwd: ctx.root,
      logFile: ctx.layout.logFile(ctx.region, service),
    });
  } else {
    await mkdir(ctx.layout.controlPlaneStateDir(ctx.region), { recursive: true });
    pid = startDetached({
      command: process.execPath,
      // Built JavaScript, as production runs it (built first when missing or stale).
      args: nodeArgsFor(entries[service]),
      env: serviceEnv(ctx, service),
      cwd: ctx.root,
      logFile: ctx.layout.logFile(ctx.region, service),
    });
  }
  const record: PidRecord = { pid, startedAt: new Date().toISOString() };
  await writeFile(ctx.layout.pidFile(ctx.region, service), JSON.stringify(record));
  return true;
}

export async function forgetService(ctx: RegionContext, service: ServiceName): Promise<void> {
  await rm(ctx.layout.pidFile(ctx.region, service), { force: true });
}

/** Resolves when the service answers its health check; rejects with its log's tail otherwise. */
export async function waitHealthy(
  ctx: RegionContext,
  service: ServiceName,
  timeoutMs: number,
): Promise<void> {
  const state = ctx.stack.regions[ctx.region];
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not started';
  while (Date.now() < deadline) {
    if ((await runningPid(ctx, service)) === undefined) {
      throw new Error(`${ctx.region} ${service} exited:\n${await logTail(ctx, service)}`);
    }
    try {
      if (service === 'nats') await tcpReachable(state.natsPort);
      else if (service === 'control-plane')
        await expectServing(`${host}:${state.controlPlaneGrpcPort}`);
      else await httpOk(`http://${host}:${state.metricsHttpPort}/healthz`);
      return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `${ctx.region} ${service} not healthy after ${timeoutMs} ms (${lastError}):\n${await logTail(ctx, service)}`,
  );
}

async function expectServing(address: string): Promise<void> {
  const status = await checkGrpcHealth(address, { deadlineMs: 1_000 });
  if (status !== 'SERVING') throw new Error(`health ${status}`);
}

async function httpOk(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
}

function tcpReachable(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

async function logTail(ctx: RegionContext, service: ServiceName): Promise<string> {
  const file = ctx.layout.logFile(ctx.region, service);
  try {
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    return `${lines.slice(-15).join('\n')}\n(whole log: ${file})`;
  } catch {
    return `(no log at ${file})`;
  }
}
