import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  badRequest,
  conflict,
  failedPrecondition,
  hasErrorCode,
  notFound,
  toCrdrError,
  unavailable,
} from '@crdr/errors';
import { createClient, loadProto, type controlPlaneV1 } from '@crdr/proto';
import type { EventStore } from '../adapters/pg/event-store.js';
import {
  asBrokerId,
  type BrokerAggregate,
  type BrokerId,
  type Counterpart,
  type ReplicationStatus,
} from '../domain/broker.types.js';
import {
  asPromotionId,
  decide,
  evolve,
  initialState,
  pendingAction,
  promotionView,
  type PromotionAction,
  type PromotionCommand,
  type PromotionEvent,
  type PromotionState,
  type PromotionStep,
  type StepResult,
} from '../domain/promotion.saga.js';
import { brokerProcessSpec, toEndpoints } from './broker-processes.js';
import { handleWithRetry, type OperationsContext } from './context.js';
import {
  brokerServiceClient,
  isRetryable,
  onAnsweringInstances,
  onAnyInstance,
  onServingInstance,
  setRoleEverywhere,
} from './promotion-brokers.js';
import { createPrimaryGuard } from './primary-guard.js';
import { createDivergentTails, toTailSummary, type TailEvent } from './promotion-tail.js';

/**
 * The promotion sagas (docs/architecture.md, "Promotion"), run by the replica's Region. The saga of
 * each promoted broker is an event stream (`promotion-<brokerId>`) folded by the pure decider
 * of domain/promotion.saga.ts: every step is recorded as started before its action runs and as
 * done (or failed) after it, every action is idempotent, and at start-up the step started and
 * not finished of each saga is simply run again. Appends are optimistic: two concurrent Promote
 * calls read the same version and exactly one of them is recorded.
 *
 * The replica's Region acts on its own broker and replicator directly and on the primary's
 * side through the peer Region's control plane (ControlPlanePeerService), which keeps its own
 * registry up to date. An old primary whose Region was down during a failover comes back held:
 * its Region asks this one whether its counterpart was promoted before it lets it serve.
 */

const sagaStream = (brokerId: string): string => `promotion-${brokerId}`;
const sagaPrefix = 'promotion-';
const fenceDeadlineMs = 3_000;

interface Failpoint {
  readonly step: string;
  readonly when: 'before' | 'after' | 'pause';
  readonly pauseMs: number;
}

function parseFailpoints(value: string | undefined): Failpoint[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((item) => {
    const [step = '', how = 'before'] = item.trim().split(':');
    if (how.startsWith('pause-')) {
      return { step, when: 'pause' as const, pauseMs: Number(how.slice('pause-'.length)) };
    }
    if (how !== 'before' && how !== 'after') {
      throw badRequest(`invalid CONTROL_PLANE_FAILPOINT: "${item}"`);
    }
    return { step, when: how, pauseMs: 0 };
  });
}

const member = (c: { brokerId: string; region: string }): Counterpart => ({
  brokerId: c.brokerId,
  region: c.region,
});

export function createPromotionOperations(
  context: OperationsContext,
  stores: {
    readonly sagas: EventStore<PromotionEvent>;
    readonly tails: EventStore<TailEvent>;
  },
) {
  const c = context.config;
  const region = c.CONTROL_PLANE_REGION;
  const tails = createDivergentTails(context, stores.tails);
  const failpoints = parseFailpoints(c.CONTROL_PLANE_FAILPOINT);
  const guard = createPrimaryGuard(context, {
    region,
    deadlineMs: fenceDeadlineMs,
    peerWaitMs: c.CONTROL_PLANE_PEER_WAIT_MS,
    whenPeerSilent: c.CONTROL_PLANE_PEER_SILENT,
    reconcileIntervalMs: c.CONTROL_PLANE_RECONCILE_INTERVAL_MS,
  });
  /** The saga loops running in this process, one per promoted broker. */
  const running = new Map<string, { again: boolean; abort: AbortController }>();

  async function loadSaga(brokerId: string): Promise<{ version: number; state: PromotionState }> {
    const { version, events } = await stores.sagas.readStream(sagaStream(brokerId));
    return { version, state: events.reduce(evolve, initialState) };
  }

  /** Decides and appends; `retry` re-decides after a concurrent append (internal steps). */
  async function handleSaga(
    brokerId: string,
    command: PromotionCommand,
    retry: boolean,
  ): Promise<{ state: PromotionState; events: PromotionEvent[] }> {
    for (let attempt = 1; ; attempt += 1) {
      const { version, state } = await loadSaga(brokerId);
      const events = decide(command, state);
      try {
        await stores.sagas.append(sagaStream(brokerId), version, events);
        return { state: events.reduce(evolve, state), events };
      } catch (error) {
        const concurrent =
          hasErrorCode(error, 'Conflict') && error.details['state'] === 'CONCURRENT_MODIFICATION';
        if (!concurrent) throw error;
        if (!retry || attempt >= 10) {
          throw conflict(
            `another promotion of broker ${brokerId} was recorded at the same moment; this one is refused`,
            { cause: error, details: { state: 'CONCURRENT_MODIFICATION' } },
          );
        }
      }
    }
  }

  async function loadBroker(brokerId: string): Promise<BrokerAggregate> {
    const broker = await context.repository.load(asBrokerId(brokerId));
    if (!broker.exists || broker.state === 'DELETED') {
      throw notFound(`broker ${brokerId} does not exist in ${region}`, {
        details: { field: 'broker_id' },
      });
    }
    return broker;
  }

  // ---- The registry as the saga leaves it (DescribeBroker on this side). ----

  async function project(brokerId: BrokerId, state: PromotionState): Promise<void> {
    if (state.status === 'IDLE') return;
    const broker = await context.repository.load(brokerId);
    if (!broker.exists) return;
    const at = context.now();
    if (state.replicaPromoted && (broker.role !== 'PRIMARY' || broker.epoch < state.nextEpoch)) {
      await handleWithRetry(context, brokerId, {
        type: 'ChangeDataReplicationRole',
        role: 'PRIMARY',
        counterpart: member(state.pair.primary),
        epoch: state.nextEpoch,
        status: state.status === 'RUNNING' ? 'PROMOTION_IN_PROGRESS' : 'PROMOTED',
        at,
      });
    }
    const view = promotionView(state);
    let status: ReplicationStatus;
    if (state.status === 'RUNNING') status = 'PROMOTION_IN_PROGRESS';
    else if (state.replicaPromoted) status = 'PROMOTED';
    else status = 'REPLICATING';
    if (state.status !== 'RUNNING' && state.endedAt !== undefined) {
      // Once ended, only the saga's own outcome is written, and only once.
      const current = await context.repository.load(brokerId);
      if (
        current.promotion === undefined &&
        current.replicationStatus !== 'PROMOTION_IN_PROGRESS'
      ) {
        return;
      }
    }
    await handleWithRetry(context, brokerId, {
      type: 'RecordPromotionStatus',
      status,
      promotion:
        view === undefined
          ? undefined
          : { mode: view.mode, step: view.step, startedAt: new Date(view.startedAt).toISOString() },
      at,
    });
  }

  // ---- The actions. ----

  async function nextPrimaryNats(): Promise<controlPlaneV1.StartReplicationRequest> {
    if (
      context.replicationLog === undefined ||
      c.CONTROL_PLANE_REPLICATION_NATS_URL === undefined
    ) {
      throw failedPrecondition(
        `reverse replication needs CONTROL_PLANE_NATS_URL in ${region}: the new primary's log is here`,
      );
    }
    const caPem =
      c.CONTROL_PLANE_NATS_TLS_CA === undefined
        ? ''
        : await readFile(c.CONTROL_PLANE_NATS_TLS_CA, 'utf8');
    return {
      natsUrl: c.CONTROL_PLANE_REPLICATION_NATS_URL,
      natsUser: c.CONTROL_PLANE_REPLICATION_USER ?? '',
      natsPassword: c.CONTROL_PLANE_REPLICATION_PASSWORD ?? '',
      natsCaPem: caPem,
      natsInboxPrefix: c.CONTROL_PLANE_REPLICATION_INBOX_PREFIX ?? '',
    };
  }

  async function execute(
    action: PromotionAction,
    state: Extract<PromotionState, { promotionId: unknown }>,
    signal: AbortSignal,
  ): Promise<StepResult> {
    const { primary, replica } = state.pair;
    const peer = () => context.peer(primary.region, 'data_replication_counterpart');
    switch (action.type) {
      case 'BeginDemotion': {
        const r = await peer().demotePrimary(
          {
            brokerId: action.brokerId,
            promotionId: action.promotionId,
            nextEpoch: action.nextEpoch.toString(),
            newPrimary: member(action.newPrimary),
            mode: state.mode,
            startedAt: new Date(state.startedAt).toISOString(),
          },
          { deadlineMs: 20_000, signal },
        );
        return { kind: 'demotion', sequence: BigInt(r.sequence), generation: BigInt(r.generation) };
      }
      case 'WaitForReplica': {
        const broker = await loadBroker(action.replicaBrokerId);
        const info = await context.provisioner.replicator(action.replicaBrokerId);
        const address = info?.grpc ?? broker.replicatorGrpc;
        if (address === undefined) {
          throw unavailable(`the replicator of broker ${action.replicaBrokerId} is not running`);
        }
        const replicator = createClient(loadProto().crdr.replicator.v1.ReplicatorService, address);
        try {
          await replicator.waitForSequence(
            { sequence: action.sequence.toString(), timeoutMs: 20_000 },
            { deadlineMs: 25_000, signal },
          );
        } finally {
          replicator.close();
        }
        const [mine, theirs] = await Promise.all([
          onAnyInstance(broker, (a) => a.getStateDigest({})),
          peer().getBrokerDigest({ brokerId: action.primaryBrokerId }, { signal }),
        ]);
        if (mine.sequence !== theirs.sequence || mine.digest !== theirs.digest) {
          if (BigInt(mine.sequence) < action.sequence) {
            throw unavailable(`the replica is at ${mine.sequence}, not yet at ${action.sequence}`);
          }
          throw failedPrecondition(
            `the replica's state differs from the primary's at the switchover marker ` +
              `(replica ${mine.digest} at ${mine.sequence}, primary ${theirs.digest} at ${theirs.sequence})`,
          );
        }
        return { kind: 'caught-up', sequence: BigInt(mine.sequence) };
      }
      case 'StopReplicator':
        // A failover does not wait for a replicator stuck on an unreachable Region: its applied
        // position commits with the changes, so kill -9 loses nothing.
        await context.provisioner.stopReplicator(action.replicaBrokerId, {
          graceful: state.mode === 'SWITCHOVER',
        });
        return { kind: 'done' };
      case 'ReadFailoverPoint': {
        const broker = await loadBroker(action.brokerId);
        const role = await onAnyInstance(broker, (a) => a.getRole({}));
        const applied = role.applied;
        return {
          kind: 'failover-point',
          point: {
            sourceBrokerId: applied?.sourceBrokerId ?? '',
            generation: BigInt(applied?.sourceGeneration ?? 0),
            sequence: BigInt(applied?.sequence ?? 0),
          },
        };
      }
      case 'FenceOldPrimary': {
        const r = await peer().setPeerBrokerRole(
          {
            brokerId: action.brokerId,
            role: 'REPLICA',
            epoch: action.epoch.toString(),
            counterpart: member(action.primary),
            replicationStatus: 'DEMOTED',
          },
          { deadlineMs: fenceDeadlineMs, signal },
        );
        return {
          kind: 'fenced',
          logGeneration: BigInt(r.logGeneration),
          logLastSequence: BigInt(r.logLastSequence),
        };
      }
      case 'PromoteReplica': {
        const broker = await loadBroker(action.brokerId);
        await setRoleEverywhere(broker, {
          role: 'PRIMARY',
          epoch: action.epoch.toString(),
          dataReplicationMode: 'CRDR',
          logStart: action.logStart,
        });
        return { kind: 'done' };
      }
      case 'DemoteOldPrimary':
        await peer().setPeerBrokerRole(
          {
            brokerId: action.brokerId,
            role: 'REPLICA',
            epoch: action.epoch.toString(),
            counterpart: member(action.primary),
            replicationStatus: 'DEMOTED',
          },
          { deadlineMs: 20_000, signal },
        );
        return { kind: 'done' };
      case 'RecordDivergentTail': {
        const r = await peer().captureDivergentTail(
          {
            brokerId: action.brokerId,
            generation: action.after.generation.toString(),
            failoverSequence: action.after.sequence.toString(),
            promotionId: state.promotionId,
          },
          { deadlineMs: 60_000, signal },
        );
        const s = r.summary;
        return {
          kind: 'tail',
          tail: {
            eventCount: Number(s?.eventCount ?? 0),
            firstSequence: BigInt(s?.firstSequence ?? 0),
            lastSequence: BigInt(s?.lastSequence ?? 0),
            destinations: s?.destinations ?? [],
          },
        };
      }
      case 'StartReplicator': {
        // The new primary's log is in this Region's NATS: the old primary's consumer is made
        // here (the replication user may not create it), its replicator runs in its Region.
        await context.replicationLog?.ensureConsumer(
          action.primaryBrokerId,
          action.replicaBrokerId,
          c.CONTROL_PLANE_BROKER_READY_TIMEOUT_MS,
        );
        await peer().startReplication(
          {
            ...(await nextPrimaryNats()),
            replicaBrokerId: action.replicaBrokerId,
            primary: member(replica),
            epoch: state.nextEpoch.toString(),
          },
          { deadlineMs: 60_000, signal },
        );
        return { kind: 'done' };
      }
      case 'CancelDemotion':
        await peer().setPeerBrokerRole(
          {
            brokerId: action.brokerId,
            role: 'PRIMARY',
            epoch: action.epoch.toString(),
            counterpart: member(replica),
            replicationStatus: 'REPLICATING',
          },
          { deadlineMs: 20_000, signal },
        );
        return { kind: 'done' };
    }
  }

  function failpoint(step: PromotionStep, when: 'before' | 'after'): Failpoint | undefined {
    const hit = failpoints.find((f) => f.step === step && (f.when === when || f.when === 'pause'));
    if (hit === undefined) return undefined;
    if (hit.when === when) {
      context.log.warn({ step, when }, 'CONTROL_PLANE_FAILPOINT: killing this process');
      process.kill(process.pid, 'SIGKILL');
    }
    return hit;
  }

  async function runSaga(brokerId: BrokerId, entry: { again: boolean; abort: AbortController }) {
    for (;;) {
      if (context.stopping()) return;
      entry.again = false;
      const { state } = await loadSaga(brokerId);
      await project(brokerId, state).catch((error: unknown) =>
        context.log.warn({ err: error, brokerId }, 'promotion status not recorded'),
      );
      const action = pendingAction(state);
      if (action === undefined || state.status !== 'RUNNING' || state.step === undefined) {
        if (entry.again) continue;
        return;
      }
      const step = state.step;
      const pause = failpoint(step, 'before');
      if (pause?.when === 'pause') await sleep(pause.pauseMs);
      if (state.attempt > 1) await sleep(Math.min(200 * 2 ** (state.attempt - 2), 5_000));
      if (entry.again) continue;
      const abort = new AbortController();
      entry.abort = abort;
      const aborted = new Promise<'aborted'>((resolve) =>
        abort.signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      let command: PromotionCommand;
      try {
        context.log.info(
          { brokerId, step, attempt: state.attempt, action: action.type },
          'saga step',
        );
        const result = await Promise.race([execute(action, state, abort.signal), aborted]);
        if (result === 'aborted') continue;
        failpoint(step, 'after');
        command = {
          type: 'StepSucceeded',
          promotionId: state.promotionId,
          step,
          result,
          at: Date.now(),
        };
      } catch (error) {
        if (abort.signal.aborted) continue;
        if (context.stopping()) return;
        const e = toCrdrError(error);
        context.log.warn({ err: e, brokerId, step }, 'saga step failed');
        command = {
          type: 'StepFailed',
          promotionId: state.promotionId,
          step,
          error: `${e.code}: ${e.message}`.slice(0, 1_000),
          retryable: isRetryable(error),
          at: Date.now(),
        };
      }
      await handleSaga(brokerId, command, true);
    }
  }

  /** Runs (or wakes) the saga loop of `brokerId`; `interrupt` abandons the action in flight. */
  function kick(brokerId: BrokerId, interrupt = false): void {
    const existing = running.get(brokerId);
    if (existing !== undefined) {
      existing.again = true;
      if (interrupt) existing.abort.abort();
      return;
    }
    const entry = { again: false, abort: new AbortController() };
    running.set(brokerId, entry);
    context.background(`promotion ${brokerId}`, async () => {
      try {
        for (;;) {
          try {
            await runSaga(brokerId, entry);
            return;
          } catch (error) {
            if (context.stopping()) return;
            context.log.error({ err: error, brokerId }, 'promotion saga interrupted; retrying');
            await sleep(1_000);
          }
        }
      } finally {
        running.delete(brokerId);
      }
    });
  }

  // ---- The old primary's side (served for the peer Region's saga). ----

  async function peerSetRole(request: controlPlaneV1.SetPeerBrokerRoleRequest__Output) {
    const broker = await loadBroker(request.brokerId);
    const counterpart = request.counterpart;
    if (counterpart === null || (request.role !== 'PRIMARY' && request.role !== 'REPLICA')) {
      throw badRequest('invalid SetPeerBrokerRole: role PRIMARY or REPLICA and a counterpart');
    }
    const epoch = BigInt(request.epoch);
    const before = await onAnyInstance(broker, (a) => a.getRole({}));
    const state = await setRoleEverywhere(
      broker,
      request.role === 'REPLICA'
        ? {
            role: 'REPLICA',
            epoch: epoch.toString(),
            primaryRegion: counterpart.region,
            primaryBrokerId: counterpart.brokerId,
          }
        : { role: 'PRIMARY', epoch: epoch.toString() },
    );
    await handleWithRetry(context, broker.brokerId, {
      type: 'ChangeDataReplicationRole',
      role: request.role,
      counterpart: member(counterpart),
      epoch,
      status: (request.replicationStatus || 'REPLICATING') as ReplicationStatus,
      at: context.now(),
    });
    // Its own log as it ends once fenced: read through ListLogEvents of the generation it had
    // (a broker made a replica may no longer report its own log in GetRole).
    const after = await onAnyInstance(broker, (a) => a.getRole({})).catch(() => state);
    let logGeneration = BigInt(after.logGeneration);
    let logLastSequence = BigInt(after.logLastSequence);
    if (logGeneration === 0n && BigInt(before.logGeneration) > 0n) {
      logGeneration = BigInt(before.logGeneration);
      logLastSequence = BigInt(before.logLastSequence);
      const page = await onAnyInstance(broker, (a) =>
        a.listLogEvents({
          generation: before.logGeneration,
          afterSequence: before.logLastSequence,
          maxEvents: 1,
        }),
      ).catch(() => undefined);
      if (page !== undefined && BigInt(page.lastSequence) > logLastSequence) {
        logLastSequence = BigInt(page.lastSequence);
      }
    }
    return {
      epoch: state.epoch,
      logGeneration: logGeneration.toString(),
      logLastSequence: logLastSequence.toString(),
    };
  }

  const peerHandlers = {
    async demotePrimary(
      request: controlPlaneV1.DemotePrimaryRequest__Output,
    ): Promise<controlPlaneV1.DemotePrimaryResponse> {
      const broker = await loadBroker(request.brokerId);
      const newPrimary = request.newPrimary;
      if (broker.role !== 'PRIMARY' || broker.counterpart?.brokerId !== newPrimary?.brokerId) {
        throw conflict(
          `broker ${broker.brokerId} is not the primary of ${newPrimary?.brokerId ?? '(none)'}`,
          { details: { state: broker.role ?? 'UNPAIRED' } },
        );
      }
      // Idempotent per promotion id: a demotion already under way answers the same marker, and
      // the demoting broker serves nobody any more, so it is asked on any instance then.
      const roles = await onAnsweringInstances(broker, (a) => a.getRole({}));
      const demoting = roles.some((r) => r.demotion?.promotionId === request.promotionId);
      const begin = (a: Parameters<Parameters<typeof onAnyInstance>[1]>[0]) =>
        a.beginDemotion(
          {
            promotionId: request.promotionId,
            nextEpoch: request.nextEpoch,
            newPrimaryRegion: newPrimary?.region ?? '',
            newPrimaryBrokerId: newPrimary?.brokerId ?? '',
            timeoutMs: 10_000,
          },
          { deadlineMs: 15_000 },
        );
      const { sequence, generation } = demoting
        ? await onAnyInstance(broker, begin, 15_000)
        : await onServingInstance(broker, begin, 15_000);
      await handleWithRetry(context, broker.brokerId, {
        type: 'RecordPromotionStatus',
        status: 'DEMOTION_IN_PROGRESS',
        promotion: {
          mode: request.mode === 'FAILOVER' ? 'FAILOVER' : 'SWITCHOVER',
          step: 'DEMOTING_PRIMARY',
          startedAt: request.startedAt || context.now(),
        },
        at: context.now(),
      });
      return { sequence, generation };
    },

    setPeerBrokerRole: peerSetRole,

    async recordPromotionStatus(
      request: controlPlaneV1.RecordPromotionStatusRequest__Output,
    ): Promise<controlPlaneV1.RecordPromotionStatusResponse> {
      const p = request.promotion;
      await handleWithRetry(context, asBrokerId((await loadBroker(request.brokerId)).brokerId), {
        type: 'RecordPromotionStatus',
        status: request.replicationStatus as ReplicationStatus,
        promotion:
          p === null
            ? undefined
            : {
                mode: p.mode === 'FAILOVER' ? 'FAILOVER' : 'SWITCHOVER',
                step: p.step,
                startedAt: p.startedAt,
              },
        at: context.now(),
      });
      return {};
    },

    async captureDivergentTail(
      request: controlPlaneV1.CaptureDivergentTailRequest__Output,
    ): Promise<controlPlaneV1.CaptureDivergentTailResponse> {
      const tail = await tails.capture(
        request.brokerId,
        BigInt(request.generation),
        BigInt(request.failoverSequence),
        request.promotionId,
      );
      return tail === undefined ? {} : { summary: toTailSummary(tail)! };
    },

    async getBrokerDigest(
      request: controlPlaneV1.GetBrokerDigestRequest__Output,
    ): Promise<controlPlaneV1.GetBrokerDigestResponse> {
      const broker = await loadBroker(request.brokerId);
      const d = await onAnyInstance(broker, (a) => a.getStateDigest({}), 30_000);
      return { digest: d.digest, sequence: d.sequence, messages: d.messages };
    },

    // ---- Served by the promoted broker's Region. ----

    async getPromotionState(
      request: controlPlaneV1.GetPromotionStateRequest__Output,
    ): Promise<controlPlaneV1.GetPromotionStateResponse> {
      const broker = await loadBroker(request.brokerId);
      const { state } = await loadSaga(broker.brokerId);
      return {
        dataReplicationRole: broker.role ?? '',
        epoch: broker.epoch.toString(),
        ...(broker.counterpart === undefined ? {} : { counterpart: broker.counterpart }),
        awaitingOldPrimary:
          state.status !== 'IDLE' &&
          state.mode === 'FAILOVER' &&
          state.oldPrimary === 'UNREACHABLE' &&
          !broker.forceUnpairedFrom.includes(state.pair.primary.brokerId),
        promotionStatus: state.status,
        forceUnpairedBrokerIds: [...broker.forceUnpairedFrom],
      };
    },

    async oldPrimaryReturned(
      request: controlPlaneV1.OldPrimaryReturnedRequest__Output,
    ): Promise<controlPlaneV1.OldPrimaryReturnedResponse> {
      const broker = await loadBroker(request.brokerId);
      const { state } = await loadSaga(broker.brokerId);
      if (state.status === 'IDLE' || state.pair.primary.brokerId !== request.oldPrimary?.brokerId) {
        return { fencing: false };
      }
      // Force-unpaired from it since: it stays fenced by its own Region, not re-paired here.
      if (broker.forceUnpairedFrom.includes(request.oldPrimary.brokerId)) return { fencing: false };
      const { events } = await handleSaga(
        broker.brokerId,
        { type: 'OldPrimaryReturned', promotionId: state.promotionId, at: Date.now() },
        true,
      );
      kick(broker.brokerId);
      return {
        fencing:
          events.length > 0 || (state.status === 'RUNNING' && state.step === 'FENCING_OLD_PRIMARY'),
      };
    },

    async republishMessages(
      request: controlPlaneV1.RepublishMessagesRequest__Output,
    ): Promise<controlPlaneV1.RepublishMessagesResponse> {
      const broker = await loadBroker(request.brokerId);
      if (broker.role === 'REPLICA') {
        throw conflict(
          `broker ${broker.brokerId} is a replica: it cannot take republished messages`,
          {
            details: { state: 'REPLICA' },
          },
        );
      }
      const client = await brokerServiceClient(broker);
      try {
        const ids: string[] = [];
        for (const m of request.messages) {
          const sent = await client.send({
            destination: m.destination,
            body: m.body,
            headers: { ...m.headers, 'crdr-republished-message-id': m.messageId },
            persistent: true,
            priority: m.priority,
            expiresAtMs: m.expiresAtMs,
          });
          ids.push(sent.messageId);
        }
        return { messageIds: ids };
      } finally {
        client.close();
      }
    },
  };

  async function restartHeld(broker: BrokerAggregate): Promise<void> {
    const spec = brokerProcessSpec(context, broker);
    const instances = toEndpoints(
      await context.provisioner.startBroker({
        ...spec,
        env: { ...spec.env, BROKER_START_HELD: 'true' },
      }),
    );
    await handleWithRetry(context, broker.brokerId, {
      type: 'RecordInstancesRestarted',
      instances,
      at: context.now(),
    });
  }

  return {
    peerHandlers,

    async promote(
      request: controlPlaneV1.PromoteRequest__Output,
    ): Promise<controlPlaneV1.PromoteResponse> {
      const mode = request.mode;
      if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER') {
        throw badRequest(`invalid mode: "${mode}" must be SWITCHOVER or FAILOVER`, {
          details: { field: 'mode' },
        });
      }
      if (request.brokerId === '') {
        throw badRequest('invalid broker_id: it is required', { details: { field: 'broker_id' } });
      }
      const broker = await loadBroker(request.brokerId);
      const { state } = await loadSaga(broker.brokerId);
      const inProgress = state.status === 'RUNNING';
      if (!inProgress) {
        if (broker.role === undefined || broker.counterpart === undefined) {
          throw badRequest(
            `invalid broker_id: broker ${broker.brokerId} is not paired (data replication mode ${broker.dataReplicationMode}); only a CRDR replica can be promoted`,
            { details: { field: 'broker_id' } },
          );
        }
        if (broker.role === 'PRIMARY') {
          throw conflict(
            `broker ${broker.brokerId} is the primary of replica ${broker.counterpart.brokerId}: ` +
              `promote the replica, in its Region ${broker.counterpart.region}`,
            { details: { state: 'PRIMARY', dataReplicationRole: 'PRIMARY' } },
          );
        }
        if (broker.state !== 'RUNNING') {
          throw conflict(`cannot promote broker ${broker.brokerId} in state ${broker.state}`, {
            details: { state: broker.state },
          });
        }
        if (broker.replicationStatus === 'PAIRING') {
          throw conflict(
            `cannot promote broker ${broker.brokerId}: replication has not started ` +
              `(reboot the primary ${broker.counterpart.brokerId} to start it)`,
            { details: { state: 'PAIRING' } },
          );
        }
      }
      const counterpart = broker.counterpart!;
      let epoch = broker.epoch;
      if (!inProgress) {
        const role = await onAnyInstance(broker, (a) => a.getRole({}), 2_000).catch(
          () => undefined,
        );
        if (role !== undefined && BigInt(role.epoch) > epoch) epoch = BigInt(role.epoch);
      }
      const pair = {
        primary:
          inProgress && state.status === 'RUNNING'
            ? state.pair.primary
            : { brokerId: asBrokerId(counterpart.brokerId), region: counterpart.region },
        replica: { brokerId: broker.brokerId, region },
      };
      const promotionId = asPromotionId(`p-${randomUUID()}`);
      const { state: after } = await handleSaga(
        broker.brokerId,
        {
          type: mode === 'SWITCHOVER' ? 'StartSwitchover' : 'StartFailover',
          promotionId,
          pair,
          epoch,
          at: Date.now(),
        },
        false,
      );
      context.log.info({ brokerId: broker.brokerId, mode, promotionId }, 'promotion requested');
      await project(broker.brokerId, after).catch(() => undefined);
      kick(broker.brokerId, inProgress);
      return { brokerId: broker.brokerId };
    },

    listDivergentEvents: (request: controlPlaneV1.ListDivergentEventsRequest__Output) =>
      tails.list(request),
    resolveDivergentTail: (request: controlPlaneV1.ResolveDivergentTailRequest__Output) =>
      tails.resolve(request),

    /**
     * After the provisioner's supervisor started a broker's processes again: a paired primary
     * restarted held is released the same way as at start-up, once its counterpart is known
     * not to have been promoted.
     */
    async afterRestart(brokerId: string): Promise<void> {
      const broker = await context.repository.load(asBrokerId(brokerId));
      if (!broker.exists || broker.role !== 'PRIMARY' || broker.counterpart === undefined) return;
      await guard.guard(broker.brokerId);
    },

    /** After start: every unfinished saga resumes; paired primaries are checked (held). */
    async resume(): Promise<void> {
      const streams = await stores.sagas.readAll();
      for (const [stream, events] of streams) {
        if (!stream.startsWith(sagaPrefix)) continue;
        const state = events.reduce(evolve, initialState);
        if (state.status === 'RUNNING') {
          const brokerId = asBrokerId(stream.slice(sagaPrefix.length));
          context.log.info({ brokerId, step: state.step }, 'resuming a promotion saga');
          kick(brokerId);
        }
      }
      for (const broker of await context.repository.list()) {
        if (!broker.exists || broker.state !== 'RUNNING') continue;
        if (broker.role !== 'PRIMARY' || broker.counterpart === undefined) continue;
        context.background(`guard primary ${broker.brokerId}`, async () => {
          if (context.provisioner.kind === 'local') await restartHeld(broker);
          await guard.guard(broker.brokerId);
        });
      }
      context.background('reconcile paired primaries', () => guard.reconcileForever());
    },
  };
}

export type PromotionOperations = ReturnType<typeof createPromotionOperations>;
