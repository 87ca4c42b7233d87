import type { Logger } from '@crdr/telemetry';
import type { ReplicatorConfig } from './config.js';
import type { ReplicatorStatus } from './domain/replicator-state.js';
import { createGrpcListener, type GrpcListener } from './adapters/grpc/grpc-listener.js';
import { natsOptions } from './adapters/nats/nats-options.js';
import { createReplicationLoop, type ReplicationLoop } from './adapters/nats/replication-loop.js';
import { openReplicationSource } from './adapters/nats/replication-source.js';
import { createReplicaStore } from './adapters/pg/replica-store.js';

export interface ReplicatorEndpoints {
  readonly grpc: string;
}

export interface ReplicatorServerDeps {
  readonly config: Readonly<ReplicatorConfig>;
  readonly log: Logger;
}

export interface ReplicatorServer {
  /** Opens the gRPC endpoint and starts replicating (in the background: see `status`). */
  start(): Promise<ReplicatorEndpoints>;
  /** Finishes the batch in progress, closes NATS, Postgres and gRPC. */
  stop(): Promise<void>;
  status(): ReplicatorStatus;
  /** The replication loop, for in-process tests. */
  readonly loop: ReplicationLoop;
}

/** Builds a replicator process's parts; nothing runs until `start()` (docs/style.md §1). */
export function createServer(deps: ReplicatorServerDeps): ReplicatorServer {
  const { config, log } = deps;
  const store = createReplicaStore({
    url: config.REPLICATOR_DB_URL,
    poolSize: config.REPLICATOR_DB_POOL_SIZE,
  });
  const nats = natsOptions(config);
  const loop = createReplicationLoop({
    primaryBrokerId: config.REPLICATOR_PRIMARY_BROKER_ID,
    replicaBrokerId: config.REPLICATOR_REPLICA_BROKER_ID,
    openSource: (onConnectionChange) =>
      openReplicationSource({
        nats,
        primaryBrokerId: config.REPLICATOR_PRIMARY_BROKER_ID,
        replicaBrokerId: config.REPLICATOR_REPLICA_BROKER_ID,
        apiTimeoutMs: config.REPLICATOR_NATS_TIMEOUT_MS,
        consumer: {
          ackWaitMs: config.REPLICATOR_CONSUMER_ACK_WAIT_MS,
          maxAckPending: config.REPLICATOR_CONSUMER_MAX_ACK_PENDING,
        },
        onConnectionChange,
      }),
    store,
    batchMaxEvents: config.REPLICATOR_BATCH_MAX_EVENTS,
    batchMaxWaitMs: config.REPLICATOR_BATCH_MAX_WAIT_MS,
    idleWaitMs: config.REPLICATOR_IDLE_WAIT_MS,
    backoff: { minMs: config.REPLICATOR_BACKOFF_MIN_MS, maxMs: config.REPLICATOR_BACKOFF_MAX_MS },
    log,
  });
  const abort = new AbortController();
  let grpc: GrpcListener | undefined;
  let running: Promise<void> | undefined;

  return {
    loop,
    status: () => loop.status(),
    async start() {
      grpc = await createGrpcListener(loop, {
        host: config.REPLICATOR_GRPC_HOST,
        port: config.REPLICATOR_GRPC_PORT,
        primaryBrokerId: config.REPLICATOR_PRIMARY_BROKER_ID,
        replicaBrokerId: config.REPLICATOR_REPLICA_BROKER_ID,
        log,
      });
      running = loop.run(abort.signal);
      log.info(
        {
          primaryBrokerId: config.REPLICATOR_PRIMARY_BROKER_ID,
          replicaBrokerId: config.REPLICATOR_REPLICA_BROKER_ID,
          grpcPort: grpc.port,
        },
        'replicator started',
      );
      return { grpc: `grpc://${config.REPLICATOR_GRPC_HOST}:${grpc.port}` };
    },
    async stop() {
      abort.abort();
      await running;
      await Promise.allSettled([grpc?.close(), store.close()]);
    },
  };
}
