import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import { dropDatabase } from '@crdr/store';
import {
  createTestDatabase,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
} from '@crdr/testing';

// One Region's control plane as a real process (`pnpm control-plane`), with its own database
// and state folder, and the cleanup of every broker and replicator it started (they are
// detached processes that outlive it) and of their databases.

type ControlPlaneProto = ProtoGrpcType['crdr']['controlplane']['v1'];
export type ControlPlaneClient = ClientOf<ControlPlaneProto['ControlPlaneService']>;
export type ControlPlaneInternalClient = ClientOf<ControlPlaneProto['ControlPlaneInternalService']>;
export type DescribedBroker = Awaited<ReturnType<ControlPlaneClient['describeBroker']>>;

export interface ControlPlaneOptions {
  readonly region: string;
  /** Its gRPC port (peers are given it before it starts); 0 for any. */
  readonly port: number;
  readonly peers?: Readonly<Record<string, string>>;
  /** More CONTROL_PLANE_* (NATS, replication user...). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunningControlPlane {
  readonly region: string;
  readonly address: string;
  readonly process: ServiceProcess;
  readonly client: ControlPlaneClient;
  readonly internal: ControlPlaneInternalClient;
  readonly stateDir: string;
  /** Waits until DescribeBroker satisfies `done`; the error shows the last answer. */
  waitForBroker(
    brokerId: string,
    done: (b: DescribedBroker) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<DescribedBroker>;
  /** SIGKILLs the control plane, its brokers and replicators; drops every database. */
  stop(): Promise<void>;
}

async function killRecordedProcesses(stateDir: string): Promise<void> {
  const dir = join(stateDir, 'processes');
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const file of files) {
    if (!file.endsWith('.json')) continue;
    const record = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
      pid: number;
      token: string;
    };
    const environ = await readFile(`/proc/${record.pid}/environ`, 'utf8').catch(() => '');
    if (!environ.includes(record.token)) continue;
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await sleep(200);
}

export async function startControlPlane(
  options: ControlPlaneOptions,
): Promise<RunningControlPlane> {
  const database: TestDatabase = await createTestDatabase(
    `cp_${options.region.replace(/-/g, '_')}`,
  );
  const stateDir = await mkdtemp(join(tmpdir(), `crdr-cp-${options.region}-`));
  const brokerPgUrl = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const peers = Object.entries(options.peers ?? {})
    .map(([region, address]) => `${region}=${address}`)
    .join(',');
  let controlPlane: ServiceProcess;
  try {
    controlPlane = await startServiceProcess({
      entry: 'services/control-plane/src/main.ts',
      env: {
        CONTROL_PLANE_REGION: options.region,
        CONTROL_PLANE_GRPC_PORT: String(options.port),
        CONTROL_PLANE_DB_URL: database.url,
        CONTROL_PLANE_PEERS: peers,
        CONTROL_PLANE_PROVISIONER: 'local',
        CONTROL_PLANE_STATE_DIR: stateDir,
        CONTROL_PLANE_BROKER_PG_URL: brokerPgUrl,
        CONTROL_PLANE_BROKER_SCRYPT_COST: '1024',
        CONTROL_PLANE_CHILD_LOG_LEVEL: 'warn',
        LOG_LEVEL: 'info',
        ...options.env,
      },
    });
  } catch (error) {
    await database.drop();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  const address = controlPlane.endpoints['grpc']!;
  const proto = loadProto().crdr.controlplane.v1;
  const client = createClient(proto.ControlPlaneService, address, { deadlineMs: 120_000 });
  const internal = createClient(proto.ControlPlaneInternalService, address);
  const brokerIds = new Set<string>();

  const remember = async (): Promise<void> => {
    const { brokerSummaries } = await client.listBrokers({});
    for (const b of brokerSummaries) brokerIds.add(b.brokerId);
  };

  return {
    region: options.region,
    address,
    process: controlPlane,
    client,
    internal,
    stateDir,
    async waitForBroker(brokerId, done, what, timeoutMs = 90_000) {
      brokerIds.add(brokerId);
      let last: DescribedBroker | undefined;
      try {
        await waitFor(
          async () => {
            last = await client.describeBroker({ brokerId });
            return done(last);
          },
          `${options.region} broker ${brokerId}: ${what}`,
          timeoutMs,
          250,
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\nlast DescribeBroker: ${JSON.stringify(last)}\n` +
            `control plane log:\n${controlPlane.logs().slice(-4000)}`,
          { cause: error },
        );
      }
      return last!;
    },
    async stop() {
      await remember().catch(() => undefined);
      client.close();
      internal.close();
      await controlPlane.kill('SIGKILL');
      await killRecordedProcesses(stateDir);
      for (const id of brokerIds) {
        const name = `crdr_${options.region}_${id}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 63);
        const url = new URL(brokerPgUrl);
        url.pathname = `/${name}`;
        await dropDatabase(url.toString()).catch(() => undefined);
      }
      await database.drop().catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
