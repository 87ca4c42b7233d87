import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { unavailable } from '@crdr/errors';
import { ensureReplicationConsumer, replicationStreamName } from '@crdr/replication';

export interface NatsAccess {
  readonly url: string;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/**
 * What the primary's Region does in its own NATS for a pair, as the relay user (an
 * administrator of the log): the replica's durable consumer is created before its replicator
 * starts (the replication user may not create it), and an unpaired primary's stream is removed.
 */
export interface ReplicationLogAdmin {
  /** Waits until the broker's relay created the stream, then ensures the replica's consumer. */
  ensureConsumer(
    primaryBrokerId: string,
    replicaBrokerId: string,
    timeoutMs: number,
  ): Promise<void>;
  /** Deletes the primary's replication stream (its consumers go with it); no-op when missing. */
  removeStream(primaryBrokerId: string): Promise<void>;
}

function connectionOptions(access: NatsAccess): ConnectionOptions {
  const tls =
    access.caFile === undefined && access.certFile === undefined
      ? undefined
      : {
          ...(access.caFile === undefined ? {} : { caFile: access.caFile }),
          ...(access.certFile === undefined ? {} : { certFile: access.certFile }),
          ...(access.keyFile === undefined ? {} : { keyFile: access.keyFile }),
        };
  return {
    servers: access.url.split(','),
    ...(access.user === undefined ? {} : { user: access.user }),
    ...(access.password === undefined ? {} : { pass: access.password }),
    ...(tls === undefined ? {} : { tls }),
    timeout: 5_000,
    name: 'crdr-control-plane',
  };
}

export function createReplicationLogAdmin(access: NatsAccess): ReplicationLogAdmin {
  const withConnection = async <T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions(access));
    } catch (error) {
      throw unavailable(`cannot reach this Region's NATS at ${access.url}`, { cause: error });
    }
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  };
  return {
    ensureConsumer: (primaryBrokerId, replicaBrokerId, timeoutMs) =>
      withConnection(async (nc) => {
        const jsm = await nc.jetstreamManager();
        const stream = replicationStreamName(primaryBrokerId);
        const deadline = Date.now() + timeoutMs;
        while ((await jsm.streams.info(stream).catch(() => undefined)) === undefined) {
          if (Date.now() > deadline) {
            throw unavailable(
              `the replication stream ${stream} did not appear within ${timeoutMs} ms ` +
                `(is broker ${primaryBrokerId}'s relay connected to NATS?)`,
            );
          }
          await sleep(100);
        }
        await ensureReplicationConsumer(jsm, primaryBrokerId, replicaBrokerId);
      }),
    removeStream: (primaryBrokerId) =>
      withConnection(async (nc) => {
        const jsm = await nc.jetstreamManager();
        await jsm.streams.delete(replicationStreamName(primaryBrokerId)).catch((error: unknown) => {
          if (!/not found/i.test((error as Error).message)) throw error;
        });
      }),
  };
}
