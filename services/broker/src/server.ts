import { randomUUID } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { createDb, createPool, ensureDatabase, migrateToLatest } from '@crdr/store';
import type { Logger } from '@crdr/telemetry';
import type { BrokerConfig } from './config.js';
import { createLease } from './adapters/pg/lease.js';
import { createUserRepository } from './adapters/pg/user.repository.js';
import {
  listenStomp,
  listenStompWebSocket,
  type StompListener,
} from './adapters/stomp/stomp-server.js';
import { defaultStompLimits, type StompLimits } from './adapters/stomp/stomp-transport.js';
import { createGrpcListener, type GrpcListener } from './adapters/grpc/grpc-listener.js';
import {
  controlPlaneUser,
  registerWithControlPlane,
  type ControlPlaneRegistration,
} from './adapters/grpc/control-plane-registration.js';
import { createLoginThrottle, createPasswordHasher } from '@crdr/service';
import { createAuthenticator } from './engine/authenticator.js';
import {
  createReplicationRelay,
  type ReplicationRelay,
} from './adapters/nats/replication-relay.js';
import { natsOptions } from './adapters/nats/nats-options.js';
import { createStreamLogReader } from './adapters/nats/log-reader.js';
import { createBrokerEngine, type BrokerRuntime } from './engine/broker-engine.js';
import { createUserDirectory } from './engine/user-directory.js';
import { createAuthorizer } from './domain/authorization.js';

export interface BrokerEndpoints {
  readonly stomp: string;
  readonly ws: string;
  readonly grpc: string;
  /** BrokerAdminService, always open, when BROKER_ADMIN_PORT is set. */
  readonly admin?: string;
}

export interface BrokerServer {
  /** Migrates the store, opens the listeners and starts competing for the lease. */
  start(): Promise<BrokerEndpoints>;
  stop(): Promise<void>;
  readonly runtime: BrokerRuntime;
}

export interface BrokerServerDeps {
  readonly config: Readonly<BrokerConfig>;
  readonly log: Logger;
}

/** Builds a broker process's parts; nothing runs until `start()` (docs/style.md §1). */
export function createServer({ config, log }: BrokerServerDeps): BrokerServer {
  const instanceId = config.BROKER_INSTANCE_ID ?? `${config.BROKER_ID}-${randomUUID().slice(0, 8)}`;
  const pool = createPool(config.BROKER_DB_URL, {
    max: config.BROKER_DB_POOL_SIZE,
    applicationName: `broker-${config.BROKER_ID}`,
  });
  const db = createDb(pool);
  // Renewals must not queue behind the broker's writes for a connection.
  const leasePool = createPool(config.BROKER_DB_URL, {
    max: 2,
    applicationName: `broker-${config.BROKER_ID}-lease`,
  });
  const leaseDb = createDb(leasePool);
  const hasher = createPasswordHasher({ scrypt: { cost: config.BROKER_SCRYPT_COST } });
  const users = createUserRepository(db);
  // The users this process is started with (BROKER_USERS, the control plane's) always log in,
  // even when a resync from another broker's snapshot replaced the store's users: the replica
  // Region's control plane must keep its admin access to a broker whatever it replicates.
  const bootstrapHashes = new Map<string, Promise<string>>();
  const bootstrapUser = async (username: string) => {
    const user = [...config.BROKER_USERS, ...controlPlaneUser(config)].find(
      (u) => u.username === username,
    );
    if (user === undefined) return undefined;
    let hash = bootstrapHashes.get(username);
    if (hash === undefined) {
      hash = hasher.hash(user.password);
      bootstrapHashes.set(username, hash);
    }
    return {
      username,
      passwordHash: await hash,
      groups: ['admins'],
      consoleAccess: true,
      replicationUser: false,
    };
  };
  const authenticator = createAuthenticator({
    users: {
      get: async (username) => (await users.get(username)) ?? bootstrapUser(username),
    },
    hasher,
    throttle: createLoginThrottle({
      freeFailures: config.BROKER_LOGIN_FREE_FAILURES,
      lockoutFailures: config.BROKER_LOGIN_LOCKOUT_FAILURES,
      windowMs: config.BROKER_LOGIN_WINDOW_MS,
      nowMs: () => performance.now(),
    }),
  });
  /** STOMP and WebSocket: open only while this instance holds the lease (see clientListeners). */
  let listeners: StompListener[] = [];
  let clientPorts: { stomp: number; ws: number } | undefined;
  let listenersWanted = false;
  let listenerChange: Promise<void> = Promise.resolve();
  /** BrokerService (and BrokerAdminService): always open, or with the client listeners when
   * BROKER_ADMIN_PORT gives the admin service a port of its own. */
  let grpc: GrpcListener | undefined;
  let adminGrpc: GrpcListener | undefined;
  let clientGrpcPort: number | undefined;
  let serving = false;
  let relay: ReplicationRelay | undefined;
  let activation: Promise<void> = Promise.resolve();
  let registration: ControlPlaneRegistration | undefined;

  const leaseName = `broker:${config.BROKER_ID}`;
  const lease = createLease({
    db: leaseDb,
    name: leaseName,
    holderId: instanceId,
    ttlMs: config.BROKER_LEASE_TTL_MS,
    renewEveryMs: config.BROKER_LEASE_RENEW_MS,
    onAcquired: (token) => {
      log.info({ instanceId, token: String(token) }, 'lease acquired: this instance is active');
      authenticator.invalidateAll();
      activation = runtime
        .activate()
        .catch((error: unknown) => log.error({ err: error }, 'activation failed'))
        .then(() => clientListeners(true));
    },
    onLost: (error) => {
      log.warn({ instanceId, reason: error.message }, 'lease lost: this instance stops serving');
      for (const l of listeners) l.dropAll();
      void clientListeners(false);
      runtime
        .deactivate('lease lost')
        .catch((e: unknown) => log.error({ err: e }, 'deactivation failed'));
    },
  });

  const runtime = createBrokerEngine({
    db,
    brokerId: config.BROKER_ID,
    initialRole: config.BROKER_INITIAL_ROLE,
    users: createUserDirectory({
      users,
      repositoryFor: createUserRepository,
      write: (work) => runtime.runWrite(work),
      hasher,
      authenticator,
    }),
    log,
    memoryWindow: config.BROKER_MEMORY_WINDOW,
    maxRedeliveries: config.BROKER_MAX_REDELIVERIES,
    limits: {
      maxSessions: config.BROKER_MAX_CONNECTIONS,
      maxSessionsPerUser: config.BROKER_MAX_CONNECTIONS_PER_USER,
      maxTransactionBytes: config.BROKER_MAX_TRANSACTION_BYTES,
    },
    maxMessageBytes: config.BROKER_MAX_MESSAGE_BYTES,
    authorizer: createAuthorizer(config.BROKER_AUTHORIZATION),
    onServingChange: (isServing) => {
      serving = isServing;
      grpc?.setServing(isServing);
      relay?.kick();
    },
    onEventsCommitted: (_seq, events) => relay?.offer(events),
    relay: () =>
      relay === undefined
        ? undefined
        : {
            publishedSeq: relay.status.publishedSeq,
            connected: relay.status.connected,
            replicas: relay.replicas,
          },
    startHeld: config.BROKER_START_HELD,
    ...(config.BROKER_NATS_URL === undefined
      ? {}
      : {
          logReader: createStreamLogReader({
            brokerId: config.BROKER_ID,
            nats: natsOptions(config),
          }),
        }),
    guard: (trx) => lease.assertHeld(trx),
    fence: () =>
      lease.token === undefined
        ? undefined
        : { name: leaseName, holder: instanceId, token: lease.token },
  });

  const limits: StompLimits = {
    ...defaultStompLimits,
    maxFrameBytes: config.BROKER_MAX_FRAME_BYTES ?? config.BROKER_MAX_MESSAGE_BYTES + 64 * 1024,
    maxHeaders: config.BROKER_MAX_HEADERS,
    maxHeaderBytes: config.BROKER_MAX_HEADER_BYTES,
    maxPendingFrames: config.BROKER_MAX_PENDING_FRAMES,
    heartBeatSendMs: config.BROKER_HEARTBEAT_MS,
    heartBeatReceiveMs: config.BROKER_HEARTBEAT_MS,
  };

  const connectionLog = log.child({ component: 'stomp' });

  /**
   * Opens the client listeners (STOMP, WebSocket) when this instance becomes the active one and
   * closes them when it stops being active, as an ActiveMQ standby does not listen until it holds
   * the lock: a client with a failover host list moves on to the next host at once instead of
   * being refused. The ports stay the same. A replica's active instance listens too (it refuses
   * clients and tells them where the primary is); the admin gRPC endpoint is always open.
   */
  function clientListeners(open: boolean): Promise<void> {
    listenersWanted = open;
    listenerChange = listenerChange
      .then(async () => {
        if (listenersWanted && listeners.length === 0 && clientPorts !== undefined) {
          const opened: { close(): Promise<void> }[] = [];
          const stompListeners: StompListener[] = [];
          try {
            if (clientGrpcPort !== undefined) {
              const clientGrpc = await createGrpcListener(runtime.engine, {
                host: config.BROKER_HOST,
                port: clientGrpcPort,
                log,
                maxMessageBytes: config.BROKER_MAX_MESSAGE_BYTES,
              });
              clientGrpc.setServing(serving);
              opened.push(clientGrpc);
              grpc = clientGrpc;
            }
            stompListeners.push(
              await listenStomp(runtime.engine, {
                host: config.BROKER_HOST,
                port: clientPorts.stomp,
                limits,
                log: connectionLog,
              }),
            );
            opened.push(stompListeners[0]!);
            stompListeners.push(
              await listenStompWebSocket(runtime.engine, {
                host: config.BROKER_HOST,
                port: clientPorts.ws,
                limits,
                log: connectionLog,
              }),
            );
            opened.push(stompListeners[1]!);
          } catch (error) {
            if (clientGrpcPort !== undefined) grpc = undefined;
            await Promise.allSettled(opened.map((l) => l.close()));
            throw error;
          }
          listeners = stompListeners;
          log.info({ stomp: clientPorts.stomp, ws: clientPorts.ws }, 'client listeners open');
        } else if (!listenersWanted && listeners.length > 0) {
          const closing: { close(): Promise<void> }[] = [...listeners];
          listeners = [];
          if (clientGrpcPort !== undefined && grpc !== undefined) {
            closing.push(grpc);
            grpc = undefined;
          }
          await Promise.allSettled(closing.map((l) => l.close()));
          log.info('client listeners closed: this instance is not active');
        }
      })
      .catch((error: unknown) => {
        // A port taken by another process meanwhile: tried again until it is free.
        log.error({ err: error }, 'the client listeners could not be opened; retrying in 1 s');
        setTimeout(() => {
          if (listenersWanted && listeners.length === 0) void clientListeners(true);
        }, 1000).unref();
      });
    return listenerChange;
  }

  return {
    runtime,
    async start() {
      await ensureDatabase(config.BROKER_DB_URL);
      await migrateToLatest(db);
      await runtime.init();
      // Only the operator's BROKER_USERS are stored, and only while this store is not a
      // replica's (whose users are the primary's, replicated). The control plane's own user is
      // never stored: it logs in through `bootstrapUser`, so what each Region's control plane
      // keeps on a broker for itself is no part of the replicated state nor of the digest, and a
      // reboot of either broker of a pair leaves the two stores identical (issue 11, item 5).
      const stored = runtime.role.role === 'REPLICA' ? [] : config.BROKER_USERS;
      for (const user of stored) {
        await users.ensureUser({
          username: user.username,
          passwordHash: await hasher.hash(user.password),
          groups: ['admins'],
          consoleAccess: true,
          replicationUser: false,
        });
      }
      const host = config.BROKER_HOST;
      const shown = config.BROKER_ADVERTISED_HOST ?? host;
      // The client ports are checked (or, when 0, chosen) now; they open once this instance
      // is active.
      clientPorts = {
        stomp: await reservePort(host, config.BROKER_STOMP_PORT),
        ws: await reservePort(host, config.BROKER_WS_PORT),
      };
      if (config.BROKER_ADMIN_PORT === undefined) {
        grpc = await createGrpcListener(runtime.engine, {
          host,
          port: config.BROKER_GRPC_PORT,
          log,
          maxMessageBytes: config.BROKER_MAX_MESSAGE_BYTES,
        });
      } else {
        // Clients' gRPC opens with STOMP; the admin service is always there on its own port.
        clientGrpcPort = await reservePort(host, config.BROKER_GRPC_PORT);
        adminGrpc = await createGrpcListener(runtime.engine, {
          host,
          port: config.BROKER_ADMIN_PORT,
          log,
          maxMessageBytes: config.BROKER_MAX_MESSAGE_BYTES,
          adminOnly: true,
        });
      }
      if (config.BROKER_NATS_URL !== undefined) {
        relay = createReplicationRelay({
          db,
          brokerId: config.BROKER_ID,
          nats: natsOptions(config),
          log: log.child({ component: 'relay' }),
          // Also while held or being demoted: the outbox (a switchover marker) still goes out.
          active: () => runtime.publishing,
        });
        relay.start();
      }
      await lease.start();
      await activation;
      await listenerChange;
      const endpoints = {
        stomp: `stomp://${shown}:${clientPorts.stomp}`,
        ws: `ws://${shown}:${clientPorts.ws}`,
        grpc: `grpc://${shown}:${clientGrpcPort ?? grpc?.port ?? 0}`,
        ...(adminGrpc === undefined ? {} : { admin: `grpc://${shown}:${adminGrpc.port}` }),
      };
      registration = registerWithControlPlane(config, instanceId, endpoints, log);
      return endpoints;
    },
    async stop() {
      registration?.stop();
      for (const l of listeners) l.dropAll();
      const closing = clientListeners(false);
      await runtime.deactivate('shutting down');
      await relay?.stop();
      await lease.stop();
      await closing;
      await Promise.allSettled([grpc?.close(), adminGrpc?.close()]);
      await db.destroy();
      await leaseDb.destroy();
    },
  };
}

/**
 * Checks that `port` can be listened on (and picks one when it is 0), without accepting
 * anything: the listener itself opens when the instance becomes active.
 */
function reservePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}
