import { toCrdrError } from '@crdr/errors';
import { replicationConsumerName, type PairProgress } from '@crdr/replication';
import type { Logger } from '@crdr/telemetry';
import type { Sample, StatusSample } from '../../domain/metric-catalog.js';
import {
  primarySideProgress,
  replicatorProgress,
  type ReplicatorFigures,
} from '../../domain/replication-metrics.js';
import {
  samplesOf,
  statusSamplesOf,
  type BrokerFigures,
  type TargetFigures,
} from '../../domain/target-samples.js';
import type { BrokerInfo } from '../../domain/prometheus-text.js';
import type { MetricsRepository } from '../pg/metrics.repository.js';
import type { BrokerAdminClient, ScrapeClients } from './scrape-clients.js';
import type { ScrapeTarget, TargetSource } from './targets.js';

export interface CollectorOptions {
  readonly region: string;
  readonly targets: TargetSource;
  readonly clients: ScrapeClients;
  readonly repository: MetricsRepository;
  readonly retentionMs: number;
  readonly log: Logger;
  readonly now: () => number;
}

export interface CollectionRound {
  readonly samples: readonly Sample[];
  /** Targets that could not be read at all, by broker id, with why. */
  readonly failures: ReadonlyMap<string, string>;
}

export interface Collector {
  /** One round: asks every target, stores the samples, applies the retention. */
  collectOnce(): Promise<CollectionRound>;
  /** The samples of the last round (what /metrics shows). */
  readonly latest: readonly Sample[];
  /** The pairs' statuses of the last round (`crdr_replication_status` on /metrics). */
  readonly latestStatuses: readonly StatusSample[];
  /** When the last round ended (epoch ms), 0 before the first. */
  readonly lastRoundAtMs: number;
  /** The brokers of the last round: name, role and replication status (crdr_broker_info). */
  readonly brokers: readonly BrokerInfo[];
}

/** What crdr_broker_info says of a target. */
export function brokerInfoOf(target: ScrapeTarget, region: string): BrokerInfo {
  return {
    region: target.region || region,
    brokerId: target.brokerId,
    name: target.brokerName,
    role: target.dataReplicationRole || 'NONE',
    replicationStatus:
      target.replicationStatus === undefined || target.replicationStatus === ''
        ? target.dataReplicationRole
          ? 'UNKNOWN'
          : 'NONE'
        : target.replicationStatus,
  };
}

const address = (endpoint: string): string => endpoint.replace(/^[a-z]+:\/\//, '');

const destinationName = (type: string, name: string): string =>
  `/${type === 'TOPIC' ? 'topic' : 'queue'}/${name}`;

/**
 * The figures of the instance that serves (the lease holder of an active/standby pair), else of
 * a standby, and how many instances answered: every instance is asked, so that a broker without
 * its standby shows.
 */
async function brokerFigures(
  target: ScrapeTarget,
  clients: ScrapeClients,
): Promise<{ admin: BrokerAdminClient; figures: BrokerFigures; answering: number } | undefined> {
  let firstError: unknown;
  let serving: { admin: BrokerAdminClient; figures: BrokerFigures } | undefined;
  let standby: { admin: BrokerAdminClient; figures: BrokerFigures } | undefined;
  let answering = 0;
  for (const endpoint of target.brokerGrpcEndpoints) {
    const admin = clients.admin(address(endpoint), target.adminUsername, target.adminPassword);
    try {
      const stats = await admin.getStats({});
      answering++;
      if (serving !== undefined) continue;
      const figures: BrokerFigures = {
        currentConnectionsCount: stats.currentConnectionsCount,
        totalMessageCount: Number(stats.totalMessageCount),
        totalEnqueueCount: Number(stats.totalEnqueueCount),
        totalDequeueCount: Number(stats.totalDequeueCount),
        totalConsumerCount: stats.totalConsumerCount,
        totalProducerCount: stats.totalProducerCount,
        destinations: stats.destinations.map((d) => ({
          destination: destinationName(d.type, d.name),
          queueSize: Number(d.queueSize),
          enqueueCount: Number(d.enqueueCount),
          dequeueCount: Number(d.dequeueCount),
          dispatchCount: Number(d.dispatchCount),
          consumerCount: d.consumerCount,
          producerCount: d.producerCount,
        })),
      };
      if (stats.serving) serving = { admin, figures };
      else standby ??= { admin, figures };
    } catch (error) {
      firstError ??= error;
    }
  }
  const chosen = serving ?? standby;
  if (chosen !== undefined) return { ...chosen, answering };
  if (firstError !== undefined) throw toCrdrError(firstError);
  return undefined;
}

async function replicatorFigures(
  target: ScrapeTarget,
  clients: ScrapeClients,
): Promise<ReplicatorFigures> {
  const status = await clients.replicator(address(target.replicatorGrpcEndpoint)).getStatus({});
  return {
    appliedSequence: BigInt(status.appliedSequence),
    lastCreatedAtMs: Number(status.lastCreatedAtMs),
    lastAppliedAtMs: Number(status.lastAppliedAtMs),
    pendingCount: BigInt(status.pendingCount),
    lastKnownSequence: BigInt(status.lastKnownSequence),
    oldestPendingCreatedAtMs: Number(status.oldestPendingCreatedAtMs),
    state: status.state,
    error: status.error,
    destinations: status.destinations.map((d) => ({
      destination: d.destination,
      lastCreatedAtMs: Number(d.lastCreatedAtMs),
      lastAppliedAtMs: Number(d.lastAppliedAtMs),
    })),
  };
}

/** Everything one target reports; each part fails alone. */
async function scrape(
  target: ScrapeTarget,
  region: string,
  clients: ScrapeClients,
): Promise<{ figures: TargetFigures; errors: string[] }> {
  const errors: string[] = [];
  let figures: TargetFigures = {
    region: target.region || region,
    brokerId: target.brokerId,
    instances: { configured: target.brokerGrpcEndpoints.length, answering: 0 },
    ...(target.divergentTailPendingEvents === undefined
      ? {}
      : { divergentTailPendingEvents: target.divergentTailPendingEvents }),
  };
  const [broker, replicator] = await Promise.allSettled([
    brokerFigures(target, clients),
    target.replicatorGrpcEndpoint === '' ? undefined : replicatorFigures(target, clients),
  ]);
  if (broker.status === 'rejected') {
    errors.push(`broker: ${toCrdrError(broker.reason).message}`);
  } else if (broker.value !== undefined) {
    figures = {
      ...figures,
      broker: broker.value.figures,
      instances: {
        configured: target.brokerGrpcEndpoints.length,
        answering: broker.value.answering,
      },
    };
    try {
      const status = await broker.value.admin.getReplicationStatus({});
      if (status.role === 'PRIMARY' && status.dataReplicationMode === 'CRDR') {
        figures = {
          ...figures,
          primaryLog: {
            lastSequence: BigInt(status.lastSequence),
            lastCreatedAtMs: Number(status.lastCreatedAtMs),
            replicas: status.replicas.map((r) => ({
              consumer: r.consumer,
              acknowledgedSequence: BigInt(r.acknowledgedSequence),
              acknowledgedCreatedAtMs: Number(r.acknowledgedCreatedAtMs),
              acknowledgedAtMs: Number(r.acknowledgedAtMs),
              pendingCount: BigInt(r.pendingCount),
              oldestUnacknowledgedCreatedAtMs: Number(r.oldestUnacknowledgedCreatedAtMs),
            })),
          },
        };
      }
    } catch (error) {
      errors.push(`replication status: ${toCrdrError(error).message}`);
    }
  }
  if (replicator.status === 'rejected') {
    const why = toCrdrError(replicator.reason).message;
    errors.push(`replicator: ${why}`);
    if (expectsReplicator(target)) figures = { ...figures, replicatorUnreachable: why };
  } else if (replicator.value !== undefined) {
    figures = { ...figures, replicator: replicator.value };
  } else if (expectsReplicator(target)) {
    figures = { ...figures, replicatorUnreachable: 'no replicator runs for this replica' };
  }
  return { figures, errors };
}

/** A replica whose pair replicates now: a replicator must be applying its primary's log. */
function expectsReplicator(target: ScrapeTarget): boolean {
  return (
    target.dataReplicationRole === 'REPLICA' &&
    ['REPLICATING', 'PROMOTED', 'DEMOTED'].includes(target.replicationStatus)
  );
}

/** The replica's progress from a primary measured in the same round, when this Region has it. */
function colocatedPrimaryProgress(
  brokerId: string,
  results: ReadonlyArray<{ readonly figures: TargetFigures }>,
): PairProgress | undefined {
  const consumer = replicationConsumerName(brokerId);
  for (const { figures } of results) {
    const log = figures.primaryLog;
    const replica = log?.replicas.find((r) => r.consumer === consumer);
    if (log !== undefined && replica !== undefined) return primarySideProgress(log, replica);
  }
  return undefined;
}

export function createCollector(options: CollectorOptions): Collector {
  const { log, repository, clients } = options;
  let latest: readonly Sample[] = [];
  let latestStatuses: readonly StatusSample[] = [];
  /** Each replica's progress as its replicator last told it: the fallback while it is down. */
  const lastReplicatorProgress = new Map<string, PairProgress>();

  /** A replica's progress while its replicator cannot answer (see TargetFigures). */
  const fallbackProgress = async (
    brokerId: string,
    results: ReadonlyArray<{ readonly figures: TargetFigures }>,
  ): Promise<PairProgress | undefined> => {
    const colocated = colocatedPrimaryProgress(brokerId, results);
    if (colocated !== undefined) return colocated;
    try {
      const remote = await options.targets.counterpartProgress(brokerId);
      if (remote !== undefined) return remote;
    } catch (error) {
      log.debug({ err: error, brokerId }, "metrics: the primary's side did not answer");
    }
    return lastReplicatorProgress.get(brokerId);
  };
  let brokers: readonly BrokerInfo[] = [];
  let lastRoundAtMs = 0;
  /** The last problem logged per target, so a lasting one is logged once, not every second. */
  const reported = new Map<string, string>();
  let targetsError = '';

  const report = (brokerId: string, problem: string): void => {
    const previous = reported.get(brokerId) ?? '';
    if (problem === previous) return;
    if (problem === '') {
      reported.delete(brokerId);
      log.info({ brokerId }, 'metrics: target readable again');
    } else {
      reported.set(brokerId, problem);
      log.warn({ brokerId, problem }, 'metrics: target not fully readable');
    }
  };

  return {
    async collectOnce() {
      let targets: readonly ScrapeTarget[];
      try {
        targets = await options.targets.list();
        if (targetsError !== '') log.info('metrics: targets listed again');
        targetsError = '';
      } catch (error) {
        const message = toCrdrError(error).message;
        if (message !== targetsError) log.warn({ err: error }, 'metrics: cannot list the targets');
        targetsError = message;
        return { samples: [], failures: new Map([['', message]]) };
      }
      const scraped = await Promise.all(targets.map((t) => scrape(t, options.region, clients)));
      clients.sweep();
      const results = await Promise.all(
        scraped.map(async (r) => {
          const { figures } = r;
          if (figures.replicator !== undefined) {
            lastReplicatorProgress.set(figures.brokerId, replicatorProgress(figures.replicator));
          }
          if (figures.replicatorUnreachable === undefined) return r;
          const progress = await fallbackProgress(figures.brokerId, scraped);
          return progress === undefined
            ? r
            : { ...r, figures: { ...figures, fallbackProgress: progress } };
        }),
      );
      for (const brokerId of [...lastReplicatorProgress.keys()]) {
        if (!targets.some((t) => t.brokerId === brokerId)) lastReplicatorProgress.delete(brokerId);
      }
      const nowMs = options.now();
      const samples = results.flatMap((r) => samplesOf(r.figures, nowMs));
      const statuses = results.flatMap((r) => statusSamplesOf(r.figures, nowMs));
      const failures = new Map<string, string>();
      for (const [i, result] of results.entries()) {
        const brokerId = targets[i]!.brokerId;
        const problem = result.errors.join('; ');
        report(brokerId, problem);
        if (problem !== '') failures.set(brokerId, problem);
      }
      for (const brokerId of [...reported.keys()]) {
        if (!targets.some((t) => t.brokerId === brokerId)) reported.delete(brokerId);
      }
      await repository.insert(samples);
      await repository.deleteBefore(nowMs - options.retentionMs);
      latest = samples;
      latestStatuses = statuses;
      brokers = targets.map((target) => brokerInfoOf(target, options.region));
      lastRoundAtMs = nowMs;
      return { samples, failures };
    },
    get latest() {
      return latest;
    },
    get latestStatuses() {
      return latestStatuses;
    },
    get lastRoundAtMs() {
      return lastRoundAtMs;
    },
    get brokers() {
      return brokers;
    },
  };
}
