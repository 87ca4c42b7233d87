import type { controlPlaneV1 } from '@crdr/proto';

/*
 * The one mapping from the control plane's messages (camelCase, proto defaults for absent
 * fields) to what mqctl prints: the AWS API's PascalCase names, optional fields omitted when
 * empty as aws omits them (an absent string arrives as "", an absent message as null), lists
 * kept even when empty. uint64 fields (decimal strings on the wire) become bigint, printed as
 * JSON numbers.
 */

/** A printable document: what a verb returns and the renderers take. */
export type Document =
  | string
  | number
  | boolean
  | bigint
  | null
  | readonly Document[]
  | { readonly [key: string]: Document | undefined };

export type DocumentObject = { readonly [key: string]: Document | undefined };

/** "" (proto's absent string) → omitted. */
function optional(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value.length === 0 ? undefined : value;
}

/** uint64 as a decimal string → bigint (absent → 0). */
function uint64(value: string | number | null | undefined): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  return BigInt(value);
}

/** Drops undefined fields; an object left empty is itself omitted. */
function compact<T extends DocumentObject>(object: T): T | undefined {
  const entries = Object.entries(object).filter(([, value]) => value !== undefined);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

export function toCounterpart(
  counterpart: controlPlaneV1.DataReplicationCounterpart__Output | null | undefined,
): DocumentObject | undefined {
  if (!counterpart) return undefined;
  return compact({
    BrokerId: optional(counterpart.brokerId),
    Region: optional(counterpart.region),
  });
}

export function toPromotion(
  promotion: controlPlaneV1.Promotion__Output | null | undefined,
): DocumentObject | undefined {
  if (!promotion) return undefined;
  return compact({
    Mode: optional(promotion.mode),
    Step: optional(promotion.step),
    StartedAt: optional(promotion.startedAt),
  });
}

export function toDivergentTail(
  tail: controlPlaneV1.DivergentTailSummary__Output | null | undefined,
): DocumentObject | undefined {
  if (!tail) return undefined;
  return {
    EventCount: uint64(tail.eventCount),
    FirstSequence: uint64(tail.firstSequence),
    LastSequence: uint64(tail.lastSequence),
    FailoverSequence: uint64(tail.failoverSequence),
    Destinations: [...tail.destinations],
    ...(optional(tail.state) === undefined ? {} : { State: tail.state }),
  };
}

export function toDataReplicationMetadata(
  metadata: controlPlaneV1.DataReplicationMetadata__Output | null | undefined,
): DocumentObject | undefined {
  if (!metadata) return undefined;
  return compact({
    DataReplicationRole: optional(metadata.dataReplicationRole),
    DataReplicationCounterpart: toCounterpart(metadata.dataReplicationCounterpart),
    ReplicationStatus: optional(metadata.replicationStatus),
    ReplicationStatusReason: optional(metadata.replicationStatusReason),
    Promotion: toPromotion(metadata.promotion),
    DivergentTail: toDivergentTail(metadata.divergentTail),
  });
}

export function toBrokerInstance(instance: controlPlaneV1.BrokerInstance__Output): DocumentObject {
  return {
    Endpoints: [...instance.endpoints],
    ...compact({
      ConsoleURL: optional(instance.consoleUrl),
      IpAddress: optional(instance.ipAddress),
      InstanceState: optional(instance.instanceState),
    }),
  };
}

export function toUserSummary(user: controlPlaneV1.UserSummary__Output): DocumentObject {
  return {
    Username: user.username,
    ...compact({ PendingChange: optional(user.pendingChange) }),
  };
}

/** DescribeBroker, as `aws mq describe-broker` prints it (plus our extensions). */
export function toBrokerDescription(
  broker: controlPlaneV1.DescribeBrokerResponse__Output,
): DocumentObject {
  return {
    BrokerId: broker.brokerId,
    BrokerArn: broker.brokerArn,
    BrokerName: broker.brokerName,
    BrokerState: broker.brokerState,
    ...compact({
      BrokerStateReason: optional(broker.brokerStateReason),
      Region: optional(broker.region),
      DeploymentMode: optional(broker.deploymentMode),
      EngineType: optional(broker.engineType),
      EngineVersion: optional(broker.engineVersion),
      HostInstanceType: optional(broker.hostInstanceType),
      Created: optional(broker.created),
    }),
    Users: broker.users.map(toUserSummary),
    BrokerInstances: broker.brokerInstances.map(toBrokerInstance),
    ...compact({
      DataReplicationMode: optional(broker.dataReplicationMode),
      PendingDataReplicationMode: optional(broker.pendingDataReplicationMode),
      DataReplicationMetadata: toDataReplicationMetadata(broker.dataReplicationMetadata),
      PendingDataReplicationMetadata: toDataReplicationMetadata(
        broker.pendingDataReplicationMetadata,
      ),
    }),
  };
}

export function toCreateBrokerResult(
  response: controlPlaneV1.CreateBrokerResponse__Output,
): DocumentObject {
  return { BrokerId: response.brokerId, BrokerArn: response.brokerArn };
}

export function toBrokerSummary(summary: controlPlaneV1.BrokerSummary__Output): DocumentObject {
  return {
    BrokerId: summary.brokerId,
    BrokerArn: summary.brokerArn,
    BrokerName: summary.brokerName,
    BrokerState: summary.brokerState,
    ...compact({
      DeploymentMode: optional(summary.deploymentMode),
      HostInstanceType: optional(summary.hostInstanceType),
      EngineType: optional(summary.engineType),
      Created: optional(summary.created),
    }),
  };
}

export function toListBrokersResult(
  summaries: readonly controlPlaneV1.BrokerSummary__Output[],
  nextToken: string,
): DocumentObject {
  return {
    BrokerSummaries: summaries.map(toBrokerSummary),
    ...compact({ NextToken: optional(nextToken) }),
  };
}

export function toUpdateBrokerResult(
  response: controlPlaneV1.UpdateBrokerResponse__Output,
): DocumentObject {
  return {
    BrokerId: response.brokerId,
    ...compact({
      DataReplicationMode: optional(response.dataReplicationMode),
      PendingDataReplicationMode: optional(response.pendingDataReplicationMode),
      DataReplicationMetadata: toDataReplicationMetadata(response.dataReplicationMetadata),
      PendingDataReplicationMetadata: toDataReplicationMetadata(
        response.pendingDataReplicationMetadata,
      ),
    }),
  };
}

export function toBrokerIdResult(response: { readonly brokerId: string }): DocumentObject {
  return { BrokerId: response.brokerId };
}

export function toListUsersResult(
  response: controlPlaneV1.ListUsersResponse__Output,
): DocumentObject {
  return {
    BrokerId: response.brokerId,
    Users: response.users.map(toUserSummary),
    ...compact({
      MaxResults: response.maxResults === 0 ? undefined : response.maxResults,
      NextToken: optional(response.nextToken),
    }),
  };
}

export function toUserDescription(
  response: controlPlaneV1.DescribeUserResponse__Output,
): DocumentObject {
  return {
    BrokerId: response.brokerId,
    Username: response.username,
    ConsoleAccess: response.consoleAccess,
    Groups: [...response.groups],
    ReplicationUser: response.replicationUser,
  };
}

export function toDivergentEvent(event: controlPlaneV1.DivergentEvent__Output): DocumentObject {
  return {
    Sequence: uint64(event.sequence),
    EventType: event.eventType,
    ...compact({
      Destination: optional(event.destination),
      MessageId: optional(event.messageId),
      CreatedAt: optional(event.createdAt),
    }),
  };
}

export function toListDivergentEventsResult(
  response: controlPlaneV1.ListDivergentEventsResponse__Output,
): DocumentObject {
  return {
    ...compact({ Summary: toDivergentTail(response.summary) }),
    Events: response.events.map(toDivergentEvent),
    ...compact({ NextToken: optional(response.nextToken) }),
  };
}

export function toResolveDivergentTailResult(
  response: controlPlaneV1.ResolveDivergentTailResponse__Output,
): DocumentObject {
  return {
    ...compact({ Summary: toDivergentTail(response.summary) }),
    RepublishedMessages: uint64(response.republishedMessages),
  };
}
