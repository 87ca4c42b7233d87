import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'nats';
import type { ReplicatorConfig } from '../../config.js';

/**
 * Connection options for the primary Region's NATS: the replication user, mutual TLS from PEM
 * files, and reconnection forever (the replicator reports CONNECTING meanwhile).
 */
export function natsOptions(config: Readonly<ReplicatorConfig>): ConnectionOptions {
  const read = (path: string | undefined): string | undefined =>
    path === undefined ? undefined : readFileSync(path, 'utf8');
  const ca = read(config.REPLICATOR_NATS_TLS_CA);
  const cert = read(config.REPLICATOR_NATS_TLS_CERT);
  const key = read(config.REPLICATOR_NATS_TLS_KEY);
  const tls =
    ca === undefined && cert === undefined
      ? undefined
      : {
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
        };
  return {
    servers: config.REPLICATOR_NATS_URL.split(',').map((s) => s.trim()),
    name: `replicator-${config.REPLICATOR_REPLICA_BROKER_ID}`,
    timeout: config.REPLICATOR_NATS_TIMEOUT_MS,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A Region link that silently stops carrying bytes is noticed in about 30 s, not minutes.
    pingInterval: 10_000,
    maxPingOut: 3,
    ...(config.REPLICATOR_NATS_USER === undefined ? {} : { user: config.REPLICATOR_NATS_USER }),
    ...(config.REPLICATOR_NATS_PASSWORD === undefined
      ? {}
      : { pass: config.REPLICATOR_NATS_PASSWORD }),
    ...(config.REPLICATOR_NATS_INBOX_PREFIX === undefined
      ? {}
      : { inboxPrefix: config.REPLICATOR_NATS_INBOX_PREFIX }),
    ...(tls === undefined ? {} : { tls }),
  };
}
