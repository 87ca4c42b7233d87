import { badRequest } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import type { ReplicationHealth } from '@crdr/replication';
import type { BrokerAggregate } from '../../domain/broker.types.js';

/** Registry state → the AWS-shaped messages of control_plane.proto. */

const hostOf = (hostPort: string): string => hostPort.replace(/:\d+$/, '');

export function toBrokerInstances(b: BrokerAggregate): controlPlaneV1.BrokerInstance[] {
  return b.instances.map((i) => ({
    endpoints: [`stomp://${i.stomp}`, `ws://${i.ws}`, `grpc://${i.grpc}`],
    consoleUrl: '',
    ipAddress: hostOf(i.stomp),
    instanceState: '',
  }));
}

/**
 * The pair's metadata; `health`, when given, is the live PAUSED or STALLED that replaces the
 * registry's status (with its reason) while it lasts.
 */
export function toReplicationMetadata(
  b: BrokerAggregate,
  health?: ReplicationHealth,
): controlPlaneV1.DataReplicationMetadata | undefined {
  if (b.role === undefined) return undefined;
  const live = health !== undefined && health.status !== 'REPLICATING' ? health : undefined;
  return {
    dataReplicationRole: b.role,
    ...(b.counterpart === undefined ? {} : { dataReplicationCounterpart: b.counterpart }),
    replicationStatus: live?.status ?? b.replicationStatus ?? '',
    replicationStatusReason: live?.reason ?? '',
    ...(b.promotion === undefined ? {} : { promotion: { ...b.promotion } }),
    ...(b.divergentTail === undefined
      ? {}
      : {
          divergentTail: {
            eventCount: b.divergentTail.eventCount,
            firstSequence: b.divergentTail.firstSequence.toString(),
            lastSequence: b.divergentTail.lastSequence.toString(),
            destinations: [...b.divergentTail.destinations],
            state: b.divergentTail.state,
            failoverSequence: b.divergentTail.failoverSequence.toString(),
          },
        }),
  };
}

/** What the pairing becomes once the pending mode is applied by a reboot. */
export function toPendingReplicationMetadata(
  b: BrokerAggregate,
): controlPlaneV1.DataReplicationMetadata | undefined {
  if (b.pendingDataReplicationMode !== 'CRDR' || b.role === undefined) return undefined;
  return {
    dataReplicationRole: b.role,
    ...(b.counterpart === undefined ? {} : { dataReplicationCounterpart: b.counterpart }),
    replicationStatus: 'REPLICATING',
  };
}

/**
 * The BrokerState shown to users: a running replica of a CRDR pair is `REPLICA`, as in Amazon MQ
 * (it serves no client until it is promoted); every other state is the aggregate's own.
 */
export function shownBrokerState(b: BrokerAggregate): string {
  return b.state === 'RUNNING' && b.role === 'REPLICA' && b.dataReplicationMode === 'CRDR'
    ? 'REPLICA'
    : b.state;
}

export function toDescribeBroker(
  b: BrokerAggregate,
  health?: ReplicationHealth,
): controlPlaneV1.DescribeBrokerResponse {
  const metadata = toReplicationMetadata(b, health);
  const pending = toPendingReplicationMetadata(b);
  return {
    brokerId: b.brokerId,
    brokerArn: b.brokerArn,
    brokerName: b.spec.brokerName,
    brokerState: shownBrokerState(b),
    deploymentMode: b.spec.deploymentMode,
    engineType: b.spec.engineType,
    engineVersion: b.spec.engineVersion,
    hostInstanceType: b.spec.hostInstanceType,
    created: b.createdAt,
    users: b.users.map((u) => ({ username: u.username, pendingChange: '' })),
    brokerInstances: toBrokerInstances(b),
    dataReplicationMode: b.dataReplicationMode,
    pendingDataReplicationMode: b.pendingDataReplicationMode ?? '',
    ...(metadata === undefined ? {} : { dataReplicationMetadata: metadata }),
    ...(pending === undefined ? {} : { pendingDataReplicationMetadata: pending }),
    brokerStateReason: b.stateReason ?? '',
    region: b.region,
  };
}

export function toBrokerSummary(b: BrokerAggregate): controlPlaneV1.BrokerSummary {
  return {
    brokerId: b.brokerId,
    brokerArn: b.brokerArn,
    brokerName: b.spec.brokerName,
    brokerState: shownBrokerState(b),
    deploymentMode: b.spec.deploymentMode,
    hostInstanceType: b.spec.hostInstanceType,
    created: b.createdAt,
    engineType: b.spec.engineType,
  };
}

/** AWS paging: `next_token` is the offset of the next page; max_results 1-100 (default 100). */
export function page<T>(
  items: readonly T[],
  maxResults: number,
  nextToken: string,
): { items: T[]; nextToken: string } {
  const size = maxResults === 0 ? 100 : maxResults;
  if (size > 100) {
    throw badRequest(`invalid max_results: ${maxResults} must be 1-100`, {
      details: { field: 'max_results' },
    });
  }
  const start = nextToken === '' ? 0 : Number(nextToken);
  if (!Number.isInteger(start) || start < 0) {
    throw badRequest(`invalid next_token: "${nextToken}" was not returned by this API`, {
      details: { field: 'next_token' },
    });
  }
  const slice = items.slice(start, start + size);
  return {
    items: slice,
    nextToken: start + size < items.length ? String(start + size) : '',
  };
}
