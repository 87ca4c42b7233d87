import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Database, type Kysely, type Transaction } from '@crdr/store';
import { conflict, badRequest, failedPrecondition, notFound, unavailable } from '@crdr/errors';
import {
  createStoreWriter,
  type CommittedEvent,
  type LeaseFence,
  type ReplicatedChange,
} from '../adapters/pg/store-writer.js';
import {
  ensureMeta,
  loadState,
  readMeta,
  rowToMessage,
  type BrokerMeta,
} from '../adapters/pg/broker-state.repository.js';
import { isWildcard, validateDestinationName } from '../domain/destination.js';
import { computeStateDigest } from '../adapters/pg/state-digest.js';
import { startLog } from '../adapters/pg/log-snapshot.js';
import {
  clearDemotion,
  readAppliedPosition,
  readDemotion,
  readLogInfo,
  writeDemotion,
  type DemotionRecord,
} from '../adapters/pg/promotion.repository.js';
import { createOwnLogReader } from './own-log.js';
import type {
  BrokerAdmin,
  BrokerEngine,
  BrokerStats,
  CreateUserRequest,
  Delivery,
  DestinationInfo,
  LogReader,
  Principal,
  RelayView,
  RoleState,
  SessionOptions,
  SetRoleRequest,
  UpdateUserRequest,
  UserInfo,
} from './engine.types.js';
import { EngineCore, type SessionLimits } from './engine-core.js';
import { createAuthorizer, type Authorizer } from '../domain/authorization.js';
import { isExpired } from './queued-message.js';
import { Scheduler } from './scheduler.js';
import { BrokerSession } from './session.js';
import type { DestinationState } from './destination-registry.js';

/** Users as the engine needs them; implemented over the store by the users adapter. */
export interface UserDirectory {
  authenticate(username: string, password: string, source: string): Promise<Principal>;
  create(request: CreateUserRequest): Promise<void>;
  update(request: UpdateUserRequest): Promise<void>;
  delete(username: string): Promise<void>;
  list(): Promise<readonly UserInfo[]>;
}

export interface EngineLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface BrokerEngineOptions {
  readonly db: Kysely<Database>;
  readonly brokerId: string;
  /** The role a brand-new store starts with; a stored role always wins. */
  readonly initialRole: 'PRIMARY' | 'REPLICA';
  readonly users: UserDirectory;
  readonly log: EngineLogger;
  /** Messages per store held in memory; the rest wait in Postgres. */
  readonly memoryWindow?: number;
  readonly maxRedeliveries?: number;
  /** Caps on sessions and on what open transactions hold; none when absent. */
  readonly limits?: Partial<SessionLimits>;
  /**
   * Per-destination rights (read, write, admin) of users' groups; the default rule set
   * (`domain/authorization.ts`) when absent.
   */
  readonly authorizer?: Authorizer;
  /** The largest message body accepted, in bytes, on every protocol. Default 100 MiB. */
  readonly maxMessageBytes?: number;
  readonly expirySweepMs?: number;
  readonly schedulerPollMs?: number;
  /** Runs first in every write transaction (the active/standby lease fence). */
  readonly guard?: (trx: Transaction<Database>) => Promise<void>;
  /** The same fence, as the lease row every group-commit statement must still find. */
  readonly fence?: () => LeaseFence | undefined;
  readonly now?: () => number;
  /** Told whenever this instance starts or stops serving clients. */
  readonly onServingChange?: (serving: boolean) => void;
  /** Told after a commit that wrote replication events (the relay's cue). */
  readonly onEventsCommitted?: (lastSeq: bigint, events: readonly CommittedEvent[]) => void;
  /** The relay's view of the log, when this process runs one. */
  readonly relay?: () => RelayView | undefined;
  /** Serve no client, whatever the stored role, until a SetRole confirms it (fencing). */
  readonly startHeld?: boolean;
  /** Reads published events of this broker's log back (divergent tail), when it has NATS. */
  readonly logReader?: LogReader;
}

export interface BrokerRuntime {
  readonly engine: BrokerEngine;
  /** Reads (or creates) the stored role. */
  init(): Promise<void>;
  /** This instance may serve (it holds the lease): load state and serve if PRIMARY. */
  activate(): Promise<void>;
  /** Stop serving at once (lease lost, shutting down); sessions are closed. */
  deactivate(reason: string): Promise<void>;
  readonly serving: boolean;
  /** Whether this instance's relay should publish: it holds the lease of a CRDR primary. */
  readonly publishing: boolean;
  readonly role: RoleState;
  /**
   * Runs a change in a store transaction serialized with every other write, with `emit` adding
   * its replication event (a no-op while not replicating). Refused on a replica, whose store
   * only replication changes.
   */
  runWrite<T>(
    work: (db: Kysely<Database>, emit: (change: ReplicatedChange) => void) => Promise<T>,
  ): Promise<T>;
}

/** ActiveMQ's default limit on a STOMP frame: 100 MiB. */
export const defaultMaxMessageBytes = 100 * 1024 * 1024;

export function createBrokerEngine(options: BrokerEngineOptions): BrokerRuntime {
  const now = options.now ?? Date.now;
  const { db, log, users } = options;
  const onError = (error: unknown, context: string): void => {
    log.error({ err: error, context }, `broker error in ${context}`);
  };
  const scheduler: Scheduler = new Scheduler({
    db,
    core: () => core,
    now,
    pollMs: options.schedulerPollMs ?? 1000,
    batchSize: 500,
  });
  const core = new EngineCore({
    db,
    brokerId: options.brokerId,
    memoryWindow: options.memoryWindow ?? 2000,
    maxRedeliveries: options.maxRedeliveries ?? 6,
    limits: {
      maxSessions: options.limits?.maxSessions ?? Infinity,
      maxSessionsPerUser: options.limits?.maxSessionsPerUser ?? Infinity,
      maxTransactionBytes: options.limits?.maxTransactionBytes ?? Infinity,
    },
    maxMessageBytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
    authorizer: options.authorizer ?? createAuthorizer(undefined),
    now,
    onError,
    schedule: (request, messageId) => scheduler.schedule(request, messageId),
  });
  let sweep: NodeJS.Timeout | undefined;
  let lastWritten: { seq: bigint; createdAtMs: number } = { seq: 0n, createdAtMs: 0 };
  let transition: Promise<void> = Promise.resolve();
  let held = options.startHeld ?? false;
  let demotion: DemotionRecord | undefined;
  const heldReason = `broker ${options.brokerId} was started held: it serves no client until the control plane confirms its role`;
  const demotionReason = (d: DemotionRecord): string =>
    `broker ${options.brokerId} is being demoted by a switchover` +
    (d.newPrimaryBrokerId === null
      ? ''
      : `; reconnect to the new primary: broker ${d.newPrimaryBrokerId}${d.newPrimaryRegion === null ? '' : ` in region ${d.newPrimaryRegion}`}`);
  const refreshUnservedReason = (): void => {
    core.unservedReason =
      demotion !== undefined ? demotionReason(demotion) : held ? heldReason : undefined;
  };
  refreshUnservedReason();

  const serialize = (work: () => Promise<void>): Promise<void> => {
    const next = transition.then(work, work);
    transition = next.catch(() => undefined);
    return next;
  };

  async function startServing(): Promise<void> {
    if (core.writer !== undefined) return;
    const state = await loadState(db);
    core.writer = createStoreWriter({
      db,
      lastSeq: state.lastSeq,
      lastEventSeq: state.lastEventSeq,
      replication: () => {
        const meta = core.meta;
        return meta?.role === 'PRIMARY' && meta.data_replication_mode === 'CRDR'
          ? { brokerId: meta.broker_id, epoch: meta.epoch }
          : undefined;
      },
      onEventsCommitted: (seq, events) => {
        lastWritten = { seq, createdAtMs: now() };
        options.onEventsCommitted?.(seq, events);
      },
      ...(options.guard === undefined ? {} : { guard: options.guard }),
      ...(options.fence === undefined ? {} : { fence: options.fence }),
    });
    core.registry.load(state);
    scheduler.start();
    sweep = setInterval(() => sweepExpired(), options.expirySweepMs ?? 1000);
    sweep.unref();
    log.info(
      { destinations: state.destinations.length, lastSeq: String(state.lastSeq) },
      'broker serving',
    );
    options.onServingChange?.(true);
  }

  async function stopServing(
    reason: string,
    last?: (writer: NonNullable<typeof core.writer>) => Promise<void>,
  ): Promise<void> {
    const writer = core.writer;
    if (writer === undefined) return;
    options.onServingChange?.(false);
    scheduler.stop();
    if (sweep !== undefined) clearInterval(sweep);
    await core.evictAll(reason);
    // The last write of this serving period (a demotion's marker), after every pending one.
    if (last !== undefined) await last(writer);
    core.writer = undefined;
    await writer.close();
    core.registry.clear();
    core.flow.inflight.clear();
    log.info({ reason }, 'broker stopped serving');
  }

  function sweepExpired(): void {
    const t = now();
    for (const store of core.registry.stores()) {
      if (store.ready.size === 0) continue;
      for (const message of store.ready.removeWhere((m) => isExpired(m, t)))
        core.flow.expire(store, message);
    }
    for (const dest of core.registry.all()) {
      for (const store of dest.volatiles) store.ready.removeWhere((m) => isExpired(m, t));
    }
  }

  const roleState = (): RoleState => {
    const meta = core.meta!;
    return {
      brokerId: meta.broker_id,
      role: meta.role,
      epoch: meta.epoch,
      primaryRegion: meta.primary_region,
      primaryBrokerId: meta.primary_broker_id,
      dataReplicationMode: meta.data_replication_mode,
    };
  };

  const info = (dest: DestinationState): DestinationInfo => {
    const stores = [
      ...(dest.queue === undefined ? [] : [dest.queue]),
      ...dest.durables.values(),
      ...dest.volatiles,
    ];
    let queueSize = 0;
    let consumerCount = 0;
    let enqueueCount = 0;
    let dequeueCount = 0;
    let dispatchCount = 0;
    for (const s of stores) {
      queueSize += s.size;
      consumerCount += s.consumers.length;
      enqueueCount += s.enqueueCount;
      dequeueCount += s.dequeueCount;
      dispatchCount += s.dispatchCount;
    }
    return {
      kind: dest.kind,
      name: dest.name,
      queueSize:
        dest.kind === 'queue'
          ? queueSize
          : [...dest.durables.values()].reduce((n, s) => n + s.size, 0),
      consumerCount,
      producerCount: dest.producers.size,
      enqueueCount,
      dequeueCount,
      dispatchCount,
      durableSubscriptionCount: dest.durables.size,
    };
  };

  // Temporary destinations belong to their connections, as in ActiveMQ, where they are not
  // among the broker's queues and topics either.
  const listed = (): DestinationState[] => [...core.registry.all()].filter((d) => !d.temporary);

  const requireDestination = (kind: 'queue' | 'topic', name: string): DestinationState => {
    const dest = core.registry.get(kind, name);
    if (dest === undefined) throw notFound(`${kind} "${name}" does not exist`);
    return dest;
  };

  const createdAtCache = new Map<string, number>();
  let createdAtUnreadAfter: bigint | undefined;
  const ownLog = createOwnLogReader({
    db,
    brokerId: options.brokerId,
    ...(options.logReader === undefined ? {} : { logReader: options.logReader }),
  });

  const admin: BrokerAdmin = {
    async createDestination(kind, name) {
      core.assertServing();
      validateDestinationName(name);
      if (isWildcard(name))
        throw badRequest(
          `invalid destination "${name}": a wildcard (* or > as a part) names no one destination`,
        );
      await core.registry.ensure(kind, name);
    },
    async deleteDestination(kind, name) {
      core.assertServing();
      await core.registry.delete(kind, name);
    },
    async purgeDestination(kind, name) {
      core.assertServing();
      const dest = requireDestination(kind, name);
      const stores = [...(dest.queue === undefined ? [] : [dest.queue]), ...dest.durables.values()];
      let purged = 0;
      for (const store of stores) {
        // Messages in flight with a consumer stay: their acknowledgement is still to come.
        const kept = [...core.flow.inflight.values()]
          .filter((e) => e.consumer.store === store && e.message.persistent)
          .map((e) => e.message);
        const inflight = kept.map((m) => m.seq.toString());
        const deleted = await core.writer!.run(
          async (trx, _nextSeq, emit) => {
            const result = await sql<{ n: bigint }>`
              WITH gone AS (
                DELETE FROM messages WHERE store_id = ${store.id} AND NOT (seq = ANY(${inflight}::int8[]))
                RETURNING 1)
              SELECT count(*)::int8 AS n FROM gone`.execute(trx);
            emit({
              destinationPurged: {
                destinationId: dest.id,
                storeIds: [store.id],
                kept: kept.map((m) => ({
                  storeId: m.storeId,
                  priority: m.priority,
                  seq: m.seq.toString(),
                })),
              },
            });
            return result;
          },
          () => {
            const volatileCount = store
              .clearReady(core.writer!.lastSeq)
              .filter((m) => !m.persistent).length;
            purged += volatileCount;
          },
        );
        purged += Number(deleted.rows[0]?.n ?? 0n);
      }
      for (const store of dest.volatiles) purged += store.ready.clear().length;
      return purged;
    },
    listDestinations() {
      core.assertServing();
      return Promise.resolve(listed().map(info));
    },
    async browseQueue(name, maxMessages) {
      core.assertServing();
      const dest = requireDestination('queue', name);
      const store = dest.queue!;
      const limit = Math.max(1, Math.min(maxMessages || 100, 1000));
      const rows = await db
        .selectFrom('messages')
        .selectAll()
        .where('store_id', '=', store.id)
        .orderBy('priority', 'desc')
        .orderBy('seq')
        .limit(limit)
        .execute();
      const out: Delivery[] = rows.map((row) => core.flow.toDelivery('', '', rowToMessage(row)));
      for (const m of store.ready)
        if (!m.persistent && out.length < limit) out.push(core.flow.toDelivery('', '', m));
      return out;
    },
    stats(): Promise<BrokerStats> {
      const destinations = core.serving ? listed().map(info) : [];
      let totalConsumerCount = 0;
      let totalProducerCount = 0;
      let totalMessageCount = 0;
      for (const d of destinations) {
        totalConsumerCount += d.consumerCount;
        totalProducerCount += d.producerCount;
        totalMessageCount += d.queueSize;
      }
      return Promise.resolve({
        currentConnectionsCount: core.sessions.size,
        totalMessageCount,
        totalEnqueueCount: core.flow.totalEnqueued,
        totalDequeueCount: core.flow.totalDequeued,
        totalConsumerCount,
        totalProducerCount,
        destinations,
        serving: core.serving,
      });
    },
    getRole: roleState,
    async setRole(request: SetRoleRequest) {
      if (request.role !== 'PRIMARY' && request.role !== 'REPLICA') {
        throw badRequest(`role must be PRIMARY or REPLICA (got ${String(request.role)})`);
      }
      let next: BrokerMeta | undefined;
      await serialize(async () => {
        const change = async (trx: Transaction<Database>): Promise<BrokerMeta> => {
          const current = await trx
            .selectFrom('broker_meta')
            .selectAll()
            .forUpdate()
            .executeTakeFirstOrThrow();
          if (request.epoch < current.epoch) {
            throw conflict(
              `stale epoch ${request.epoch}: broker ${current.broker_id} is already at epoch ${current.epoch}`,
              { details: { field: 'epoch', currentEpoch: String(current.epoch) } },
            );
          }
          await clearDemotion(trx);
          const updated = await trx
            .updateTable('broker_meta')
            .set({
              role: request.role,
              epoch: request.epoch,
              primary_region:
                request.role === 'REPLICA'
                  ? (request.primaryRegion ?? current.primary_region)
                  : null,
              primary_broker_id:
                request.role === 'REPLICA'
                  ? (request.primaryBrokerId ?? current.primary_broker_id)
                  : null,
              data_replication_mode: request.dataReplicationMode ?? current.data_replication_mode,
              updated_at_ms: BigInt(now()),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          const { id: _id, ...meta } = updated;
          return meta;
        };
        const before = core.meta!;
        // A new log starts when replication is turned on, and on every promotion of a replica
        // (its log is a new generation; the peer follows it from its start).
        const turningOn =
          request.role === 'PRIMARY' &&
          (request.dataReplicationMode ?? before.data_replication_mode) === 'CRDR' &&
          (before.data_replication_mode !== 'CRDR' || before.role === 'REPLICA');
        const snapshot = request.logStart !== 'EMPTY';
        // The writer of a promoted replica exists before its role changes, so the new log is
        // started by the same serialized transaction that changes the role; clients are
        // admitted only once the role is PRIMARY.
        if (turningOn && !core.active) {
          throw unavailable(
            `this instance of broker ${options.brokerId} is the standby: the active instance (the lease holder) starts the replication log`,
          );
        }
        if (turningOn && core.writer === undefined) await startServing();
        try {
          next =
            core.writer !== undefined
              ? await core.writer.run(
                  async (trx, _nextSeq, emit, flushEvents) => {
                    const meta = await change(trx);
                    if (turningOn) {
                      const started = await startLog(trx, emit, flushEvents, { snapshot });
                      log.info(
                        {
                          generation: String(started.generation),
                          snapshot,
                          messages: started.copied,
                        },
                        snapshot
                          ? 'replication log started with a snapshot of the store'
                          : 'replication log started empty (the replica is identical)',
                      );
                    }
                    return meta;
                  },
                  undefined,
                  turningOn ? { newLog: { brokerId: options.brokerId, epoch: request.epoch } } : {},
                )
              : await db.transaction().execute(change);
        } catch (error) {
          // A replica's writer started for a promotion that was refused must not stay.
          if (before.role === 'REPLICA') await stopServing('promotion refused');
          throw error;
        }
        core.meta = next;
        held = false;
        demotion = undefined;
        refreshUnservedReason();
        log.info(
          { role: next.role, epoch: String(next.epoch), previousRole: before.role },
          'data replication role changed',
        );
        if (next.role === 'REPLICA') await stopServing(`broker ${next.broker_id} became a replica`);
        else if (core.active) await startServing();
      });
      return roleState();
    },
    createUser: (request) => users.create(request),
    updateUser: (request) => users.update(request),
    deleteUser: (username) => users.delete(username),
    listUsers: () => users.list(),
    stateDigest: () => computeStateDigest(db),
    async promotionState() {
      const [log, applied] = await Promise.all([readLogInfo(db), readAppliedPosition(db)]);
      return { held, demotion, log, applied };
    },
    async beginDemotion(request) {
      if (request.promotionId === '') throw badRequest('promotion_id must not be empty');
      let record: DemotionRecord | undefined;
      await serialize(async () => {
        const existing = await readDemotion(db);
        if (existing !== undefined) {
          if (existing.promotionId !== request.promotionId) {
            throw conflict(
              `broker ${options.brokerId} is already being demoted by promotion ${existing.promotionId}`,
              { details: { field: 'promotion_id', promotionId: existing.promotionId } },
            );
          }
          record = existing;
          return;
        }
        const meta = core.meta!;
        if (meta.role !== 'PRIMARY') {
          throw failedPrecondition(
            `broker ${options.brokerId} is a replica: only a primary can be demoted`,
          );
        }
        if (meta.data_replication_mode !== 'CRDR') {
          throw failedPrecondition(
            `broker ${options.brokerId} does not replicate (data replication mode ${meta.data_replication_mode}): a switchover needs CRDR`,
          );
        }
        if (request.nextEpoch <= meta.epoch) {
          throw conflict(
            `stale epoch ${request.nextEpoch}: broker ${options.brokerId} is already at epoch ${meta.epoch}; the next epoch must be newer`,
            { details: { field: 'next_epoch', currentEpoch: String(meta.epoch) } },
          );
        }
        if (core.writer === undefined) {
          throw unavailable(
            `broker ${options.brokerId} is not serving (standby instance, held or starting): the serving instance writes the switchover marker`,
          );
        }
        const draft: DemotionRecord = {
          promotionId: request.promotionId,
          nextEpoch: request.nextEpoch,
          sequence: 0n,
          generation: 0n,
          newPrimaryRegion: request.newPrimaryRegion ?? null,
          newPrimaryBrokerId: request.newPrimaryBrokerId ?? null,
          startedAtMs: now(),
        };
        // New clients are refused from here on; connected ones get an ERROR frame saying why.
        demotion = draft;
        refreshUnservedReason();
        let last: NonNullable<typeof core.writer> | undefined;
        try {
          await stopServing(demotionReason(draft), async (writer) => {
            last = writer;
            record = await writer.run(async (trx, _nextSeq, emit) => {
              emit({
                switchoverMarker: {
                  promotionId: request.promotionId,
                  nextEpoch: request.nextEpoch.toString(),
                },
              });
              const { generation } = await readLogInfo(trx);
              const written = { ...draft, sequence: writer.lastEventSeq, generation };
              await writeDemotion(trx, written);
              return written;
            });
          });
        } catch (error) {
          demotion = undefined;
          refreshUnservedReason();
          if (core.active && core.writer === undefined && core.meta?.role === 'PRIMARY')
            await startServing().catch((e: unknown) =>
              onError(e, 'resuming after a failed demotion'),
            );
          throw error;
        }
        // Nothing should follow the marker; should anything have been queued behind it, the
        // replica must apply that too before it is caught up.
        if (last !== undefined && last.lastEventSeq > record!.sequence) {
          const sequence = last.lastEventSeq;
          await db.updateTable('broker_demotion').set({ sequence }).execute();
          record = { ...record!, sequence };
        }
        demotion = record;
        log.info(
          {
            promotionId: request.promotionId,
            sequence: String(record!.sequence),
            nextEpoch: String(request.nextEpoch),
          },
          'demotion started: switchover marker written, clients refused',
        );
      });
      const written = record!;
      const deadline = now() + request.timeoutMs;
      for (;;) {
        const info = await readLogInfo(db);
        if (info.generation !== written.generation || info.publishedSeq >= written.sequence) break;
        if (now() >= deadline) {
          throw unavailable(
            `the switchover marker (sequence ${written.sequence}) is not published yet (published: ${info.publishedSeq}); is this Region's NATS reachable? Call BeginDemotion again to keep waiting`,
            { details: { sequence: String(written.sequence) } },
          );
        }
        await sleep(20);
      }
      return written;
    },
    listLogEvents: (generation, afterSeq, max) => ownLog.events(generation, afterSeq, max),
    async checkLogReadable() {
      await readLogInfo(db);
    },
    async createdAtAfter(afterSeq) {
      try {
        const info = await readLogInfo(db);
        if (afterSeq >= info.lastSeq) return 0;
        const key = `${info.generation}:${afterSeq}`;
        const known = createdAtCache.get(key);
        if (known !== undefined) return known;
        const page = await ownLog.events(info.generation, afterSeq, 1);
        const createdAtMs = page.events[0]?.createdAtMs ?? 0;
        // An event's TC never changes: keep the few last ones asked (a stuck replica is asked
        // about the same event every second).
        if (createdAtMs > 0) {
          createdAtCache.set(key, createdAtMs);
          if (createdAtCache.size > 64) createdAtCache.delete(createdAtCache.keys().next().value!);
        }
        return createdAtMs;
      } catch (error) {
        // Asked every second while it lasts: said once per event.
        if (afterSeq !== createdAtUnreadAfter) {
          createdAtUnreadAfter = afterSeq;
          log.warn(
            { err: error, afterSeq: String(afterSeq) },
            'the TC of a waiting event was not read',
          );
        }
        return 0;
      }
    },
    listDivergentMessages: (generation, afterSeq, start, max) =>
      ownLog.divergentMessages(generation, afterSeq, start, max),
    replicationStatus() {
      const relay = options.relay?.();
      const lastSeq = core.writer?.lastEventSeq ?? lastWritten.seq;
      return {
        role: roleState(),
        lastSeq,
        lastCreatedAtMs: lastWritten.seq === lastSeq ? lastWritten.createdAtMs : 0,
        publishedSeq: relay?.publishedSeq ?? 0n,
        relayConnected: relay?.connected ?? false,
        replicas: relay?.replicas ?? [],
      };
    },
  };

  const engine: BrokerEngine = {
    authenticate: (username, password, source) => users.authenticate(username, password, source),
    assertServing: () => core.assertServing(),
    openSession(principal: Principal, sessionOptions: SessionOptions) {
      core.assertServing();
      const session = new BrokerSession(core, principal, sessionOptions);
      core.admitSession(session);
      return session;
    },
    admin,
  };

  return {
    engine,
    async init() {
      core.meta = await ensureMeta(db, {
        broker_id: options.brokerId,
        role: options.initialRole,
        epoch: 0n,
        primary_region: null,
        primary_broker_id: null,
        data_replication_mode: 'NONE',
        updated_at_ms: BigInt(now()),
      });
      demotion = await readDemotion(db);
      refreshUnservedReason();
    },
    activate: () =>
      serialize(async () => {
        core.active = true;
        core.meta = (await readMeta(db)) ?? core.meta;
        demotion = await readDemotion(db);
        refreshUnservedReason();
        if (core.meta?.role === 'PRIMARY' && !held && demotion === undefined) await startServing();
      }),
    deactivate: (reason) =>
      serialize(async () => {
        core.active = false;
        await stopServing(reason);
      }),
    get serving() {
      return core.serving;
    },
    get publishing() {
      const meta = core.meta;
      return core.active && meta?.role === 'PRIMARY' && meta.data_replication_mode === 'CRDR';
    },
    get role() {
      return roleState();
    },
    runWrite(work) {
      const meta = core.meta;
      if (meta?.role === 'REPLICA') {
        return Promise.reject(
          failedPrecondition(
            `broker ${meta.broker_id} is a replica: its users and destinations come from its primary`,
          ),
        );
      }
      if (core.writer === undefined) {
        return db.transaction().execute((trx) => work(trx, () => undefined));
      }
      return core.writer.run((trx, _nextSeq, emit) => work(trx, emit));
    },
  };
}
