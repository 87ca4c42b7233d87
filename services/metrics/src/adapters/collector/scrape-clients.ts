import { createClient, loadProto, type ClientOf, type ProtoGrpcType } from '@crdr/proto';

type Services = ProtoGrpcType['crdr'];
export type BrokerAdminClient = ClientOf<Services['broker']['v1']['BrokerAdminService']>;
export type ReplicatorClient = ClientOf<Services['replicator']['v1']['ReplicatorService']>;

/**
 * gRPC clients of the scraped processes, kept between rounds (one channel per endpoint and
 * user) and closed once their target is gone.
 */
export class ScrapeClients {
  readonly #deadlineMs: number;
  readonly #admins = new Map<string, BrokerAdminClient>();
  readonly #replicators = new Map<string, ReplicatorClient>();
  #used = new Set<string>();

  constructor(deadlineMs: number) {
    this.#deadlineMs = deadlineMs;
  }

  admin(endpoint: string, username: string, password: string): BrokerAdminClient {
    // The password is part of the key so that a changed one gets a new client; it never leaves
    // this map.
    const key = `${endpoint}\u0000${username}\u0000${password}`;
    this.#used.add(`a${key}`);
    let client = this.#admins.get(key);
    if (client === undefined) {
      client = createClient(loadProto().crdr.broker.v1.BrokerAdminService, endpoint, {
        deadlineMs: this.#deadlineMs,
        ...(username === '' ? {} : { credentials: { username, password } }),
      });
      this.#admins.set(key, client);
    }
    return client;
  }

  replicator(endpoint: string): ReplicatorClient {
    this.#used.add(`r${endpoint}`);
    let client = this.#replicators.get(endpoint);
    if (client === undefined) {
      client = createClient(loadProto().crdr.replicator.v1.ReplicatorService, endpoint, {
        deadlineMs: this.#deadlineMs,
      });
      this.#replicators.set(endpoint, client);
    }
    return client;
  }

  /** Closes the clients no call asked for since the previous sweep. */
  sweep(): void {
    for (const [key, client] of this.#admins) {
      if (!this.#used.has(`a${key}`)) {
        client.close();
        this.#admins.delete(key);
      }
    }
    for (const [key, client] of this.#replicators) {
      if (!this.#used.has(`r${key}`)) {
        client.close();
        this.#replicators.delete(key);
      }
    }
    this.#used = new Set();
  }

  close(): void {
    for (const client of [...this.#admins.values(), ...this.#replicators.values()]) client.close();
    this.#admins.clear();
    this.#replicators.clear();
  }
}
