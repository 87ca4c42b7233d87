import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition, hasErrorCode, toCrdrError, unavailable } from '@crdr/errors';
import { attributeNames, getTracer, latencyProbe, withSpan } from '@crdr/telemetry';
import { backoffDelayMs } from '../../domain/backoff.js';
import { describeFault, type ReplicationFault } from '../../domain/replication-fault.js';
import type { AppliedRecord, ReplicatorState } from '../../domain/replicator-state.js';
import { initialPosition, type AppliedPosition } from '../../domain/sequence-decision.js';
import { AppliedWaiters } from './applied-waiters.js';
import { withEventSpans } from './apply-tracing.js';
import { DestinationProgress } from './destination-progress.js';
import { planBatch } from './batch-plan.js';
import { checkForGap } from './gap-check.js';
import { LogProgress } from './log-progress.js';
import { ReadAhead } from './read-ahead.js';
import { readBatch, type Delivery, type EventFragment } from './batch-reader.js';
import type { PulledMessage } from './jetstream-puller.js';
import type { ReplicationSource } from './replication-source.js';
import type { ReplicationLoop, ReplicationLoopOptions } from './replication-loop.types.js';

export type {
  AppliedStore,
  ReplicationLoop,
  ReplicationLoopOptions,
} from './replication-loop.types.js';

/** How often the replicator asks again while it waits for events redelivered late. */
const aheadRetryDelayMs = 500;

export function createReplicationLoop(options: ReplicationLoopOptions): ReplicationLoop {
  const { log, store, primaryBrokerId } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const tracer = getTracer('crdr-replicator');

  let state: ReplicatorState = 'CONNECTING';
  let error = '';
  let running = false;
  let source: ReplicationSource | undefined;
  /** The row as last read or written; undefined before the first event is ever applied. */
  let record: AppliedRecord | undefined;
  let loaded = false;
  let prepared = false;
  let position: AppliedPosition = initialPosition;
  const progress = new LogProgress();
  /** The log had nothing last time: wait for a first event. */
  let idle = true;
  let paused = false;
  let aheadLogged = false;
  /** Waiting for JetStream to redeliver events held by someone else: ask slowly. */
  let aheadWaiting = false;
  const readAhead = new ReadAhead();
  const waiters = new AppliedWaiters();
  const destinationProgress = new DestinationProgress();
  const pauseWaiters: Array<() => void> = [];
  /** Interrupts a wait that pause or resume should end: a long poll, a backoff, a paused wait. */
  let wake = new AbortController();

  const setState = (next: ReplicatorState, reason = ''): void => {
    if (state === 'FAILED') return;
    if (next !== state) log.info({ from: state, to: next, reason }, 'replicator state changed');
    state = next;
    error = reason;
  };

  const fail = (fault: ReplicationFault): void => {
    const message = describeFault(fault);
    log.error({ fault: { ...fault } }, `replication stopped: ${message}`);
    setState('FAILED', message);
    const failure = failedPrecondition(`the replicator failed: ${message}`, {
      details: { reason: fault.kind },
    });
    waiters.rejectAll(failure);
  };

  const interrupt = (): void => {
    wake.abort();
    wake = new AbortController();
  };

  const releaseWaiters = (): void => waiters.release(position.sequence);

  async function loadPosition(): Promise<void> {
    if (!prepared) {
      await store.prepare();
      prepared = true;
    }
    const stored = await store.load();
    record = stored;
    if (stored === undefined) {
      position = initialPosition;
    } else if (stored.sourceBrokerId !== primaryBrokerId) {
      // The store last followed another primary (roles were reversed): this log starts over,
      // and the epoch already applied still fences off older primaries.
      log.warn(
        {
          storedSource: stored.sourceBrokerId,
          primaryBrokerId,
          storedSequence: String(stored.sequence),
        },
        "the replica store last applied another primary's log; reading this one from its start",
      );
      position = { sequence: 0n, epoch: stored.epoch, generation: 0n };
    } else {
      position = {
        sequence: stored.sequence,
        epoch: stored.epoch,
        generation: stored.generation ?? 0n,
      };
    }
    loaded = true;
    releaseWaiters();
  }

  async function closeSource(): Promise<void> {
    await readAhead.drop();
    const closing = source;
    source = undefined;
    if (closing !== undefined) await closing.close().catch(() => undefined);
  }

  function read(
    src: ReplicationSource,
    waitForFirst: boolean,
    signal: AbortSignal,
  ): Promise<Delivery[]> {
    return readBatch(src.puller, options, { waitForFirst, signal, interruptWait: wake.signal });
  }

  /** One batch: read (or read ahead), applied, acknowledged. */
  async function step(signal: AbortSignal): Promise<void> {
    const src = source!;
    const deliveries = (await readAhead.take(src)) ?? (await read(src, idle, signal));
    idle = deliveries.length === 0;
    if (deliveries.length > 0) await handle(src, deliveries, signal);
  }

  async function handle(
    src: ReplicationSource,
    deliveries: Delivery[],
    signal: AbortSignal,
  ): Promise<void> {
    progress.observe(deliveries);
    const plan = planBatch(position, deliveries);

    if (plan.apply.length > 0) {
      const last = plan.apply[plan.apply.length - 1]!;
      const to: AppliedRecord = {
        sourceBrokerId: primaryBrokerId,
        generation: plan.position.generation ?? 0n,
        sequence: plan.position.sequence,
        epoch: plan.position.epoch,
        lastCreatedAtMs: Number(last.createdAtMs),
        lastAppliedAtMs: now(),
      };
      // Read the next batch while this one commits.
      if (plan.stop === undefined && !paused && !signal.aborted) {
        readAhead.start(src, () => read(src, false, signal));
      }
      // A large batch (events of many megabytes) may take longer to commit than the consumer's
      // ack wait: keep JetStream from delivering it again meanwhile.
      const keepAlive =
        src.ackWaitMs > 0
          ? setInterval(
              () => src.puller.working(deliveries.flatMap((d) => d.parts)),
              Math.max(500, src.ackWaitMs / 2),
            )
          : undefined;
      const applyStarted = latencyProbe.enabled ? performance.now() : 0;
      try {
        await withSpan(
          tracer,
          'replication.apply',
          {
            [attributeNames.brokerId]: primaryBrokerId,
            [attributeNames.sequence]: String(to.sequence),
            [attributeNames.epoch]: String(to.epoch),
            [attributeNames.batchSize]: plan.apply.length,
          },
          () =>
            withEventSpans(tracer, deliveries, plan.apply, () =>
              store.apply(plan.apply, record, to),
            ),
        );
      } catch (applyError) {
        if (hasErrorCode(applyError, 'FailedPrecondition')) {
          fail({
            kind: 'apply-rejected',
            firstSequence: BigInt(plan.apply[0]!.sequence),
            lastSequence: to.sequence,
            detail: applyError.message,
          });
          return;
        }
        // Not committed, or not known to be: hand everything back and read the position again.
        src.puller.nak(deliveries.flatMap((d) => d.parts));
        await readAhead.drop();
        loaded = false;
        throw applyError;
      } finally {
        clearInterval(keepAlive);
      }
      if (latencyProbe.enabled) {
        latencyProbe.record('replicator: apply batch', performance.now() - applyStarted);
        latencyProbe.count('replicator: batches');
        latencyProbe.count('replicator: events', plan.apply.length);
      }
      record = to;
      position = plan.position;
      destinationProgress.observe(plan.apply, to.lastAppliedAtMs);
    }
    // Acknowledged only now that the batch is committed.
    src.puller.ack(plan.ack);
    progress.pendingCount += plan.held.length;
    if (plan.apply.length > 0) releaseWaiters();
    if (plan.stop === undefined) {
      if (aheadLogged && plan.apply.length > 0)
        log.info('the missing events arrived; replication resumed');
      aheadLogged = false;
      return;
    }
    if (plan.stop.kind === 'fault') {
      fail(plan.stop.fault);
      return;
    }
    await resolveAhead(src, plan.held, plan.stop.expected, plan.stop.received, plan.stop.fragment);
  }

  /** Events arrived beyond the next one: wait for JetStream to redeliver, or fail on a gap. */
  async function resolveAhead(
    src: ReplicationSource,
    held: readonly PulledMessage[],
    expected: bigint,
    received: bigint,
    fragment: EventFragment | undefined,
  ): Promise<void> {
    if (fragment?.hasFirstPart === true) {
      // An event's first parts, the rest still to come (from JetStream, or from a relay that
      // publishes the event again): nothing is missing before them, so there is no gap to find.
      if (!aheadLogged) {
        aheadLogged = true;
        log.info(
          { sequence: String(fragment.sequence), parts: held.length },
          'waiting for the rest of an event published in parts',
        );
      }
      src.puller.nak(held);
      idle = false;
      aheadWaiting = true;
      return;
    }
    const check = await checkForGap(src, held);
    if (check.gap && fragment !== undefined) {
      // Parts whose first part was acknowledged: the rest of an attempt the relay abandoned.
      const parts = held.filter((m) => m.info.streamSequence <= fragment.lastStreamSequence);
      src.puller.ack(parts);
      src.puller.nak(held.slice(parts.length));
      idle = false;
      return;
    }
    if (check.gap) {
      fail({ kind: 'sequence-gap', expected, received });
      return;
    }
    if (!aheadLogged) {
      aheadLogged = true;
      log.info(
        { expected: String(expected), received: String(received), ...check },
        'events arrived ahead of the next one; waiting for JetStream to redeliver the missing ones',
      );
    }
    // Handed back at once, they wait at the head of the redelivery queue, so the next reads
    // bring no newer events; the missing ones join the queue when their ack wait ends, and the
    // held ones, handed back again each round, fall in behind them.
    src.puller.nak(held);
    idle = false;
    aheadWaiting = true;
  }

  async function waitWhilePaused(signal: AbortSignal): Promise<void> {
    await readAhead.drop();
    setState('PAUSED');
    for (const resolve of pauseWaiters.splice(0)) resolve();
    while (paused && !signal.aborted) {
      await sleep(60_000, undefined, { signal: AbortSignal.any([signal, wake.signal]) }).catch(
        () => undefined,
      );
    }
  }

  const onConnectionChange = (connected: boolean): void => {
    if (!connected && state === 'RUNNING') {
      setState('CONNECTING', "lost the connection to the primary Region's NATS; reconnecting");
    } else if (connected && state === 'CONNECTING' && !paused) {
      setState('RUNNING');
    }
  };

  async function run(signal: AbortSignal): Promise<void> {
    running = true;
    let attempt = 0;
    try {
      while (!signal.aborted && state !== 'FAILED') {
        if (paused) {
          await waitWhilePaused(signal);
          continue;
        }
        try {
          if (!loaded) await loadPosition();
          if (source === undefined) {
            source = await options.openSource(onConnectionChange);
            idle = true;
            log.info(
              {
                stream: source.stream,
                consumer: source.consumer,
                ackWaitMs: source.ackWaitMs,
                maxAckPending: source.maxAckPending,
                appliedSequence: String(position.sequence),
              },
              'reading the replication log',
            );
            // A batch and the next one read ahead are unacknowledged together.
            if (source.maxAckPending > 0 && source.maxAckPending < 2 * options.batchMaxEvents) {
              log.warn(
                { maxAckPending: source.maxAckPending, batchMaxEvents: options.batchMaxEvents },
                'the consumer lets fewer events be unacknowledged than two batches: replication will be slower',
              );
            }
          }
          if (state === 'CONNECTING' && source.connected) setState('RUNNING');
          if (aheadWaiting) {
            aheadWaiting = false;
            await sleep(aheadRetryDelayMs, undefined, {
              signal: AbortSignal.any([signal, wake.signal]),
            }).catch(() => undefined);
            continue;
          }
          await step(signal);
          attempt = 0;
        } catch (loopError) {
          if (signal.aborted) break;
          const failure = toCrdrError(loopError);
          const reason = failure.details['reason'];
          if (reason === 'position-moved') loaded = false;
          // Anything from NATS: start over with a fresh connection.
          else if (reason !== 'store-unavailable') await closeSource();
          setState('CONNECTING', failure.message);
          const delayMs = backoffDelayMs(attempt++, options.backoff, random());
          log.warn({ err: failure, reason, delayMs }, 'replication interrupted; retrying');
          await sleep(delayMs, undefined, { signal: AbortSignal.any([signal, wake.signal]) }).catch(
            () => undefined,
          );
        }
      }
    } finally {
      running = false;
      await closeSource();
      for (const resolve of pauseWaiters.splice(0)) resolve();
      if (state !== 'FAILED') {
        const stopping = unavailable('the replicator is stopping');
        waiters.rejectAll(stopping);
      }
    }
  }

  return {
    run,
    status() {
      const current = record?.sourceBrokerId === primaryBrokerId ? record : undefined;
      return {
        state,
        appliedSequence: position.sequence,
        appliedEpoch: position.epoch,
        appliedGeneration: position.generation ?? 0n,
        lastCreatedAtMs: current?.lastCreatedAtMs ?? 0,
        lastAppliedAtMs: current?.lastAppliedAtMs ?? 0,
        pendingCount: progress.pendingCount,
        lastKnownSequence: progress.lastKnownSequence(position.sequence),
        oldestPendingCreatedAtMs: progress.oldestPendingCreatedAtMs(position.sequence, now()),
        error,
        destinations: destinationProgress.list(),
      };
    },
    async refreshPending(timeoutMs) {
      const src = source;
      if (src === undefined || !src.connected) return;
      try {
        const info = await Promise.race([src.info(), sleep(timeoutMs).then(() => undefined)]);
        if (info === undefined) return;
        progress.consumerInfo(info);
      } catch (infoError) {
        log.debug({ err: infoError }, 'consumer info failed');
      }
    },
    pause() {
      if (state === 'FAILED') return Promise.resolve();
      paused = true;
      if (!running || state === 'PAUSED') return Promise.resolve();
      return new Promise<void>((resolve) => {
        pauseWaiters.push(resolve);
        // Ends a wait for a first event or a backoff; a batch in progress finishes first.
        interrupt();
      });
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (state === 'PAUSED') setState(source?.connected ? 'RUNNING' : 'CONNECTING');
      interrupt();
    },
    waitForSequence(sequence, timeoutMs, signal) {
      if (state === 'FAILED') {
        return Promise.reject(failedPrecondition(`the replicator failed: ${error}`));
      }
      if (loaded && position.sequence >= sequence) return Promise.resolve(position.sequence);
      return waiters.wait(
        sequence,
        timeoutMs,
        () => `applied: ${position.sequence}, state: ${state}`,
        signal,
      );
    },
  };
}
