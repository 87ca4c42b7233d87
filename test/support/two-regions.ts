import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions } from 'nats';
import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';
import {
  ensureReplicationConsumer,
  replicationConsumerName,
  replicationStreamName,
  replicationSubject,
} from '@crdr/replication';
import { connectStomp, type StompClient, type StompClientOptions } from '@crdr/stomp';
import {
  createTestDatabase,
  createTestPki,
  hostPort,
  replicationUserPermissions,
  startNatsServer,
  startServiceProcess,
  startTcpProxy,
  waitFor,
  type NatsServerHandle,
  type ServiceProcess,
  type TcpProxy,
  type TestDatabase,
  type TestPki,
} from '@crdr/testing';

// Two Regions on one machine for the replication tests (issue 3), every part a real process:
//
//   region-a: nats-server (JetStream, mutual TLS, an admin user and the replication user)
//             primary broker (own database; relays its log to region-a's NATS as the admin user)
//   region-b: nats-server (idle: nothing in region-b needs region-a, except replication)
//             replica broker (own database, role REPLICA)
//             replicator (reads region-a's log through a TCP proxy, as the replication user over
//             TLS with the client certificate; applies it to the replica broker's database)
//
// The proxy stands for the Region link: `regionA.link.cut()` partitions the two Regions.

type Services = ProtoGrpcType['crdr'];
export type BrokerAdminClient = ClientOf<Services['broker']['v1']['BrokerAdminService']>;
export type BrokerClient = ClientOf<Services['broker']['v1']['BrokerService']>;
export type ReplicatorClient = ClientOf<Services['replicator']['v1']['ReplicatorService']>;
export type StateDigest = Awaited<ReturnType<BrokerAdminClient['getStateDigest']>>;
export type ReplicatorStatus = Awaited<ReturnType<ReplicatorClient['getStatus']>>;

const brokerEntry = 'services/broker/src/main.ts';
const replicatorEntry = 'services/replicator/src/main.ts';
const adminCredentials = { username: 'admin', password: 'admin' } as const;
/** A digest reads and hashes every body: with messages of tens of MiB it takes seconds. */
const digestCall = { deadlineMs: 60_000 } as const;

export interface TwoRegionsOptions {
  /** Names the brokers (`<name>-a`, `<name>-b`) and the databases; unique per spec file. */
  readonly name: string;
  /** More environment for the primary broker (BROKER_MAX_REDELIVERIES...). */
  readonly primaryEnv?: Readonly<Record<string, string>>;
  /** More environment for the replicator (batch sizes...). */
  readonly replicatorEnv?: Readonly<Record<string, string>>;
  /**
   * The durable consumer's ack wait: how long events a killed replicator held wait before
   * JetStream offers them again. Default 10 s (the product's default).
   */
  readonly consumerAckWaitMs?: number;
  /** Child process log level. Default `warn`. */
  readonly logLevel?: string;
}

export interface NatsAccount {
  readonly user: string;
  readonly password: string;
}

export interface RunningReplicator {
  readonly process: ServiceProcess;
  readonly client: ReplicatorClient;
}

export interface LagZero {
  /** The primary's last written sequence when asked, now applied on the replica. */
  readonly sequence: bigint;
  readonly tookMs: number;
}

export interface SettledDigests {
  readonly primary: StateDigest;
  readonly replica: StateDigest;
}

export interface TwoRegions {
  readonly pki: TestPki;
  readonly ids: {
    readonly primary: string;
    readonly replica: string;
    readonly stream: string;
    readonly subject: string;
    readonly consumer: string;
    readonly inboxPrefix: string;
  };
  readonly regionA: {
    readonly nats: NatsServerHandle;
    /** The Region link as the replicator sees it. */
    readonly link: TcpProxy;
    readonly database: TestDatabase;
    readonly primary: ServiceProcess;
    readonly admin: BrokerAdminClient;
    readonly broker: BrokerClient;
    readonly natsAdmin: NatsAccount;
    readonly natsReplication: NatsAccount;
  };
  readonly regionB: {
    readonly nats: NatsServerHandle;
    readonly database: TestDatabase;
    readonly replica: ServiceProcess;
    readonly admin: BrokerAdminClient;
    /** BrokerService (the client API) on the replica, which must refuse it. */
    readonly broker: BrokerClient;
  };
  /** The replicator now running (it changes when it is restarted). */
  readonly replicator: RunningReplicator;
  /** STOMP to the primary as admin. */
  connectPrimary(options?: Partial<StompClientOptions>): Promise<StompClient>;
  /** STOMP CONNECT to the replica, as admin; the broker must refuse it. */
  connectReplica(options?: Partial<StompClientOptions>): Promise<StompClient>;
  /** SetRole(PRIMARY, CRDR) on the primary, then provisions the consumer and starts the replicator. */
  enableReplication(): Promise<void>;
  /** Starts a replicator process for the replica (the default one unless `env` overrides). */
  spawnReplicator(env?: Readonly<Record<string, string>>): Promise<RunningReplicator>;
  /** `kill -9` of the running replicator. */
  killReplicator(): Promise<void>;
  /** Starts the replicator again after `killReplicator` (same configuration). */
  restartReplicator(): Promise<RunningReplicator>;
  /** Connection options for region-a's NATS (TLS with the test CA and the client certificate). */
  natsOptionsA(account: NatsAccount, overrides?: Partial<ConnectionOptions>): ConnectionOptions;
  /** Waits until the running replicator applied `sequence`; the error carries its status and log. */
  waitForSequence(sequence: bigint, timeoutMs?: number): Promise<void>;
  /** Waits until the replicator applied the primary's last written sequence. */
  waitForLagZero(timeoutMs?: number): Promise<LagZero>;
  /** Both brokers' GetStateDigest, as they are now. */
  digests(): Promise<SettledDigests>;
  /**
   * Both digests at the same log sequence: reads the primary's, waits for the replica to apply
   * up to it and reads the replica's; repeats while the primary moved on meanwhile.
   */
  settledDigests(timeoutMs?: number): Promise<SettledDigests>;
  /** Waits until the primary writes no event for `quietMs` (expiry sweeps, redeliveries...). */
  waitForQuietPrimary(quietMs?: number, timeoutMs?: number): Promise<bigint>;
  /** The replicator's log lines so far, previous (killed) processes included. */
  replicatorLogs(): string;
  stop(): Promise<void>;
}

const flagArgs = (flags: Record<string, string>): string[] =>
  Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]);

const grpcAddress = (endpoint: string): string => {
  const { host, port } = hostPort(endpoint);
  return `${host}:${port}`;
};

/** Starts both Regions (replication off until `enableReplication()`). */
export async function startTwoRegions(options: TwoRegionsOptions): Promise<TwoRegions> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const proto = loadProto();
  const logLevel = options.logLevel ?? 'warn';
  const primaryId = `${options.name}-a`;
  const replicaId = `${options.name}-b`;
  const stream = replicationStreamName(primaryId);
  const consumer = replicationConsumerName(replicaId);
  const inboxPrefix = `_INBOX_${consumer}`;
  const natsAdmin: NatsAccount = { user: 'broker-a', password: 'broker-a-secret' };
  const natsReplication: NatsAccount = { user: `repl-${replicaId}`, password: 'repl-secret' };
  const replicatorLogs: string[] = [];
  let replicator: RunningReplicator | undefined;

  const stop = async (): Promise<void> => {
    if (replicator !== undefined) {
      replicator.client.close();
      await replicator.process.kill('SIGKILL');
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };

  try {
    const pki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    const [databaseA, databaseB] = await Promise.all([
      createTestDatabase(`${options.name.replace(/-/g, '_')}_a`),
      createTestDatabase(`${options.name.replace(/-/g, '_')}_b`),
    ]);
    cleanups.push(
      () => databaseA.drop(),
      () => databaseB.drop(),
    );

    const [natsA, natsB] = await Promise.all([
      startNatsServer({
        serverName: 'region-a',
        tls: { cert: pki.server.certPath, key: pki.server.keyPath, ca: pki.ca.certPath },
        users: [
          { user: natsAdmin.user, password: natsAdmin.password },
          {
            user: natsReplication.user,
            password: natsReplication.password,
            permissions: replicationUserPermissions(stream, consumer, { inboxPrefix }),
          },
        ],
      }),
      startNatsServer({ serverName: 'region-b' }),
    ]);
    cleanups.push(
      () => natsA.cleanup(),
      () => natsB.cleanup(),
    );
    const link = await startTcpProxy({ targetPort: natsA.port });
    cleanups.push(() => link.close());

    const tlsFiles = (prefix: string) => ({
      [`${prefix}_TLS_CA`]: pki.ca.certPath,
      [`${prefix}_TLS_CERT`]: pki.client.certPath,
      [`${prefix}_TLS_KEY`]: pki.client.keyPath,
    });
    const brokerEnv = { BROKER_SCRYPT_COST: '1024', LOG_LEVEL: logLevel };
    const startBroker = (
      id: string,
      database: TestDatabase,
      env: Record<string, string>,
    ): Promise<ServiceProcess> =>
      startServiceProcess({
        entry: brokerEntry,
        args: flagArgs({
          'db-url': database.url,
          'stomp-port': '0',
          'ws-port': '0',
          'grpc-port': '0',
          'broker-id': id,
          'instance-id': `${id}-1`,
        }),
        env: { ...brokerEnv, ...env },
      });
    const [primary, replica] = await Promise.all([
      startBroker(primaryId, databaseA, {
        BROKER_NATS_URL: natsA.url,
        BROKER_NATS_USER: natsAdmin.user,
        BROKER_NATS_PASSWORD: natsAdmin.password,
        ...tlsFiles('BROKER_NATS'),
        ...options.primaryEnv,
      }),
      startBroker(replicaId, databaseB, {
        BROKER_INITIAL_ROLE: 'REPLICA',
        BROKER_NATS_URL: natsB.url,
      }),
    ]);
    cleanups.push(
      () => primary.kill('SIGKILL'),
      () => replica.kill('SIGKILL'),
    );

    const grpcOptions = { credentials: adminCredentials };
    const adminA = createClient(
      proto.crdr.broker.v1.BrokerAdminService,
      grpcAddress(primary.endpoints['grpc']!),
      grpcOptions,
    );
    const adminB = createClient(
      proto.crdr.broker.v1.BrokerAdminService,
      grpcAddress(replica.endpoints['grpc']!),
      grpcOptions,
    );
    const brokerA = createClient(
      proto.crdr.broker.v1.BrokerService,
      grpcAddress(primary.endpoints['grpc']!),
      grpcOptions,
    );
    const brokerB = createClient(
      proto.crdr.broker.v1.BrokerService,
      grpcAddress(replica.endpoints['grpc']!),
      grpcOptions,
    );
    for (const client of [adminA, adminB, brokerA, brokerB])
      cleanups.push(() => Promise.resolve(client.close()));

    // The replica is told where its primary is, so that refused clients are pointed there.
    await adminB.setRole({
      role: 'REPLICA',
      epoch: '1',
      primaryRegion: 'region-a',
      primaryBrokerId: primaryId,
    });

    const natsOptionsA = (
      account: NatsAccount,
      overrides: Partial<ConnectionOptions> = {},
    ): ConnectionOptions => ({
      servers: natsA.url,
      user: account.user,
      pass: account.password,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
      ...overrides,
    });

    const replicatorEnv = (env: Readonly<Record<string, string>>): Record<string, string> => ({
      REPLICATOR_PRIMARY_BROKER_ID: primaryId,
      REPLICATOR_REPLICA_BROKER_ID: replicaId,
      REPLICATOR_DB_URL: databaseB.url,
      REPLICATOR_NATS_URL: `tls://${link.host}:${link.port}`,
      REPLICATOR_NATS_USER: natsReplication.user,
      REPLICATOR_NATS_PASSWORD: natsReplication.password,
      ...tlsFiles('REPLICATOR_NATS'),
      REPLICATOR_NATS_INBOX_PREFIX: inboxPrefix,
      REPLICATOR_GRPC_PORT: '0',
      REPLICATOR_IDLE_WAIT_MS: '1000',
      REPLICATOR_BACKOFF_MIN_MS: '100',
      REPLICATOR_BACKOFF_MAX_MS: '1000',
      REPLICATOR_NATS_TIMEOUT_MS: '2000',
      LOG_LEVEL: logLevel,
      ...options.replicatorEnv,
      ...env,
    });
    const spawnReplicator = async (
      env: Readonly<Record<string, string>> = {},
    ): Promise<RunningReplicator> => {
      const process = await startServiceProcess({
        entry: replicatorEntry,
        env: replicatorEnv(env),
      });
      const client = createClient(
        proto.crdr.replicator.v1.ReplicatorService,
        grpcAddress(process.endpoints['grpc']!),
      );
      cleanups.push(async () => {
        client.close();
        await process.kill('SIGKILL');
      });
      return { process, client };
    };

    const killReplicator = async (): Promise<void> => {
      if (replicator === undefined) return;
      const { process, client } = replicator;
      replicator = undefined;
      client.close();
      await process.kill('SIGKILL');
      replicatorLogs.push(process.logs());
    };

    const waitForSequence = async (sequence: bigint, timeoutMs = 30_000): Promise<void> => {
      if (replicator === undefined) throw new Error('no replicator is running');
      try {
        await replicator.client.waitForSequence(
          { sequence: sequence.toString(), timeoutMs },
          { deadlineMs: timeoutMs + 5_000 },
        );
      } catch (error) {
        const status = await replicator.client.getStatus({}).catch(() => undefined);
        throw new Error(
          `replicator did not apply sequence ${sequence} within ${timeoutMs} ms; status ` +
            `${JSON.stringify(status)}\nreplicator log:\n${replicator.process.logs().slice(-4000)}`,
          { cause: error },
        );
      }
    };

    const waitForLagZero = async (timeoutMs = 30_000): Promise<LagZero> => {
      const startedMs = performance.now();
      const { lastSequence } = await adminA.getReplicationStatus({});
      const sequence = BigInt(lastSequence);
      await waitForSequence(sequence, timeoutMs);
      return { sequence, tookMs: performance.now() - startedMs };
    };

    const digests = async (): Promise<SettledDigests> => {
      const [primaryDigest, replicaDigest] = await Promise.all([
        adminA.getStateDigest({}, digestCall),
        adminB.getStateDigest({}, digestCall),
      ]);
      return { primary: primaryDigest, replica: replicaDigest };
    };

    const settledDigests = async (timeoutMs = 30_000): Promise<SettledDigests> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const primaryDigest = await adminA.getStateDigest({}, digestCall);
        if (replicator === undefined) throw new Error('no replicator is running');
        await replicator.client.waitForSequence(
          { sequence: primaryDigest.sequence, timeoutMs: Math.max(1, deadline - Date.now()) },
          { deadlineMs: Math.max(1, deadline - Date.now()) + 5_000 },
        );
        const replicaDigest = await adminB.getStateDigest({}, digestCall);
        if (replicaDigest.sequence === primaryDigest.sequence)
          return { primary: primaryDigest, replica: replicaDigest };
        if (Date.now() > deadline)
          throw new Error(
            `the primary kept moving: no digest pair at one sequence within ${timeoutMs} ms`,
          );
        await sleep(200);
      }
    };

    const waitForQuietPrimary = async (quietMs = 2_000, timeoutMs = 20_000): Promise<bigint> => {
      let last = -1n;
      let sinceMs = Date.now();
      await waitFor(
        async () => {
          const sequence = BigInt((await adminA.getReplicationStatus({})).lastSequence);
          if (sequence !== last) {
            last = sequence;
            sinceMs = Date.now();
          }
          return Date.now() - sinceMs >= quietMs;
        },
        `the primary writing nothing for ${quietMs} ms`,
        timeoutMs,
        100,
      );
      return last;
    };

    const stomp = (process: ServiceProcess, overrides: Partial<StompClientOptions>) =>
      connectStomp({
        ...hostPort(process.endpoints['stomp']!),
        login: adminCredentials.username,
        passcode: adminCredentials.password,
        connectTimeoutMs: 5_000,
        ...overrides,
      });

    return {
      pki,
      ids: {
        primary: primaryId,
        replica: replicaId,
        stream,
        subject: replicationSubject(primaryId),
        consumer,
        inboxPrefix,
      },
      regionA: {
        nats: natsA,
        link,
        database: databaseA,
        primary,
        admin: adminA,
        broker: brokerA,
        natsAdmin,
        natsReplication,
      },
      regionB: { nats: natsB, database: databaseB, replica, admin: adminB, broker: brokerB },
      get replicator() {
        if (replicator === undefined) throw new Error('no replicator is running');
        return replicator;
      },
      connectPrimary: (overrides = {}) => stomp(primary, overrides),
      connectReplica: (overrides = {}) => stomp(replica, overrides),
      async enableReplication() {
        await adminA.setRole({ role: 'PRIMARY', epoch: '1', dataReplicationMode: 'CRDR' });
        // The relay creates the stream once it publishes the new log; the consumer is
        // provisioned with administrator rights, which the replication user does not have.
        const nc = await connect(natsOptionsA(natsAdmin));
        try {
          const jsm = await nc.jetstreamManager();
          await waitFor(
            async () => (await jsm.streams.info(stream).catch(() => undefined)) !== undefined,
            `stream ${stream} in region-a`,
            15_000,
            100,
          );
          await ensureReplicationConsumer(jsm, primaryId, replicaId, {
            ...(options.consumerAckWaitMs === undefined
              ? {}
              : { ackWaitMs: options.consumerAckWaitMs }),
          });
        } finally {
          await nc.close();
        }
        replicator = await spawnReplicator();
      },
      spawnReplicator,
      killReplicator,
      async restartReplicator() {
        await killReplicator();
        replicator = await spawnReplicator();
        return replicator;
      },
      natsOptionsA,
      waitForSequence,
      waitForLagZero,
      digests,
      settledDigests,
      waitForQuietPrimary,
      replicatorLogs: () => [...replicatorLogs, replicator?.process.logs() ?? ''].join('\n'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
