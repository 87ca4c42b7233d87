import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isCrdrError } from '@crdr/errors';
import { createClient, loadProto } from '@crdr/proto';
import { connectStomp, isStompServerError, type StompClient } from '@crdr/stomp';
import { dropDatabase } from '@crdr/store';
import {
  createTestDatabase,
  createTestPki,
  freePort,
  hostPort,
  startServiceProcess,
  startTcpProxy,
  waitFor,
  type NatsServerHandle,
  type ServiceProcess,
  type TcpProxy,
  type TestDatabase,
  type TestPki,
} from '@crdr/testing';
import type {
  ControlPlaneClient,
  ControlPlaneInternalClient,
  DescribedBroker,
} from './control-plane.js';
import { controlPlaneNatsEnv, startRegionNatsServers } from './region-nats.js';

// Two Regions for the promotion tests: TLS nats-servers with a relay and a restricted
// replication user each, and two control planes that can be killed (kill -9, alone or with every
// process of their Region) and started again on the same database, state folder and port.
// Each Region's replicators reach the other's NATS through a TCP proxy the test can cut, and each
// control plane reaches the other (ControlPlanePeerService) through one as well: cutting all
// three is a partition between the Regions.

export const appUser = { username: 'app-user', password: 'app-password-1' };
export const replicationUser = { username: 'repl-user', password: 'repl-password-1' };

export interface PromotionRegion {
  readonly name: 'region-a' | 'region-b';
  readonly nats: NatsServerHandle;
  readonly stateDir: string;
  readonly address: string;
  readonly client: ControlPlaneClient;
  readonly internal: ControlPlaneInternalClient;
  /** The control plane's own database (its event store). */
  readonly dbUrl: string;
  /** The store of one of this Region's brokers. */
  brokerDbUrl(brokerId: string): string;
  process(): ServiceProcess | undefined;
  /** Starts the control plane (again), with more environment (CONTROL_PLANE_FAILPOINT...). */
  start(env?: Readonly<Record<string, string>>): Promise<void>;
  /** kill -9 of the control plane only. */
  killControlPlane(): Promise<void>;
  /** Waits until the control plane exited by itself (a failpoint killed it). */
  waitForCrash(timeoutMs?: number): Promise<void>;
  /** kill -9 of every process of the Region: control plane, brokers, replicators, NATS. */
  killAll(): Promise<void>;
  /** NATS and the control plane back, on the same data. */
  restartAll(env?: Readonly<Record<string, string>>): Promise<void>;
  describe(brokerId: string): Promise<DescribedBroker>;
  waitForBroker(
    brokerId: string,
    done: (b: DescribedBroker) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<DescribedBroker>;
  /** The broker's admin client on an answering instance that serves (or any, `anyInstance`). */
  digest(brokerId: string): Promise<{ digest: string; sequence: string; messages: string }>;
  logs(): string;
}

export interface PromotionRegions {
  readonly a: PromotionRegion;
  readonly b: PromotionRegion;
  /** The link region-b's replicators use to reach region-a's NATS. */
  readonly linkToA: TcpProxy;
  /** The link region-a's replicators use to reach region-b's NATS. */
  readonly linkToB: TcpProxy;
  /** The links each control plane uses to reach the other's peer service. */
  readonly peerLinks: { readonly toA: TcpProxy; readonly toB: TcpProxy };
  /** Cuts every link between the Regions, black-holed: open connections freeze, new ones hang. */
  partition(): void;
  /** Heals every link `partition` cut. */
  heal(): void;
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

export async function startPromotionRegions(
  name: string,
  options: { readonly env?: Readonly<Record<string, string>> } = {},
): Promise<PromotionRegions> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const pki: TestPki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    const [natsA, natsB] = await startRegionNatsServers(pki);
    cleanups.push(
      () => natsA.cleanup(),
      () => natsB.cleanup(),
    );
    const linkToA = await startTcpProxy({ targetPort: natsA.port });
    const linkToB = await startTcpProxy({ targetPort: natsB.port });
    cleanups.push(
      () => linkToA.close(),
      () => linkToB.close(),
    );
    const ports = { a: await freePort(), b: await freePort() };
    const peerLinks = {
      toA: await startTcpProxy({ targetPort: ports.a }),
      toB: await startTcpProxy({ targetPort: ports.b }),
    };
    cleanups.push(
      () => peerLinks.toA.close(),
      () => peerLinks.toB.close(),
    );
    const peerPort = { a: peerLinks.toA.port, b: peerLinks.toB.port };
    const brokerPgUrl = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

    const region = async (r: 'a' | 'b'): Promise<PromotionRegion> => {
      const regionName = `region-${r}` as const;
      const other = r === 'a' ? 'b' : 'a';
      const nats = r === 'a' ? natsA : natsB;
      const database: TestDatabase = await createTestDatabase(`${name}_cp_${r}`);
      const stateDir = await mkdtemp(join(tmpdir(), `crdr-${name}-${regionName}-`));
      const address = `127.0.0.1:${ports[r]}`;
      const proto = loadProto().crdr.controlplane.v1;
      const client = createClient(proto.ControlPlaneService, address, { deadlineMs: 60_000 });
      const internal = createClient(proto.ControlPlaneInternalService, address);
      let current: ServiceProcess | undefined;
      let allLogs = '';
      const brokerIds = new Set<string>();
      const replicationNatsUrl = `tls://127.0.0.1:${(r === 'a' ? linkToA : linkToB).port}`;
      const brokerDbUrl = (id: string): string => {
        const dbName = `${baseEnv['CONTROL_PLANE_BROKER_DB_PREFIX']}${id}`
          .replace(/[^A-Za-z0-9_]/g, '_')
          .slice(0, 63);
        const url = new URL(brokerPgUrl);
        url.pathname = `/${dbName}`;
        return url.toString();
      };
      const baseEnv: Record<string, string> = {
        CONTROL_PLANE_REGION: regionName,
        CONTROL_PLANE_GRPC_PORT: String(ports[r]),
        CONTROL_PLANE_DB_URL: database.url,
        CONTROL_PLANE_PEERS: `region-${other}=127.0.0.1:${peerPort[other]}`,
        CONTROL_PLANE_PROVISIONER: 'local',
        CONTROL_PLANE_STATE_DIR: stateDir,
        CONTROL_PLANE_BROKER_PG_URL: brokerPgUrl,
        CONTROL_PLANE_BROKER_DB_PREFIX: `crdr_${name}_${r}_`.toLowerCase(),
        CONTROL_PLANE_BROKER_SCRYPT_COST: '1024',
        CONTROL_PLANE_CHILD_LOG_LEVEL: 'warn',
        ...controlPlaneNatsEnv(r, nats, pki),
        CONTROL_PLANE_REPLICATION_NATS_URL: replicationNatsUrl,
        LOG_LEVEL: 'info',
        ...options.env,
      };
      const killControlPlane = async () => {
        if (current === undefined) return;
        allLogs += current.logs();
        await current.kill('SIGKILL');
        current = undefined;
      };
      const self: PromotionRegion = {
        name: regionName,
        nats,
        stateDir,
        address,
        client,
        internal,
        process: () => current,
        async start(env = {}) {
          current = await startServiceProcess({
            entry: 'services/control-plane/src/main.ts',
            env: { ...baseEnv, ...env },
          });
        },
        killControlPlane,
        async waitForCrash(timeoutMs = 60_000) {
          const process = current;
          if (process === undefined) return;
          const timeout = sleep(timeoutMs).then(() => 'timeout' as const);
          if ((await Promise.race([process.exited, timeout])) === 'timeout') {
            throw new Error(
              `${regionName}'s control plane did not crash:\n${process.logs().slice(-4000)}`,
            );
          }
          allLogs += process.logs();
          current = undefined;
        },
        async killAll() {
          await killControlPlane();
          await killRecordedProcesses(stateDir);
          await nats.kill();
        },
        async restartAll(env = {}) {
          await nats.restart();
          await self.start(env);
        },
        describe: (brokerId) => client.describeBroker({ brokerId }),
        async waitForBroker(brokerId, done, what, timeoutMs = 90_000) {
          brokerIds.add(brokerId);
          let last: DescribedBroker | undefined;
          let lastError: unknown;
          try {
            await waitFor(
              async () => {
                try {
                  last = await client.describeBroker({ brokerId });
                } catch (error) {
                  lastError = error;
                  return false;
                }
                return done(last);
              },
              `${regionName} broker ${brokerId}: ${what}`,
              timeoutMs,
              100,
            );
          } catch (error) {
            throw new Error(
              `${(error as Error).message}\nlast DescribeBroker: ${JSON.stringify(last)}\n` +
                `last error: ${String(lastError)}\ncontrol plane log:\n${self.logs().slice(-6000)}`,
              { cause: error },
            );
          }
          return last!;
        },
        async digest(brokerId) {
          const { targets } = await internal.listTargets({});
          const target = targets.find((t) => t.brokerId === brokerId);
          if (target === undefined) throw new Error(`${brokerId} is not a target of ${regionName}`);
          for (const endpoint of target.brokerGrpcEndpoints) {
            const admin = createClient(loadProto().crdr.broker.v1.BrokerAdminService, endpoint, {
              credentials: { username: target.adminUsername, password: target.adminPassword },
              deadlineMs: 30_000,
            });
            try {
              return await admin.getStateDigest({});
            } catch {
              // Try the next instance.
            } finally {
              admin.close();
            }
          }
          throw new Error(`no instance of ${brokerId} answered`);
        },
        logs: () => allLogs + (current?.logs() ?? ''),
        dbUrl: database.url,
        brokerDbUrl: (id) => brokerDbUrl(id),
      };
      cleanups.push(async () => {
        for (const b of (await client.listBrokers({}).catch(() => ({ brokerSummaries: [] })))
          .brokerSummaries) {
          brokerIds.add(b.brokerId);
        }
        client.close();
        internal.close();
        await killControlPlane();
        await killRecordedProcesses(stateDir);
        for (const id of brokerIds) await dropDatabase(brokerDbUrl(id)).catch(() => undefined);
        await database.drop().catch(() => undefined);
        await rm(stateDir, { recursive: true, force: true });
      });
      return self;
    };
    const [a, b] = await Promise.all([region('a'), region('b')]);
    await Promise.all([a.start(), b.start()]);
    const links = [linkToA, linkToB, peerLinks.toA, peerLinks.toB];
    return {
      a,
      b,
      linkToA,
      linkToB,
      peerLinks,
      partition: () => {
        for (const link of links) link.cut({ existing: 'freeze', incoming: 'hold' });
      },
      heal: () => {
        for (const link of links) link.heal();
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export const primaryRequest = (brokerName: string) => ({
  brokerName,
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
  users: [{ ...appUser, consoleAccess: true }],
});

export const replicaRequest = (brokerName: string, primaryArn: string) => ({
  brokerName,
  engineType: 'ACTIVEMQ',
  engineVersion: '5.18.4',
  hostInstanceType: 'mq.m5.large',
  deploymentMode: 'SINGLE_INSTANCE',
  users: [{ ...replicationUser, replicationUser: true }],
  dataReplicationMode: 'CRDR',
  dataReplicationPrimaryBrokerArn: primaryArn,
});

export const statusOf = (b: DescribedBroker): string =>
  `${b.dataReplicationMetadata?.dataReplicationRole ?? '-'}/${b.dataReplicationMetadata?.replicationStatus ?? '-'}`;

/** A CRDR pair made through the API: primary in region-a, replica in region-b, replicating. */
export async function createPair(
  regions: PromotionRegions,
  name: string,
): Promise<{ primaryId: string; replicaId: string }> {
  const primary = await regions.a.client.createBroker(primaryRequest(name));
  await regions.a.waitForBroker(primary.brokerId, (d) => d.brokerState === 'RUNNING', 'RUNNING');
  const replica = await regions.b.client.createBroker(
    replicaRequest(`${name}-replica`, primary.brokerArn),
  );
  await regions.b.waitForBroker(replica.brokerId, (d) => d.brokerState === 'REPLICA', 'REPLICA');
  await regions.a.client.rebootBroker({ brokerId: primary.brokerId });
  // A running replica shows BrokerState REPLICA, its primary RUNNING.
  const replicating = (d: DescribedBroker) =>
    d.brokerState ===
      (d.dataReplicationMetadata?.dataReplicationRole === 'REPLICA' ? 'REPLICA' : 'RUNNING') &&
    d.dataReplicationMetadata?.replicationStatus === 'REPLICATING';
  await regions.a.waitForBroker(primary.brokerId, replicating, 'REPLICATING');
  await regions.b.waitForBroker(replica.brokerId, replicating, 'REPLICATING');
  return { primaryId: primary.brokerId, replicaId: replica.brokerId };
}

export const stompEndpoints = (b: DescribedBroker): string[] =>
  b.brokerInstances.flatMap((i) => i.endpoints).filter((e) => e.startsWith('stomp://'));

/** CONNECT as the app user (or `user`) to any of the endpoints: the client, or the refusals. */
export async function connectAny(
  endpoints: readonly string[],
  user: { readonly username: string; readonly password: string } = appUser,
): Promise<{ client?: StompClient; refusals: string[] }> {
  const refusals: string[] = [];
  for (const endpoint of endpoints) {
    try {
      const client = await connectStomp({
        ...hostPort(endpoint),
        login: user.username,
        passcode: user.password,
        connectTimeoutMs: 3_000,
      });
      return { client, refusals };
    } catch (error) {
      refusals.push(isStompServerError(error) ? (error.headers['message'] ?? '') : String(error));
    }
  }
  return { refusals };
}

/** Sends `bodies` with receipts to whichever endpoint accepts the app user. */
export async function sendAll(
  endpoints: readonly string[],
  queue: string,
  bodies: readonly string[],
): Promise<void> {
  const { client, refusals } = await connectAny(endpoints);
  if (client === undefined) throw new Error(`no broker accepted: ${refusals.join('; ')}`);
  for (const body of bodies) {
    await client.send(queue, body, { persistent: 'true' }, { receipt: true });
  }
  await client.disconnect();
}

/** The code of a failed call. */
export async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (error) {
    if (isCrdrError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the call succeeded');
}
