import {
  replicationHealth,
  replicationHealthStatuses,
  replicationLagMs,
  worseHealth,
  type PairProgress,
  type ReplicationHealth,
} from '@crdr/replication';
import type { Sample, StatusSample } from './metric-catalog.js';
import {
  primaryReplicationMetrics,
  primarySideProgress,
  replicaReplicationMetrics,
  replicatorProgress,
  type PrimaryLogFigures,
  type ReplicatorFigures,
} from './replication-metrics.js';

/** One destination's figures (BrokerAdminService.GetStats). */
export interface DestinationFigures {
  /** `/queue/NAME` or `/topic/NAME`. */
  readonly destination: string;
  readonly queueSize: number;
  readonly enqueueCount: number;
  readonly dequeueCount: number;
  readonly dispatchCount: number;
  readonly consumerCount: number;
  readonly producerCount: number;
}

/** A broker's own figures (BrokerAdminService.GetStats). */
export interface BrokerFigures {
  readonly currentConnectionsCount: number;
  readonly totalMessageCount: number;
  readonly totalEnqueueCount: number;
  readonly totalDequeueCount: number;
  readonly totalConsumerCount: number;
  readonly totalProducerCount: number;
  readonly destinations: readonly DestinationFigures[];
}

/** What one round learnt about one broker; a part is absent when it could not be read. */
export interface TargetFigures {
  readonly region: string;
  readonly brokerId: string;
  readonly broker?: BrokerFigures;
  /** Set when the broker is a CRDR primary. */
  readonly primaryLog?: PrimaryLogFigures;
  /** Set when the broker is a replica with a replicator that answered. */
  readonly replicator?: ReplicatorFigures;
  /**
   * Set when the broker is a replica whose replicator could not be read (down, restarting, not
   * started): why. Its lag is then measured from `fallbackProgress`.
   */
  readonly replicatorUnreachable?: string;
  /**
   * A replica's progress when its replicator cannot answer: from the primary's side when it can
   * be read (its log head and the replica's acknowledged position), else the replicator's last
   * answer (nothing was applied since, so its oldest waiting event still waits).
   */
  readonly fallbackProgress?: PairProgress;
  /** Instances the broker has, and how many of them answered (an active/standby pair has 2). */
  readonly instances?: { readonly configured: number; readonly answering: number };
  /** Events of a divergent tail awaiting resolve-divergent-tail (0 when none), when known. */
  readonly divergentTailPendingEvents?: number;
}

/** The samples of one target at `nowMs`. */
export function samplesOf(figures: TargetFigures, nowMs: number): Sample[] {
  const samples: Sample[] = [];
  const add = (metric: string, value: number | undefined, destination = ''): void => {
    if (value === undefined || !Number.isFinite(value)) return;
    samples.push({
      metric,
      region: figures.region,
      broker: figures.brokerId,
      destination,
      timestampMs: nowMs,
      value,
    });
  };
  if (figures.instances !== undefined) {
    add('BrokerInstanceCount', figures.instances.configured);
    add('AvailableBrokerInstanceCount', figures.instances.answering);
  }
  add('DivergentTailPendingEvents', figures.divergentTailPendingEvents);
  const { broker } = figures;
  if (broker !== undefined) {
    add('CurrentConnectionsCount', broker.currentConnectionsCount);
    add('TotalMessageCount', broker.totalMessageCount);
    add('TotalEnqueueCount', broker.totalEnqueueCount);
    add('TotalDequeueCount', broker.totalDequeueCount);
    add('TotalConsumerCount', broker.totalConsumerCount);
    add('TotalProducerCount', broker.totalProducerCount);
    for (const d of broker.destinations) {
      add('QueueSize', d.queueSize, d.destination);
      add('EnqueueCount', d.enqueueCount, d.destination);
      add('DequeueCount', d.dequeueCount, d.destination);
      add('DispatchCount', d.dispatchCount, d.destination);
      add('ConsumerCount', d.consumerCount, d.destination);
      add('ProducerCount', d.producerCount, d.destination);
    }
  }
  if (figures.primaryLog !== undefined) {
    const m = primaryReplicationMetrics(figures.primaryLog, nowMs);
    add('TotalReplicationLag', m.totalReplicationLagMs);
    add('PrimaryWaitTime', m.primaryWaitTimeMs);
    add('ReplicationQueueSize', m.replicationQueueSize);
  }
  if (figures.replicator === undefined && figures.replicatorUnreachable !== undefined) {
    // The series stays while the replicator is down, and grows while events wait.
    const progress = figures.fallbackProgress;
    add('ReplicationLag', progress === undefined ? 0 : replicationLagMs(progress, nowMs));
    if (progress !== undefined) add('ReplicationQueueSize', Number(progress.waitingEvents));
  }
  if (figures.replicator !== undefined) {
    const m = replicaReplicationMetrics(figures.replicator, nowMs);
    add('ReplicationLag', m.replicationLagMs);
    add('ReplicaWaitTime', m.replicaWaitTimeMs);
    // The primary's figure is authoritative when this Region also measures the primary; the
    // replica's series (its own Broker dimension) is what its Region alone can see.
    add('ReplicationQueueSize', m.replicationQueueSize);
    for (const d of m.destinations) add('DestinationReplicationLag', d.lagMs, d.destination);
  }
  return samples;
}

/**
 * The pair's health as this target shows it: a replica's from its replicator (or from its
 * absence), a primary's from its log and the worst replica's acknowledgements. Undefined for a
 * broker that is not in a pair.
 */
export function healthOf(figures: TargetFigures, nowMs: number): ReplicationHealth | undefined {
  if (figures.replicator !== undefined) {
    const r = figures.replicator;
    return replicationHealth(
      {
        replicator: { reachable: true, state: r.state ?? 'RUNNING', error: r.error ?? '' },
        progress: replicatorProgress(r),
      },
      nowMs,
    );
  }
  if (figures.replicatorUnreachable !== undefined) {
    return replicationHealth(
      {
        replicator: { reachable: false, error: figures.replicatorUnreachable },
        ...(figures.fallbackProgress === undefined ? {} : { progress: figures.fallbackProgress }),
      },
      nowMs,
    );
  }
  const log = figures.primaryLog;
  if (log === undefined) return undefined;
  let health: ReplicationHealth = { status: 'REPLICATING', reason: '' };
  for (const replica of log.replicas) {
    health = worseHealth(
      health,
      replicationHealth({ progress: primarySideProgress(log, replica) }, nowMs),
    );
  }
  return health;
}

/** `crdr_replication_status{status=...}`: 1 for the pair's current status, 0 for the others. */
export function statusSamplesOf(figures: TargetFigures, nowMs: number): StatusSample[] {
  const health = healthOf(figures, nowMs);
  if (health === undefined) return [];
  return replicationHealthStatuses.map((status) => ({
    region: figures.region,
    broker: figures.brokerId,
    status,
    timestampMs: nowMs,
    value: status === health.status ? 1 : 0,
  }));
}
