import { badRequest } from '@crdr/errors';
import type { brokerV1 } from '@crdr/proto';
import type { DataReplicationMode } from '@crdr/store';
import type { DemotionRecord } from '../pg/promotion.repository.js';
import type {
  BeginDemotionRequest,
  DivergentMessageInfo,
  LogEventInfo,
  PromotionStateInfo,
  BrokerStats,
  CreateUserRequest,
  DestinationInfo,
  RoleState,
  SetRoleRequest,
  UpdateUserRequest,
  UserInfo,
} from '../../engine/engine.types.js';
import { parseBigInt } from './broker.mapping.js';

/*
 * Requests and responses of BrokerAdminService, between the generated types and the engine's.
 * Pure. Counts the proto declares uint64 go out as decimal strings (proto-loader `longs: String`).
 */

/** BrowseQueue returns this many messages when max_messages is 0... */
export const defaultBrowseLimit = 100;
/** ...and at most this many. */
export const maxBrowseLimit = 10_000;

function invalid(field: string, message: string): never {
  throw badRequest(`${field} ${message}`, { details: { field } });
}

export type DestinationKind = 'queue' | 'topic';

export function toDestinationKind(
  type: brokerV1.DestinationType__Output | number,
): DestinationKind {
  if (type === 'QUEUE') return 'queue';
  if (type === 'TOPIC') return 'topic';
  return invalid('type', `must be QUEUE or TOPIC (got ${type})`);
}

/** A destination named by type and bare name (no `/queue/` prefix); the engine checks the name. */
export function toDestination(request: {
  readonly type: brokerV1.DestinationType__Output | number;
  readonly name: string;
}): { readonly kind: DestinationKind; readonly name: string } {
  return { kind: toDestinationKind(request.type), name: checkBareName(request.name) };
}

/** A destination's bare name, as admin requests take it. */
export function checkBareName(name: string, field = 'name'): string {
  if (name === '') invalid(field, 'must not be empty');
  if (name.startsWith('/')) {
    invalid(field, `is the bare name, without /queue/ or /topic/ (got "${name}")`);
  }
  return name;
}

export function toBrowseLimit(maxMessages: number): number {
  if (maxMessages === 0) return defaultBrowseLimit;
  if (maxMessages > maxBrowseLimit)
    invalid('max_messages', `must be at most ${maxBrowseLimit} (got ${maxMessages})`);
  return maxMessages;
}

export function toProtoDestinationInfo(info: DestinationInfo): brokerV1.DestinationInfo {
  return {
    type: info.kind === 'queue' ? 'QUEUE' : 'TOPIC',
    name: info.name,
    queueSize: String(info.queueSize),
    consumerCount: info.consumerCount,
    producerCount: info.producerCount,
    enqueueCount: String(info.enqueueCount),
    dequeueCount: String(info.dequeueCount),
    dispatchCount: String(info.dispatchCount),
    durableSubscriptionCount: info.durableSubscriptionCount,
  };
}

export function toProtoStats(stats: BrokerStats): brokerV1.GetStatsResponse {
  return {
    currentConnectionsCount: stats.currentConnectionsCount,
    totalMessageCount: String(stats.totalMessageCount),
    totalEnqueueCount: String(stats.totalEnqueueCount),
    totalDequeueCount: String(stats.totalDequeueCount),
    totalConsumerCount: stats.totalConsumerCount,
    totalProducerCount: stats.totalProducerCount,
    destinations: stats.destinations.map(toProtoDestinationInfo),
    serving: stats.serving,
  };
}

export function toProtoRole(state: RoleState): brokerV1.GetRoleResponse {
  return {
    role: state.role,
    epoch: state.epoch.toString(),
    primaryRegion: state.primaryRegion ?? '',
    primaryBrokerId: state.primaryBrokerId ?? '',
    brokerId: state.brokerId,
    dataReplicationMode: state.dataReplicationMode,
  };
}

function toDataReplicationMode(value: string): DataReplicationMode | undefined {
  if (value === '') return undefined;
  if (value === 'NONE' || value === 'CRDR') return value;
  return invalid(
    'data_replication_mode',
    `must be NONE or CRDR, or empty to keep it (got "${value}")`,
  );
}

export function toSetRoleRequest(request: brokerV1.SetRoleRequest__Output): SetRoleRequest {
  const role = request.role;
  if (role !== 'PRIMARY' && role !== 'REPLICA') {
    invalid('role', `must be PRIMARY or REPLICA (got ${role})`);
  }
  const dataReplicationMode = toDataReplicationMode(request.dataReplicationMode);
  return {
    role,
    epoch: parseBigInt(request.epoch, 'epoch'),
    ...(request.primaryRegion === '' ? {} : { primaryRegion: request.primaryRegion }),
    ...(request.primaryBrokerId === '' ? {} : { primaryBrokerId: request.primaryBrokerId }),
    ...(dataReplicationMode === undefined ? {} : { dataReplicationMode }),
    ...(request.logStart === 'EMPTY' ? { logStart: 'EMPTY' as const } : {}),
  };
}

/** The extras of GetRole that promotion sagas read (held, demotion, log, failover point). */
export function toProtoPromotionState(
  state: PromotionStateInfo,
): Partial<brokerV1.GetRoleResponse> {
  const d = state.demotion;
  const a = state.applied;
  return {
    held: state.held,
    logGeneration: state.log.generation.toString(),
    logLastSequence: state.log.lastSeq.toString(),
    ...(d === undefined ? {} : { demotion: toProtoDemotion(d) }),
    ...(a === undefined
      ? {}
      : {
          applied: {
            sourceBrokerId: a.sourceBrokerId,
            sourceGeneration: a.sourceGeneration.toString(),
            sequence: a.sequence.toString(),
            epoch: a.epoch.toString(),
            lastCreatedAtMs: String(a.lastCreatedAtMs),
            lastAppliedAtMs: String(a.lastAppliedAtMs),
          },
        }),
  };
}

export function toProtoDemotion(d: DemotionRecord): brokerV1.Demotion {
  return {
    promotionId: d.promotionId,
    nextEpoch: d.nextEpoch.toString(),
    sequence: d.sequence.toString(),
    generation: d.generation.toString(),
    newPrimaryRegion: d.newPrimaryRegion ?? '',
    newPrimaryBrokerId: d.newPrimaryBrokerId ?? '',
    startedAtMs: String(d.startedAtMs),
  };
}

export const defaultDemotionTimeoutMs = 10_000;

export function toBeginDemotionRequest(
  request: brokerV1.BeginDemotionRequest__Output,
): BeginDemotionRequest {
  if (request.promotionId === '') invalid('promotion_id', 'must not be empty');
  const nextEpoch = parseBigInt(request.nextEpoch, 'next_epoch');
  if (nextEpoch <= 0n) invalid('next_epoch', `must be positive (got ${nextEpoch})`);
  return {
    promotionId: request.promotionId,
    nextEpoch,
    ...(request.newPrimaryRegion === '' ? {} : { newPrimaryRegion: request.newPrimaryRegion }),
    ...(request.newPrimaryBrokerId === ''
      ? {}
      : { newPrimaryBrokerId: request.newPrimaryBrokerId }),
    timeoutMs: request.timeoutMs === 0 ? defaultDemotionTimeoutMs : request.timeoutMs,
  };
}

/** A page size: `fallback` when 0, at most 1000. */
export function toPageSize(value: number, field: string, fallback = 100): number {
  if (value === 0) return fallback;
  if (value > 1000) invalid(field, `must be at most 1000 (got ${value})`);
  return value;
}

/** A log position: generation and sequence, both decimal. */
export function toLogPosition(request: {
  readonly generation: string;
  readonly afterSequence: string;
}): { readonly generation: bigint; readonly afterSeq: bigint } {
  const generation = parseBigInt(request.generation, 'generation');
  if (generation <= 0n)
    invalid('generation', `must be a log generation, from 1 (got ${generation})`);
  return { generation, afterSeq: parseBigInt(request.afterSequence, 'after_sequence') };
}

export function toPageToken(token: string): number {
  if (token === '') return 0;
  if (!/^\d{1,9}$/.test(token))
    invalid('next_token', `is not a token this broker issued ("${token}")`);
  return Number(token);
}

export function toProtoLogEvent(e: LogEventInfo): brokerV1.LogEvent {
  return {
    sequence: e.sequence.toString(),
    epoch: e.epoch.toString(),
    createdAtMs: String(e.createdAtMs),
    type: e.type,
    destinations: [...e.destinations],
    messageIds: [...e.messageIds],
  };
}

export function toProtoDivergentMessage(m: DivergentMessageInfo): brokerV1.DivergentMessage {
  return {
    sequence: m.sequence.toString(),
    messageId: m.messageId,
    destination: m.destination,
    headers: { ...m.headers },
    body: m.body,
    priority: m.priority,
    expiresAtMs: String(m.expiresAtMs),
    createdAtMs: String(m.createdAtMs),
  };
}

export function checkUsername(username: string): string {
  if (username === '') invalid('username', 'must not be empty');
  return username;
}

export function toCreateUserRequest(
  request: brokerV1.CreateUserRequest__Output,
): CreateUserRequest {
  if ((request.password === '') === (request.passwordHash === '')) {
    invalid('password', 'exactly one of password and password_hash must be given');
  }
  return {
    username: checkUsername(request.username),
    ...(request.password === '' ? {} : { password: request.password }),
    ...(request.passwordHash === '' ? {} : { passwordHash: request.passwordHash }),
    groups: [...request.groups],
    consoleAccess: request.consoleAccess,
    replicationUser: request.replicationUser,
  };
}

/**
 * Unset fields stay as they are: an empty password, absent console_access/replication_user.
 * Groups are replaced when replace_groups is set (an empty list then removes them all) or when
 * any are given; an empty list without replace_groups keeps them.
 */
export function toUpdateUserRequest(
  request: brokerV1.UpdateUserRequest__Output,
): UpdateUserRequest {
  const replaceGroups = request.replaceGroups || request.groups.length > 0;
  if (request.password !== '' && request.passwordHash !== '') {
    invalid('password', 'password and password_hash are exclusive');
  }
  return {
    username: checkUsername(request.username),
    ...(request.password === '' ? {} : { password: request.password }),
    ...(request.passwordHash === '' ? {} : { passwordHash: request.passwordHash }),
    ...(replaceGroups ? { groups: [...request.groups] } : {}),
    ...(request.consoleAccess === undefined ? {} : { consoleAccess: request.consoleAccess }),
    ...(request.replicationUser === undefined ? {} : { replicationUser: request.replicationUser }),
  };
}

export function toProtoUser(user: UserInfo): brokerV1.User {
  return {
    username: user.username,
    groups: [...user.groups],
    consoleAccess: user.consoleAccess,
    replicationUser: user.replicationUser,
  };
}
