import { failedPrecondition, forbidden, hasErrorCode, toCrdrError } from '@crdr/errors';
import type { BasicCredentials, controlPlaneV1 } from '@crdr/proto';
import {
  ClientPool,
  createControlPlaneClients,
  createMetricsClient,
  type BrokerAdminClient,
  type BrokerClient,
  type ControlPlaneClient,
  type ControlPlaneInternalClient,
  type MetricsClient,
} from './adapters/clients.js';
import { describeError } from './http-util.js';
import { LagSeries, primaryLagMs, replicaLagMs } from './lag.js';
import type { BrokerDescription, BrokerRow, BrokerSummary, LagView } from './model.js';
import { PromotionTracker } from './promotion-tracker.js';
import type { Session } from './session.store.js';

type Target = controlPlaneV1.Target__Output;

export interface ConsoleBackendOptions {
  readonly controlPlaneAddress: string;
  readonly controlPlaneCredentials?: BasicCredentials;
  readonly metricsAddress?: string;
  readonly deadlineMs: number;
  /** The shortest time between two lag samples of one broker. */
  readonly lagSampleIntervalMs: number;
}

interface LagState {
  readonly series: LagSeries;
  lastSampleMs: number;
  view?: LagView;
}

/** The `host:port` of a `grpc://host:port` endpoint, or undefined for any other endpoint. */
export function grpcAddressOf(endpoint: string): string | undefined {
  const match = /^grpc:\/\/(.+)$/.exec(endpoint.trim());
  return match?.[1];
}

/** The broker's gRPC addresses, the instance that serves (ACTIVE) first. */
export function brokerGrpcAddresses(broker: BrokerDescription): string[] {
  const instances = [...broker.brokerInstances].sort(
    (a, b) => Number(b.instanceState === 'ACTIVE') - Number(a.instanceState === 'ACTIVE'),
  );
  const addresses: string[] = [];
  for (const instance of instances) {
    for (const endpoint of instance.endpoints) {
      const address = grpcAddressOf(endpoint);
      if (address !== undefined && !addresses.includes(address)) addresses.push(address);
    }
  }
  return addresses;
}

/**
 * Everything the console asks of the Region: the control plane's public API, the brokers'
 * admin and client gRPC (as the signed-in user), and the lag figures (from the metrics service
 * when there is one, else from the replicators and brokers themselves).
 */
export class ConsoleBackend {
  readonly controlPlane: ControlPlaneClient;
  readonly promotions = new PromotionTracker();
  readonly #internal: ControlPlaneInternalClient;
  readonly #metrics: MetricsClient | undefined;
  readonly #pool: ClientPool;
  readonly #options: ConsoleBackendOptions;
  readonly #lag = new Map<string, LagState>();
  #targets: { readonly atMs: number; readonly targets: readonly Target[] } | undefined;

  constructor(options: ConsoleBackendOptions) {
    this.#options = options;
    const clients = createControlPlaneClients(
      options.controlPlaneAddress,
      options.controlPlaneCredentials,
      options.deadlineMs,
    );
    this.controlPlane = clients.api;
    this.#internal = clients.internal;
    this.#metrics =
      options.metricsAddress === undefined
        ? undefined
        : createMetricsClient(options.metricsAddress, options.deadlineMs);
    this.#pool = new ClientPool(options.deadlineMs, 5 * 60_000);
  }

  async describe(brokerId: string): Promise<BrokerDescription> {
    const broker = await this.controlPlane.describeBroker({ brokerId });
    this.promotions.observe(broker, new Date());
    return broker;
  }

  async listBrokers(): Promise<BrokerSummary[]> {
    const summaries: BrokerSummary[] = [];
    let nextToken = '';
    do {
      const page = await this.controlPlane.listBrokers({ maxResults: 100, nextToken });
      summaries.push(...page.brokerSummaries);
      nextToken = page.nextToken;
    } while (nextToken !== '');
    return summaries;
  }

  /** Every broker with its description (when it could be read) and its lag. */
  async brokerRows(): Promise<BrokerRow[]> {
    const summaries = await this.listBrokers();
    const descriptions = await Promise.all(
      summaries.map((summary) => this.describe(summary.brokerId).catch(() => undefined)),
    );
    await this.sampleLag(descriptions.filter((d): d is BrokerDescription => d !== undefined));
    return summaries.map((summary, index) => {
      const description = descriptions[index];
      const lag = this.lagOf(summary.brokerId);
      return { summary, ...(description ? { description } : {}), ...(lag ? { lag } : {}) };
    });
  }

  lagOf(brokerId: string): LagView | undefined {
    return this.#lag.get(brokerId)?.view;
  }

  /** Takes one lag sample of each paired broker not sampled within the interval. */
  async sampleLag(brokers: readonly BrokerDescription[]): Promise<void> {
    const nowMs = Date.now();
    const due = brokers.filter((broker) => {
      const role = broker.dataReplicationMetadata?.dataReplicationRole ?? '';
      if (role !== 'PRIMARY' && role !== 'REPLICA') return false;
      const state = this.#lag.get(broker.brokerId);
      return !state || nowMs - state.lastSampleMs >= this.#options.lagSampleIntervalMs;
    });
    if (due.length === 0) return;
    for (const broker of due) {
      const state = this.#lag.get(broker.brokerId) ?? { series: new LagSeries(), lastSampleMs: 0 };
      state.lastSampleMs = nowMs;
      this.#lag.set(broker.brokerId, state);
    }
    await Promise.all(due.map((broker) => this.#sampleOne(broker)));
  }

  async #sampleOne(broker: BrokerDescription): Promise<void> {
    const state = this.#lag.get(broker.brokerId);
    if (!state) return;
    const isReplica = broker.dataReplicationMetadata?.dataReplicationRole === 'REPLICA';
    const metric = isReplica ? 'ReplicationLag' : 'TotalReplicationLag';
    let metricsError: string | undefined;
    if (this.#metrics) {
      try {
        const data = await this.#metrics.getMetricData({
          metricName: metric,
          dimensions: [{ name: 'Broker', value: broker.brokerId }],
          startTimeMs: Date.now() - 120_000,
          endTimeMs: 0,
          periodSeconds: 2,
          statistic: 'Maximum',
        });
        const points = data.datapoints.map((point) => point.value);
        if (points.length > 0) {
          const last = points[points.length - 1];
          state.view = {
            metric,
            points,
            source: 'metrics',
            ...(last === undefined ? {} : { lastLagMs: last }),
          };
          return;
        }
      } catch (error) {
        metricsError = `metrics: ${describeError(error)}`;
      }
    }
    try {
      const target = (await this.targets()).find((t) => t.brokerId === broker.brokerId);
      if (!target) throw failedPrecondition(`no scrape target for broker ${broker.brokerId} yet`);
      let lagMs: number;
      let pendingEvents: number;
      let source: string;
      if (isReplica) {
        if (target.replicatorGrpcEndpoint === '')
          throw failedPrecondition('the replica has no running replicator');
        const status = await this.#pool.replicator(target.replicatorGrpcEndpoint).getStatus({});
        lagMs = replicaLagMs(status);
        pendingEvents = Number(status.pendingCount);
        source = 'replicator';
      } else {
        const address = target.brokerGrpcEndpoints[0];
        if (address === undefined) throw failedPrecondition('the broker has no gRPC endpoint');
        const status = await this.#pool
          .brokerAdmin(address, { username: target.adminUsername, password: target.adminPassword })
          .getReplicationStatus({});
        ({ lagMs, pendingEvents } = primaryLagMs(status));
        source = 'broker';
      }
      state.series.push(lagMs);
      state.view = { metric, points: state.series.points, lastLagMs: lagMs, pendingEvents, source };
    } catch (error) {
      const message = [metricsError, describeError(error)].filter(Boolean).join('; ');
      state.view = {
        metric,
        points: state.series.points,
        source: 'none',
        error: `lag unavailable (${message})`,
      };
    }
  }

  /** The control plane's scrape targets, cached briefly (they carry the admin credentials). */
  async targets(): Promise<readonly Target[]> {
    const nowMs = Date.now();
    if (this.#targets && nowMs - this.#targets.atMs < 2000) return this.#targets.targets;
    const response = await this.#internal.listTargets({});
    this.#targets = { atMs: nowMs, targets: response.targets };
    return response.targets;
  }

  /**
   * The credentials of the session's broker calls: a broker user's own; for the bootstrap
   * administrator, the console-access user the control plane keeps on each broker.
   */
  async credentialsFor(session: Session, brokerId: string): Promise<BasicCredentials> {
    if (session.kind === 'broker')
      return { username: session.username, password: session.password };
    const target = (await this.targets().catch(() => [])).find((t) => t.brokerId === brokerId);
    if (!target || target.adminUsername === '')
      throw forbidden(
        `the bootstrap administrator cannot reach broker ${brokerId}'s queues yet: sign in as one of its console users`,
      );
    return { username: target.adminUsername, password: target.adminPassword };
  }

  /**
   * Refuses (Forbidden) a control-plane action on `brokerId` by a broker's console user who is
   * not a console user of that broker: the broker's admin API, which answers only its own
   * console users, is asked with the session's credentials. The bootstrap administrator manages
   * every broker of the Region.
   */
  async assertMayManage(session: Session, brokerId: string): Promise<void> {
    if (session.kind === 'bootstrap') return;
    const broker = await this.describe(brokerId);
    const refused = forbidden(
      `user ${session.username} has no console access to broker ${brokerId}: sign in as one of its console users`,
    );
    if (!broker.users.some((user) => user.username === session.username)) throw refused;
    try {
      const { users } = await this.withBrokerAdmin(session, broker, (admin) => admin.listUsers({}));
      if (!users.some((user) => user.username === session.username && user.consoleAccess)) {
        throw refused;
      }
    } catch (error) {
      if (hasErrorCode(error, 'Unauthenticated') || hasErrorCode(error, 'Forbidden')) throw refused;
      throw error;
    }
  }

  /** Runs `call` against the broker's admin gRPC, trying the next instance while one is down. */
  async withBrokerAdmin<T>(
    session: Session,
    broker: BrokerDescription,
    call: (client: BrokerAdminClient) => Promise<T>,
  ): Promise<T> {
    const credentials = await this.credentialsFor(session, broker.brokerId);
    return this.#onInstances(broker, (address) =>
      call(this.#pool.brokerAdmin(address, credentials)),
    );
  }

  async withBroker<T>(
    session: Session,
    broker: BrokerDescription,
    call: (client: BrokerClient) => Promise<T>,
  ): Promise<T> {
    const credentials = await this.credentialsFor(session, broker.brokerId);
    return this.#onInstances(broker, (address) => call(this.#pool.broker(address, credentials)));
  }

  async #onInstances<T>(
    broker: BrokerDescription,
    call: (address: string) => Promise<T>,
  ): Promise<T> {
    const addresses = brokerGrpcAddresses(broker);
    if (addresses.length === 0)
      throw failedPrecondition(
        `broker ${broker.brokerId} has no running instance with a gRPC endpoint (state ${broker.brokerState})`,
      );
    let lastError: unknown;
    for (const address of addresses) {
      try {
        return await call(address);
      } catch (error) {
        // Only a down instance is worth another try; any other answer is the broker's word.
        if (!hasErrorCode(error, 'Unavailable')) throw error;
        lastError = error;
      }
    }
    throw toCrdrError(lastError);
  }

  /**
   * Whether `username`/`password` is a console user of some broker of the Region: the broker's
   * admin API (which only answers console users) is asked with these credentials.
   */
  async verifyConsoleUser(username: string, password: string): Promise<boolean> {
    const summaries = await this.listBrokers();
    const descriptions = await Promise.all(
      summaries.map((summary) => this.describe(summary.brokerId).catch(() => undefined)),
    );
    const candidates = descriptions.filter(
      (d): d is BrokerDescription =>
        d !== undefined && d.users.some((user) => user.username === username),
    );
    for (const broker of candidates) {
      for (const address of brokerGrpcAddresses(broker)) {
        try {
          const { users } = await this.#pool
            .brokerAdmin(address, { username, password })
            .listUsers({});
          if (users.some((user) => user.username === username && user.consoleAccess)) return true;
          break;
        } catch (error) {
          if (hasErrorCode(error, 'Unavailable')) continue;
          break;
        }
      }
    }
    return false;
  }

  sweep(nowMs: number): void {
    this.#pool.sweep(nowMs);
  }

  close(): void {
    this.#pool.closeAll();
    this.controlPlane.close();
    this.#internal.close();
    this.#metrics?.close();
  }
}
