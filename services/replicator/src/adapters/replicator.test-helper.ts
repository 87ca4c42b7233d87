import { createDb, createPool, sql, type Database, type Kysely } from '@crdr/store';
import { createLogger } from '@crdr/telemetry';
import { waitFor } from '@crdr/testing';
import { loadConfig } from '../config.js';
import type { ReplicatorStatus } from '../domain/replicator-state.js';
import { createServer, type ReplicatorServer } from '../server.js';
import { localNatsUrl } from './replication-log.test-helper.js';

export interface InProcessReplicator {
  readonly server: ReplicatorServer;
  readonly grpc: string;
  stop(): Promise<void>;
}

/** A replicator in this process, configured as `pnpm replicator` would be from its environment. */
export async function startReplicator(
  ids: { primary: string; replica: string },
  dbUrl: string,
  env: Record<string, string> = {},
): Promise<InProcessReplicator> {
  const config = loadConfig({
    REPLICATOR_PRIMARY_BROKER_ID: ids.primary,
    REPLICATOR_REPLICA_BROKER_ID: ids.replica,
    REPLICATOR_DB_URL: dbUrl,
    REPLICATOR_NATS_URL: localNatsUrl,
    REPLICATOR_IDLE_WAIT_MS: '1000',
    REPLICATOR_BACKOFF_MIN_MS: '50',
    REPLICATOR_BACKOFF_MAX_MS: '500',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...env,
  });
  const log = createLogger({
    service: 'replicator',
    level: config.LOG_LEVEL,
    destination: process.stderr,
  });
  const server = createServer({ config, log });
  const { grpc } = await server.start();
  let stopped = false;
  return {
    server,
    grpc,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

export async function waitForApplied(
  replicator: { server: ReplicatorServer },
  sequence: bigint,
  timeoutMs = 30_000,
): Promise<ReplicatorStatus> {
  await waitFor(
    () => {
      const status = replicator.server.status();
      if (status.state === 'FAILED') throw new Error(`replicator failed: ${status.error}`);
      return status.appliedSequence >= sequence;
    },
    `sequence ${sequence} applied`,
    timeoutMs,
  );
  return replicator.server.status();
}

export async function waitForState(
  replicator: { server: ReplicatorServer },
  state: ReplicatorStatus['state'],
  timeoutMs = 30_000,
): Promise<ReplicatorStatus> {
  await waitFor(() => replicator.server.status().state === state, `state ${state}`, timeoutMs);
  return replicator.server.status();
}

/** A read-only view of the replica's store for assertions. */
export function openReplicaDb(url: string): Kysely<Database> {
  return createDb(createPool(url, { max: 2 }));
}

export async function messageCount(db: Kysely<Database>): Promise<number> {
  const row = await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages`.execute(db);
  return row.rows[0]!.n;
}
