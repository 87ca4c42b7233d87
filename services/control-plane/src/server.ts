import type * as grpc from '@grpc/grpc-js';
import {
  addStandardServices,
  bindGrpcServer,
  createGrpcServer,
  loadProto,
  shutdownGrpcServer,
  type controlPlaneV1,
  type HandlerOptions,
} from '@crdr/proto';
import { notFound } from '@crdr/errors';
import { createPool, ensureDatabase } from '@crdr/store';
import type { Logger } from '@crdr/telemetry';
import type pg from 'pg';
import { createBrokerRepository, type BrokerRepository } from './adapters/pg/broker.repository.js';
import { createEventStore } from './adapters/pg/event-store.js';
import { hashStoredPasswords } from './adapters/pg/password-upgrade.js';
import { createStaticRegistrationStore } from './adapters/pg/static-registrations.js';
import {
  createControlPlaneServiceHandlers,
  type PromotionRpc,
} from './adapters/grpc/control-plane.grpc.js';
import { createInternalServiceHandlers } from './adapters/grpc/internal.grpc.js';
import { createPeerServiceHandlers } from './adapters/grpc/peer.grpc.js';
import {
  createPromotionPeerHandlers,
  createPromotionServiceHandlers,
} from './adapters/grpc/promotion.grpc.js';
import type { ConsoleServer } from '@crdr/console';
import { createRegionConsole } from './adapters/http/region-console.js';
import { createReplicationLogAdmin } from './adapters/nats/replication-log.admin.js';
import { createLocalProvisioner } from './adapters/provisioning/local-provisioner.js';
import type { Provisioner } from './adapters/provisioning/provisioner.js';
import {
  createStaticProvisioner,
  type StaticProvisioner,
} from './adapters/provisioning/static-provisioner.js';
import type { ControlPlaneConfig } from './config.js';
import { asBrokerId, type BrokerAggregate, type BrokerEvent } from './domain/broker.types.js';
import type { PromotionEvent } from './domain/promotion.saga.js';
import {
  createPeerClients,
  hashUserPassword,
  type OperationsContext,
} from './operations/context.js';
import { createLifecycleOperations } from './operations/lifecycle.js';
import { createPeerOperations } from './operations/pairing.js';
import {
  counterpartPairHealth,
  localPairView,
  replicatorSupervision,
  shownPairHealth,
  toPairHealth,
} from './operations/pair-health.js';
import { createPromotionOperations } from './operations/promotion.js';
import type { TailEvent } from './operations/promotion-tail.js';
import { createUserOperations } from './operations/users.js';

export interface ControlPlaneEndpoints {
  /** host:port of ControlPlaneService, ControlPlaneInternalService and ControlPlanePeerService. */
  readonly grpc: string;
  /** The web console's base URL, when CONTROL_PLANE_CONSOLE_PORT is set. */
  readonly console?: string;
}

export interface ControlPlaneDeps {
  readonly config: Readonly<ControlPlaneConfig>;
  readonly log: Logger;
  /** Replaces the provisioner CONTROL_PLANE_PROVISIONER names. */
  readonly provisioner?: Provisioner;
  /** Replaces the promotion sagas' Promote, ListDivergentEvents and ResolveDivergentTail. */
  readonly promotionHandlers?: Pick<controlPlaneV1.ControlPlaneServiceHandlers, PromotionRpc>;
}

export interface ControlPlaneServer {
  start(): Promise<ControlPlaneEndpoints>;
  stop(): Promise<void>;
  /** After start(): the registry and the operations' context, for the promotion sagas. */
  readonly repository: BrokerRepository;
  readonly context: OperationsContext;
}

const serviceNames = [
  'crdr.controlplane.v1.ControlPlaneService',
  'crdr.controlplane.v1.ControlPlaneInternalService',
  'crdr.controlplane.v1.ControlPlanePeerService',
];

/**
 * One Region's control plane: the broker registry (an event store in its own database), the
 * Amazon-MQ-shaped API, the internal and peer APIs on one gRPC port, and the provisioner.
 * Nothing runs until start(); it resumes creations, reboots and deletions left in progress.
 */
export function createServer(deps: ControlPlaneDeps): ControlPlaneServer {
  const { config, log } = deps;
  let pool: pg.Pool | undefined;
  let grpcServer: grpc.Server | undefined;
  let repository: BrokerRepository | undefined;
  let context: OperationsContext | undefined;
  let provisioner: Provisioner | undefined;
  const peers = createPeerClients(config.CONTROL_PLANE_PEERS);
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let consoleServer: ConsoleServer | undefined;
  let consoleUrl: string | undefined;
  const handlerOptions: HandlerOptions = {
    onUnexpectedError: (error, method) => log.error({ err: error, method }, 'gRPC call failed'),
  };

  /** Set once the promotion operations exist (a paired primary restarted held is released). */
  let afterRestart: (brokerId: string) => Promise<void> = () => Promise.resolve();

  function createProvisioner(): { provisioner: Provisioner; staticOne?: StaticProvisioner } {
    if (deps.provisioner !== undefined) return { provisioner: deps.provisioner };
    if (config.CONTROL_PLANE_PROVISIONER === 'static') {
      const staticOne = createStaticProvisioner({
        registerTimeoutMs: config.CONTROL_PLANE_STATIC_REGISTER_TIMEOUT_MS,
        replicators: config.CONTROL_PLANE_STATIC_REPLICATORS,
        ...(pool === undefined ? {} : { store: createStaticRegistrationStore(pool) }),
      });
      return { provisioner: staticOne, staticOne };
    }
    return {
      provisioner: createLocalProvisioner({
        stateDir: config.CONTROL_PLANE_STATE_DIR,
        readyTimeoutMs: config.CONTROL_PLANE_BROKER_READY_TIMEOUT_MS,
        // What dies is started again while this control plane runs; at its start,
        // lifecycle.resume() starts again what died while it was away.
        supervise: {
          backoffMaxMs: config.CONTROL_PLANE_RESTART_BACKOFF_MAX_MS,
          onEvent: (event) => {
            if (event.type === 'restarted') {
              log.info({ process: event.key }, 'process restarted');
              const brokerId = /^broker:(.+)$/.exec(event.key)?.[1];
              if (brokerId !== undefined)
                context?.background(`check restarted ${brokerId}`, () => afterRestart(brokerId));
            } else if (event.type === 'died')
              log.warn({ process: event.key, restartInMs: event.restartInMs }, 'process died');
            else if (event.type === 'crash-loop')
              log.error(
                { process: event.key, crashes: event.crashes },
                'process keeps dying soon after its start (crash loop)',
              );
            else
              log.warn(
                { process: event.key, err: event.error, retryInMs: event.retryInMs },
                'process restart failed',
              );
          },
        },
      }),
    };
  }

  return {
    get repository() {
      if (repository === undefined) throw new Error('the control plane is not started');
      return repository;
    },
    get context() {
      if (context === undefined) throw new Error('the control plane is not started');
      return context;
    },
    async start() {
      await ensureDatabase(config.CONTROL_PLANE_DB_URL);
      pool = createPool(config.CONTROL_PLANE_DB_URL, { applicationName: 'crdr-control-plane' });
      const store = createEventStore<BrokerEvent>(pool);
      await store.migrate();
      // Events recorded before passwords were hashed hold them in plain text: hashed in place.
      const upgraded = await hashStoredPasswords(pool, (password) =>
        hashUserPassword(config, password),
      );
      if (upgraded > 0) log.info({ events: upgraded }, 'plain-text user passwords hashed in place');
      repository = createBrokerRepository(store);
      const provisioners = createProvisioner();
      provisioner = provisioners.provisioner;
      await provisioners.staticOne?.restore();
      const natsUrl = config.CONTROL_PLANE_NATS_URL;
      const registry = repository;
      const operations: OperationsContext = {
        config,
        log,
        repository,
        provisioner,
        replicationLog:
          natsUrl === undefined
            ? undefined
            : createReplicationLogAdmin({
                url: natsUrl,
                user: config.CONTROL_PLANE_NATS_USER,
                password: config.CONTROL_PLANE_NATS_PASSWORD,
                caFile: config.CONTROL_PLANE_NATS_TLS_CA,
                certFile: config.CONTROL_PLANE_NATS_TLS_CERT,
                keyFile: config.CONTROL_PLANE_NATS_TLS_KEY,
              }),
        peer: (region, field) => peers.get(region, field),
        now: () => new Date().toISOString(),
        background(name, work) {
          const running: Promise<void> = work()
            .catch((error: unknown) =>
              log.error({ err: error, step: name }, 'background step failed'),
            )
            .finally(() => inFlight.delete(running));
          inFlight.add(running);
        },
        async drain() {
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        },
        stopping: () => stopping,
      };
      context = operations;
      const existingBroker = async (brokerId: string): Promise<BrokerAggregate> => {
        const broker = await registry.load(asBrokerId(brokerId));
        if (!broker.exists || broker.state === 'DELETED') {
          throw notFound(`broker ${brokerId} does not exist`, { details: { field: 'broker_id' } });
        }
        return broker;
      };
      const lifecycle = createLifecycleOperations(context);
      const promotionStore = createEventStore<PromotionEvent>(pool, 'promotion_events');
      await promotionStore.migrate();
      const promotion = createPromotionOperations(context, {
        sagas: promotionStore,
        tails: createEventStore<TailEvent>(pool, 'promotion_events'),
      });
      afterRestart = (brokerId) => promotion.afterRestart(brokerId);
      const proto = loadProto().crdr.controlplane.v1;
      grpcServer = createGrpcServer();
      grpcServer.addService(proto.ControlPlaneService.service, {
        ...createControlPlaneServiceHandlers({
          repository,
          lifecycle,
          users: createUserOperations(context),
          handlerOptions,
          consoleUrl: () => consoleUrl,
          supervision: (brokerId) => provisioner?.supervision('broker', brokerId),
          pairHealth: (broker) => shownPairHealth(operations, broker),
        }),
        ...createPromotionServiceHandlers(promotion, handlerOptions),
        ...deps.promotionHandlers,
      });
      grpcServer.addService(
        proto.ControlPlaneInternalService.service,
        createInternalServiceHandlers({
          repository,
          region: config.CONTROL_PLANE_REGION,
          config,
          staticProvisioner: provisioners.staticOne,
          counterpartHealth: async (brokerId) =>
            (await counterpartPairHealth(operations, await existingBroker(brokerId))) ?? {
              status: '',
              reason: '',
            },
          handlerOptions,
        }),
      );
      grpcServer.addService(proto.ControlPlanePeerService.service, {
        ...createPeerServiceHandlers(
          createPeerOperations(context),
          async (brokerId) =>
            toPairHealth(
              await localPairView(
                await existingBroker(brokerId),
                replicatorSupervision(operations),
              ),
            ),
          handlerOptions,
        ),
        ...createPromotionPeerHandlers(promotion, handlerOptions),
      });
      addStandardServices(grpcServer, serviceNames);
      const port = await bindGrpcServer(
        grpcServer,
        `${config.CONTROL_PLANE_HOST}:${config.CONTROL_PLANE_GRPC_PORT}`,
      );
      await lifecycle.resume();
      await promotion.resume();
      const grpc = `${config.CONTROL_PLANE_HOST}:${port}`;
      consoleServer = createRegionConsole(config, grpc, log);
      consoleUrl = (await consoleServer?.start())?.url;
      log.info(
        { region: config.CONTROL_PLANE_REGION, port, provisioner: provisioner.kind, consoleUrl },
        'control plane serving',
      );
      return { grpc, ...(consoleUrl === undefined ? {} : { console: consoleUrl }) };
    },
    async stop() {
      stopping = true;
      await consoleServer?.stop();
      if (grpcServer !== undefined) await shutdownGrpcServer(grpcServer);
      // Steps still running give up (the provisioner closes) and resume at the next start.
      await provisioner?.close();
      await context?.drain();
      peers.close();
      await pool?.end();
    },
  };
}
