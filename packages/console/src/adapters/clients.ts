import {
  createClient,
  loadProto,
  type BasicCredentials,
  type ClientOf,
  type ProtoGrpcType,
} from '@crdr/proto';

type Services = ProtoGrpcType['crdr'];
export type ControlPlaneClient = ClientOf<Services['controlplane']['v1']['ControlPlaneService']>;
export type ControlPlaneInternalClient = ClientOf<
  Services['controlplane']['v1']['ControlPlaneInternalService']
>;
export type BrokerAdminClient = ClientOf<Services['broker']['v1']['BrokerAdminService']>;
export type BrokerClient = ClientOf<Services['broker']['v1']['BrokerService']>;
export type ReplicatorClient = ClientOf<Services['replicator']['v1']['ReplicatorService']>;
export type MetricsClient = ClientOf<Services['metrics']['v1']['MetricsService']>;

export function createControlPlaneClients(
  address: string,
  credentials: BasicCredentials | undefined,
  deadlineMs: number,
): { readonly api: ControlPlaneClient; readonly internal: ControlPlaneInternalClient } {
  const services = loadProto().crdr.controlplane.v1;
  const options = { deadlineMs, ...(credentials ? { credentials } : {}) };
  return {
    api: createClient(services.ControlPlaneService, address, options),
    internal: createClient(services.ControlPlaneInternalService, address, options),
  };
}

export function createMetricsClient(address: string, deadlineMs: number): MetricsClient {
  return createClient(loadProto().crdr.metrics.v1.MetricsService, address, { deadlineMs });
}

interface CachedClient<C> {
  readonly client: C;
  lastUsedMs: number;
}

/**
 * gRPC clients of brokers and replicators, one channel per (address, user), kept while used and
 * closed after `idleMs` without a call. Passwords only live in the clients' Basic credentials.
 */
export class ClientPool {
  readonly #deadlineMs: number;
  readonly #idleMs: number;
  readonly #admins = new Map<string, CachedClient<BrokerAdminClient>>();
  readonly #brokers = new Map<string, CachedClient<BrokerClient>>();
  readonly #replicators = new Map<string, CachedClient<ReplicatorClient>>();

  constructor(deadlineMs: number, idleMs: number) {
    this.#deadlineMs = deadlineMs;
    this.#idleMs = idleMs;
  }

  brokerAdmin(address: string, credentials: BasicCredentials): BrokerAdminClient {
    return this.#get(this.#admins, address, credentials, (options) =>
      createClient(loadProto().crdr.broker.v1.BrokerAdminService, address, options),
    );
  }

  broker(address: string, credentials: BasicCredentials): BrokerClient {
    return this.#get(this.#brokers, address, credentials, (options) =>
      createClient(loadProto().crdr.broker.v1.BrokerService, address, options),
    );
  }

  replicator(address: string): ReplicatorClient {
    return this.#get(this.#replicators, address, undefined, (options) =>
      createClient(loadProto().crdr.replicator.v1.ReplicatorService, address, options),
    );
  }

  /** Closes the channels unused for `idleMs`. */
  sweep(nowMs: number): void {
    for (const map of [this.#admins, this.#brokers, this.#replicators] as Map<
      string,
      CachedClient<{ close(): void }>
    >[]) {
      for (const [key, cached] of map) {
        if (nowMs - cached.lastUsedMs > this.#idleMs) {
          cached.client.close();
          map.delete(key);
        }
      }
    }
  }

  closeAll(): void {
    for (const map of [this.#admins, this.#brokers, this.#replicators] as Map<
      string,
      CachedClient<{ close(): void }>
    >[]) {
      for (const cached of map.values()) cached.client.close();
      map.clear();
    }
  }

  #get<C>(
    map: Map<string, CachedClient<C>>,
    address: string,
    credentials: BasicCredentials | undefined,
    create: (options: { deadlineMs: number; credentials?: BasicCredentials }) => C,
  ): C {
    // The key holds the password so that a changed password gets a new channel; it never leaves
    // this map.
    const key = credentials
      ? `${address}\u0000${credentials.username}\u0000${credentials.password}`
      : address;
    let cached = map.get(key);
    if (!cached) {
      cached = {
        client: create({ deadlineMs: this.#deadlineMs, ...(credentials ? { credentials } : {}) }),
        lastUsedMs: Date.now(),
      };
      map.set(key, cached);
    }
    cached.lastUsedMs = Date.now();
    return cached.client;
  }
}
