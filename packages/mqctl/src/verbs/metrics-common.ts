import { parseStructure } from '../args/structure.js';
import { UsageError } from '../errors.js';
import type { VerbEndpoint } from '../verb.js';

/** The Region's metrics service (gRPC MetricsService), `metricsGrpc` in .stack/endpoints.json. */
export const metricsEndpoint: VerbEndpoint = { key: 'metricsGrpc', label: 'metrics service' };

/** The CloudWatch namespace of Amazon MQ's metrics, the only one this service keeps. */
export const namespace = 'AWS/AmazonMQ';

export const statistics = ['Average', 'Maximum', 'Minimum', 'Sum', 'SampleCount'] as const;

export const metricsDetails =
  'Metrics: ReplicationLag, TotalReplicationLag, PrimaryWaitTime, ReplicaWaitTime (ms), ' +
  'ReplicationQueueSize (the CRDR QueueSize), CurrentConnectionsCount, TotalMessageCount, ' +
  'TotalEnqueueCount, TotalDequeueCount, TotalConsumerCount, TotalProducerCount; per ' +
  'destination: QueueSize, EnqueueCount, DequeueCount, DispatchCount, ConsumerCount, ' +
  'ProducerCount, DestinationReplicationLag. Dimensions: Broker (the broker id), and Queue or ' +
  'Topic (the name, as Amazon MQ) or Destination (/queue/NAME, /topic/NAME).';

/**
 * A time as `aws cloudwatch` takes it: ISO 8601 (`2026-11-25T22:00:00Z`) or seconds since the
 * epoch. Errors name the flag.
 */
export function parseTime(value: string, flag: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${flag}: "${value}" is not a time (ISO 8601 such as 2026-11-25T22:00:00Z, or epoch seconds)`,
    );
  }
  return ms;
}

export interface Dimension {
  readonly name: string;
  readonly value: string;
}

/**
 * CloudWatch's dimensions as the service keeps them: Amazon MQ's `Queue`/`Topic` (a name) become
 * `Destination` (`/queue/NAME`, `/topic/NAME`); Broker and Destination pass as they are.
 */
export function toServiceDimension(name: string, value: string, where: string): Dimension {
  switch (name.toLowerCase()) {
    case 'broker':
      return { name: 'Broker', value };
    case 'destination':
      return { name: 'Destination', value };
    case 'queue':
      return { name: 'Destination', value: value.startsWith('/') ? value : `/queue/${value}` };
    case 'topic':
      return { name: 'Destination', value: value.startsWith('/') ? value : `/topic/${value}` };
    default:
      throw new UsageError(
        `${where}: unknown dimension "${name}"; allowed: Broker, Queue, Topic, Destination`,
      );
  }
}

/** The service's dimension as CloudWatch names it (a Destination stays a Destination). */
export function toAwsDimension(dimension: Dimension): { Name: string; Value: string } {
  return { Name: dimension.name, Value: dimension.value };
}

/** `--dimensions Name=Broker,Value=ID Name=Queue,Value=orders` (or a JSON list of them). */
export function parseDimensions(items: readonly string[], flag: string): Dimension[] {
  const dimensions: Dimension[] = [];
  for (const item of items) {
    const trimmed = item.trim();
    const entries: unknown[] = trimmed.startsWith('[')
      ? (() => {
          try {
            return JSON.parse(trimmed) as unknown[];
          } catch (error) {
            throw new UsageError(`--${flag} is not valid JSON: ${(error as Error).message}`);
          }
        })()
      : [parseStructure(flag, trimmed, ['Name', 'Value'])];
    for (const entry of entries) {
      const { Name, Value } = (entry ?? {}) as { Name?: unknown; Value?: unknown };
      if (typeof Name !== 'string' || typeof Value !== 'string' || Value.length === 0) {
        throw new UsageError(`--${flag}: each dimension needs Name=NAME,Value=VALUE`);
      }
      dimensions.push(toServiceDimension(Name, Value, `--${flag}`));
    }
  }
  return dimensions;
}

export function checkNamespace(value: string | undefined, where: string): void {
  if (value !== undefined && value !== namespace) {
    throw new UsageError(`${where}: unknown namespace "${value}"; this service keeps ${namespace}`);
  }
}
