/**
 * Every metric the service keeps: its Amazon MQ name (what GetMetricData and ListMetrics take),
 * unit, level and the Prometheus name it is exported under. Prometheus names follow the
 * conventions (snake_case, base units: durations in seconds, `_total` on counters); the stored
 * and queried values keep Amazon MQ's units (milliseconds, counts).
 *
 * Amazon MQ has two metrics named QueueSize: a destination's messages, and (for CRDR) the events
 * of the replication log not yet acknowledged. Here the first keeps the name `QueueSize`
 * (dimensions Broker + Destination, as in Amazon MQ) and the CRDR one is
 * `ReplicationQueueSize` (dimension Broker only), so that a query never mixes the two.
 */
export type MetricUnit = 'Milliseconds' | 'Count';
export type MetricLevel = 'broker' | 'destination';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly level: MetricLevel;
  readonly prometheusName: string;
  readonly prometheusType: 'gauge' | 'counter';
  readonly help: string;
}

const define = (
  name: string,
  unit: MetricUnit,
  level: MetricLevel,
  prometheusName: string,
  prometheusType: 'gauge' | 'counter',
  help: string,
): MetricDefinition => ({ name, unit, level, prometheusName, prometheusType, help });

export const metricCatalog: readonly MetricDefinition[] = [
  // CRDR (docs/architecture.md, "Metrics").
  define(
    'ReplicationLag',
    'Milliseconds',
    'broker',
    'crdr_replication_lag_seconds',
    'gauge',
    'Replica: how far behind: now - TC of the oldest event committed on the primary and not yet applied, 0 when none waits.',
  ),
  define(
    'TotalReplicationLag',
    'Milliseconds',
    'broker',
    'crdr_total_replication_lag_seconds',
    'gauge',
    'Primary: how far behind: now - TC of the oldest event committed and not yet acknowledged by the replica, 0 when none waits (worst replica).',
  ),
  define(
    'PrimaryWaitTime',
    'Milliseconds',
    'broker',
    'crdr_primary_wait_time_seconds',
    'gauge',
    'Primary: now - TC of the last event written to the replication log.',
  ),
  define(
    'ReplicaWaitTime',
    'Milliseconds',
    'broker',
    'crdr_replica_wait_time_seconds',
    'gauge',
    'Replica: now - TP of the last event applied.',
  ),
  define(
    'ReplicationQueueSize',
    'Count',
    'broker',
    'crdr_replication_queue_size_events',
    'gauge',
    "Events in the replication log not yet acknowledged by the replica (Amazon MQ's CRDR QueueSize).",
  ),
  define(
    'DestinationReplicationLag',
    'Milliseconds',
    'destination',
    'crdr_destination_replication_lag_seconds',
    'gauge',
    'Replica, per destination: TP - TC of the last applied event that changed the destination while events are pending, 0 when none is.',
  ),
  define(
    'DivergentTailPendingEvents',
    'Count',
    'broker',
    'crdr_divergent_tail_pending_events',
    'gauge',
    'Events of a divergent tail left by a failover that await resolve-divergent-tail (0 when none).',
  ),
  // The broker's instances (an ACTIVE_STANDBY_MULTI_AZ broker has two).
  define(
    'BrokerInstanceCount',
    'Count',
    'broker',
    'crdr_broker_instances',
    'gauge',
    'Instances the broker has (2 for ACTIVE_STANDBY_MULTI_AZ).',
  ),
  define(
    'AvailableBrokerInstanceCount',
    'Count',
    'broker',
    'crdr_broker_instances_available',
    'gauge',
    'Instances of the broker that answered the last scrape (the active one and its standby).',
  ),
  // The broker's own figures (Amazon MQ for ActiveMQ names).
  define(
    'CurrentConnectionsCount',
    'Count',
    'broker',
    'crdr_broker_connections',
    'gauge',
    'Client connections open on the broker.',
  ),
  define(
    'TotalMessageCount',
    'Count',
    'broker',
    'crdr_broker_messages',
    'gauge',
    'Messages stored on the broker.',
  ),
  define(
    'TotalEnqueueCount',
    'Count',
    'broker',
    'crdr_broker_enqueued_messages_total',
    'counter',
    'Messages sent to the broker.',
  ),
  define(
    'TotalDequeueCount',
    'Count',
    'broker',
    'crdr_broker_dequeued_messages_total',
    'counter',
    'Messages acknowledged by consumers of the broker.',
  ),
  define(
    'TotalConsumerCount',
    'Count',
    'broker',
    'crdr_broker_consumers',
    'gauge',
    'Consumers subscribed on the broker.',
  ),
  define(
    'TotalProducerCount',
    'Count',
    'broker',
    'crdr_broker_producers',
    'gauge',
    'Producers sending to the broker.',
  ),
  define(
    'QueueSize',
    'Count',
    'destination',
    'crdr_destination_messages',
    'gauge',
    'Messages stored for the destination.',
  ),
  define(
    'EnqueueCount',
    'Count',
    'destination',
    'crdr_destination_enqueued_messages_total',
    'counter',
    'Messages sent to the destination.',
  ),
  define(
    'DequeueCount',
    'Count',
    'destination',
    'crdr_destination_dequeued_messages_total',
    'counter',
    'Messages acknowledged from the destination.',
  ),
  define(
    'DispatchCount',
    'Count',
    'destination',
    'crdr_destination_dispatched_messages_total',
    'counter',
    'Messages dispatched to consumers of the destination.',
  ),
  define(
    'ConsumerCount',
    'Count',
    'destination',
    'crdr_destination_consumers',
    'gauge',
    'Consumers of the destination.',
  ),
  define(
    'ProducerCount',
    'Count',
    'destination',
    'crdr_destination_producers',
    'gauge',
    'Producers sending to the destination.',
  ),
];

const byName = new Map(metricCatalog.map((m) => [m.name, m]));

export function findMetric(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** One value of one series at one time. `destination` is '' for a broker-level series. */
export interface Sample {
  readonly metric: string;
  readonly region: string;
  readonly broker: string;
  readonly destination: string;
  readonly timestampMs: number;
  readonly value: number;
}

/**
 * `crdr_replication_status{status="REPLICATING"|"PAUSED"|"STALLED"}`: 1 for a pair's current
 * status, 0 for the others, per broker of a pair; for alerts. Exported on /metrics only (it is no
 * Amazon MQ metric, and a status is no value to average).
 */
export interface StatusSample {
  readonly region: string;
  readonly broker: string;
  readonly status: string;
  readonly timestampMs: number;
  readonly value: number;
}

export const replicationStatusFamily = {
  name: 'crdr_replication_status',
  help: 'Per broker of a pair: 1 for the replication status it is in (REPLICATING, PAUSED or STALLED), 0 for the others.',
} as const;
