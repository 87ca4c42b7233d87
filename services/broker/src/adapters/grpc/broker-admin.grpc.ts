import type * as grpc from '@grpc/grpc-js';
import { unaryHandler, type brokerV1, type HandlerOptions } from '@crdr/proto';
import type { BrokerEngine } from '../../engine/engine.types.js';
import {
  checkBareName,
  checkUsername,
  toBrowseLimit,
  toCreateUserRequest,
  toDestination,
  toProtoDestinationInfo,
  toProtoRole,
  toProtoStats,
  toProtoUser,
  toSetRoleRequest,
  toUpdateUserRequest,
  toBeginDemotionRequest,
  toLogPosition,
  toPageSize,
  toPageToken,
  toProtoDemotion,
  toProtoDivergentMessage,
  toProtoLogEvent,
  toProtoPromotionState,
} from './broker-admin.mapping.js';
import { toProtoDelivery } from './broker.mapping.js';
import { authenticateConsoleUser } from './grpc-auth.js';

export interface BrokerAdminServiceOptions {
  readonly engine: BrokerEngine;
  /** Told about failures that are bugs or outages (see `HandlerOptions`). */
  readonly onUnexpectedError?: (error: unknown, context: string) => void;
}

/**
 * The handlers of crdr.broker.v1.BrokerAdminService over `engine.admin`. Every call needs a user
 * with console access. They work on a replica too: the control plane reads and sets the data
 * replication role there (GetRole/SetRole), and operators inspect it.
 */
export function createBrokerAdminServiceHandlers(
  options: BrokerAdminServiceOptions,
): brokerV1.BrokerAdminServiceHandlers {
  const { engine } = options;
  const { admin } = engine;
  const handlerOptions: HandlerOptions = options.onUnexpectedError
    ? { onUnexpectedError: options.onUnexpectedError }
    : {};

  /** A unary admin call: authenticated as a console user, then `fn`. */
  function adminCall<Request, Response>(
    fn: (request: Request) => Promise<Response>,
  ): grpc.handleUnaryCall<Request, Response> {
    return unaryHandler(async (request: Request, call) => {
      await authenticateConsoleUser(engine, call);
      return fn(request);
    }, handlerOptions);
  }

  return {
    CreateDestination: adminCall(async (request) => {
      const { kind, name } = toDestination(request);
      await admin.createDestination(kind, name);
      return {};
    }),
    DeleteDestination: adminCall(async (request) => {
      const { kind, name } = toDestination(request);
      await admin.deleteDestination(kind, name);
      return {};
    }),
    PurgeDestination: adminCall(async (request) => {
      const { kind, name } = toDestination(request);
      const purged = await admin.purgeDestination(kind, name);
      return { purged: String(purged) };
    }),
    ListDestinations: adminCall(async () => {
      const destinations = await admin.listDestinations();
      return { destinations: destinations.map(toProtoDestinationInfo) };
    }),
    BrowseQueue: adminCall(async (request) => {
      const name = checkBareName(request.name);
      const messages = await admin.browseQueue(name, toBrowseLimit(request.maxMessages));
      return { messages: messages.map(toProtoDelivery) };
    }),
    GetStats: adminCall(async () => toProtoStats(await admin.stats())),
    GetRole: adminCall(async () => ({
      ...toProtoRole(admin.getRole()),
      ...toProtoPromotionState(await admin.promotionState()),
    })),
    BeginDemotion: adminCall(async (request) => {
      const d = await admin.beginDemotion(toBeginDemotionRequest(request));
      const demotion = toProtoDemotion(d);
      return {
        sequence: demotion.sequence!,
        generation: demotion.generation!,
        epoch: admin.getRole().epoch.toString(),
      };
    }),
    ListLogEvents: adminCall(async (request) => {
      const { generation, afterSeq } = toLogPosition(request);
      const page = await admin.listLogEvents(
        generation,
        afterSeq,
        toPageSize(request.maxEvents, 'max_events'),
      );
      return {
        events: page.events.map(toProtoLogEvent),
        generation: page.generation.toString(),
        lastSequence: page.lastSequence.toString(),
        more: page.more,
      };
    }),
    ListDivergentMessages: adminCall(async (request) => {
      const { generation, afterSeq } = toLogPosition(request);
      const page = await admin.listDivergentMessages(
        generation,
        afterSeq,
        toPageToken(request.nextToken),
        toPageSize(request.maxMessages, 'max_messages'),
      );
      return {
        messages: page.messages.map(toProtoDivergentMessage),
        nextToken: page.next === undefined ? '' : String(page.next),
        tailEvents: String(page.tailEvents),
      };
    }),
    SetRole: adminCall(async (request) => {
      const state = await admin.setRole(toSetRoleRequest(request));
      return { state: toProtoRole(state) };
    }),
    CreateUser: adminCall(async (request) => {
      await admin.createUser(toCreateUserRequest(request));
      return {};
    }),
    UpdateUser: adminCall(async (request) => {
      await admin.updateUser(toUpdateUserRequest(request));
      return {};
    }),
    DeleteUser: adminCall(async (request) => {
      await admin.deleteUser(checkUsername(request.username));
      return {};
    }),
    ListUsers: adminCall(async () => {
      const users = await admin.listUsers();
      return { users: users.map(toProtoUser) };
    }),
    GetReplicationStatus: adminCall(async () => {
      // Figures from memory would look healthy while the store is away (a database restart):
      // fail instead, so the control plane sees that nothing leaves this broker's log.
      await admin.checkLogReadable();
      const r = admin.replicationStatus();
      // The oldest event each replica still waits for, from this broker's own log: the
      // "how far behind" lags are measured from it, whatever the replica's side can answer.
      const oldest = await Promise.all(
        r.replicas.map((a) =>
          a.acknowledgedSeq < r.lastSeq
            ? admin.createdAtAfter(a.acknowledgedSeq)
            : Promise.resolve(0),
        ),
      );
      return {
        role: r.role.role,
        dataReplicationMode: r.role.dataReplicationMode,
        epoch: r.role.epoch.toString(),
        lastSequence: r.lastSeq.toString(),
        lastCreatedAtMs: String(r.lastCreatedAtMs),
        publishedSequence: r.publishedSeq.toString(),
        relayConnected: r.relayConnected,
        replicas: r.replicas.map((a, i) => ({
          consumer: a.consumer,
          acknowledgedSequence: a.acknowledgedSeq.toString(),
          acknowledgedCreatedAtMs: String(a.acknowledgedCreatedAtMs),
          acknowledgedAtMs: String(a.acknowledgedAtMs),
          pendingCount: String(a.pending),
          oldestUnacknowledgedCreatedAtMs: String(oldest[i] ?? 0),
        })),
      };
    }),
    GetStateDigest: adminCall(async () => {
      const d = await admin.stateDigest();
      return {
        digest: d.digest,
        destinations: d.destinations,
        durableSubscriptions: d.durableSubscriptions,
        messages: String(d.messages),
        users: d.users,
        sequence: d.sequence.toString(),
      };
    }),
  };
}
