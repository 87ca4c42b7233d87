import { badRequest, conflict, hasErrorCode, notFound } from '@crdr/errors';
import type { controlPlaneV1 } from '@crdr/proto';
import type { EventStore } from '../adapters/pg/event-store.js';
import {
  asBrokerId,
  type BrokerAggregate,
  type DivergentTailRecord,
} from '../domain/broker.types.js';
import { handleWithRetry, type OperationsContext } from './context.js';
import { onAnyInstance } from './promotion-brokers.js';

/**
 * The divergent tail of an old primary after a failover (docs/architecture.md, "Beyond the anchors"):
 * the events it committed past the failover point F. They are copied into this Region's
 * control-plane store when the saga records them, before the old primary is resynced from the
 * new one, so that listing and republishing do not depend on the old primary's store any more.
 * Republishing remembers each message sent, so a retried or resumed republish sends none twice.
 */

export interface CapturedEvent {
  readonly sequence: bigint;
  readonly eventType: string;
  readonly destinations: readonly string[];
  readonly messageIds: readonly string[];
  readonly createdAtMs: number;
}

export interface CapturedMessage {
  readonly sequence: bigint;
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Base64. */
  readonly body: string;
  readonly priority: number;
  readonly expiresAtMs: number;
}

export type TailEvent =
  | {
      readonly type: 'TailCaptured';
      readonly promotionId?: string;
      readonly generation: bigint;
      readonly failoverSequence: bigint;
      readonly events: readonly CapturedEvent[];
      readonly messages: readonly CapturedMessage[];
      readonly at: string;
    }
  | {
      readonly type: 'MessagesRepublished';
      readonly messageIds: readonly string[];
      readonly at: string;
    };

interface TailState {
  readonly version: number;
  readonly captured: Extract<TailEvent, { type: 'TailCaptured' }> | undefined;
  readonly republished: ReadonlySet<string>;
}

const streamId = (brokerId: string): string => `divergent-${brokerId}`;

export function toTailSummary(
  tail: DivergentTailRecord | undefined,
): controlPlaneV1.DivergentTailSummary | undefined {
  if (tail === undefined) return undefined;
  return {
    eventCount: tail.eventCount,
    firstSequence: tail.firstSequence.toString(),
    lastSequence: tail.lastSequence.toString(),
    destinations: [...tail.destinations],
    state: tail.state,
    failoverSequence: tail.failoverSequence.toString(),
  };
}

export function createDivergentTails(context: OperationsContext, store: EventStore<TailEvent>) {
  async function load(brokerId: string): Promise<TailState> {
    const { version, events } = await store.readStream(streamId(brokerId));
    let captured: TailState['captured'];
    const republished = new Set<string>();
    for (const event of events) {
      if (event.type === 'TailCaptured') {
        captured = event;
        republished.clear();
      } else for (const id of event.messageIds) republished.add(id);
    }
    return { version, captured, republished };
  }

  async function existing(brokerId: string): Promise<BrokerAggregate> {
    const broker = await context.repository.load(asBrokerId(brokerId));
    if (!broker.exists || broker.state === 'DELETED') {
      throw notFound(
        `broker ${brokerId} does not exist in ${context.config.CONTROL_PLANE_REGION}`,
        { details: { field: 'broker_id' } },
      );
    }
    return broker;
  }

  async function withTail(brokerId: string) {
    const broker = await existing(brokerId);
    const tail = broker.divergentTail;
    const state = await load(brokerId);
    if (tail === undefined || state.captured === undefined) {
      throw notFound(
        `broker ${brokerId} has no divergent tail (it is kept only for a primary whose replica ` +
          'failed over while it held events past the failover point)',
        { details: { field: 'broker_id' } },
      );
    }
    return { broker, tail, state, captured: state.captured };
  }

  /** Reads the tail past F from the old primary (every page) and keeps it; idempotent per F. */
  async function capture(
    brokerId: string,
    generation: bigint,
    failoverSequence: bigint,
    promotionId: string,
  ): Promise<DivergentTailRecord | undefined> {
    const broker = await existing(brokerId);
    const role = await onAnyInstance(broker, (a) => a.getRole({}));
    const current = BigInt(role.logGeneration);
    if (current === 0n) return undefined;
    if (generation === 0n) {
      // A replica that applied events before it learnt their log generation records 0: the
      // failover point is then in the old primary's current log.
      generation = current;
    } else if (generation !== current) {
      // The replica never applied anything of the old primary's current log (it started after
      // the failover point): all of that log is the tail.
      generation = current;
      failoverSequence = 0n;
    }
    const known = broker.divergentTail;
    const same = (c: {
      promotionId?: string | undefined;
      generation: bigint;
      failoverSequence: bigint;
    }) =>
      c.promotionId === promotionId &&
      c.generation === generation &&
      c.failoverSequence === failoverSequence;
    if (known !== undefined && same(known)) return known;
    let state = await load(brokerId);
    if (state.captured === undefined || !same(state.captured)) {
      const events: CapturedEvent[] = [];
      const messages: CapturedMessage[] = [];
      try {
        let after = failoverSequence;
        for (;;) {
          const page = await onAnyInstance(broker, (a) =>
            a.listLogEvents({
              generation: generation.toString(),
              afterSequence: after.toString(),
              maxEvents: 1000,
            }),
          );
          for (const e of page.events) {
            events.push({
              sequence: BigInt(e.sequence),
              eventType: e.type,
              destinations: [...e.destinations],
              messageIds: [...e.messageIds],
              createdAtMs: Number(e.createdAtMs),
            });
          }
          const last = page.events.at(-1);
          if (!page.more || last === undefined) break;
          after = BigInt(last.sequence);
        }
        let nextToken = '';
        for (;;) {
          const page = await onAnyInstance(broker, (a) =>
            a.listDivergentMessages({
              generation: generation.toString(),
              afterSequence: failoverSequence.toString(),
              maxMessages: 1000,
              nextToken,
            }),
          );
          for (const m of page.messages) {
            messages.push({
              sequence: BigInt(m.sequence),
              messageId: m.messageId,
              destination: m.destination,
              headers: { ...m.headers },
              body: Buffer.from(m.body).toString('base64'),
              priority: m.priority,
              expiresAtMs: Number(m.expiresAtMs),
            });
          }
          if (page.nextToken === '') break;
          nextToken = page.nextToken;
        }
      } catch (error) {
        // Its log is another generation: nothing of it continues the log the replica applied.
        if (!hasErrorCode(error, 'FailedPrecondition')) throw error;
        context.log.warn({ err: error, brokerId }, 'no divergent tail: another log generation');
      }
      await store.append(streamId(brokerId), state.version, [
        {
          type: 'TailCaptured',
          promotionId,
          generation,
          failoverSequence,
          events,
          messages,
          at: context.now(),
        },
      ]);
      state = await load(brokerId);
    }
    const captured = state.captured!;
    if (captured.events.length === 0) return undefined;
    const destinations = [...new Set(captured.events.flatMap((e) => e.destinations))].sort();
    const tail: DivergentTailRecord = {
      eventCount: captured.events.length,
      firstSequence: captured.events[0]!.sequence,
      lastSequence: captured.events.at(-1)!.sequence,
      destinations,
      state: 'PENDING',
      generation,
      failoverSequence,
      republishedMessages: 0,
      promotionId,
    };
    await handleWithRetry(context, asBrokerId(brokerId), {
      type: 'RecordDivergentTail',
      tail,
      at: context.now(),
    });
    return tail;
  }

  return {
    capture,

    async list(
      request: controlPlaneV1.ListDivergentEventsRequest__Output,
    ): Promise<controlPlaneV1.ListDivergentEventsResponse> {
      const { tail, captured } = await withTail(request.brokerId);
      const size = request.maxResults === 0 ? 100 : request.maxResults;
      if (size > 1000) {
        throw badRequest(`invalid max_results: ${request.maxResults} must be 1-1000`, {
          details: { field: 'max_results' },
        });
      }
      const start = request.nextToken === '' ? 0 : Number(request.nextToken);
      if (!Number.isInteger(start) || start < 0) {
        throw badRequest(
          `invalid next_token: "${request.nextToken}" was not returned by this API`,
          {
            details: { field: 'next_token' },
          },
        );
      }
      const slice = captured.events.slice(start, start + size);
      return {
        summary: toTailSummary(tail)!,
        events: slice.map((e) => ({
          sequence: e.sequence.toString(),
          eventType: e.eventType,
          destination: e.destinations.join(','),
          messageId: e.messageIds.join(','),
          createdAt: new Date(e.createdAtMs).toISOString(),
        })),
        nextToken: start + size < captured.events.length ? String(start + size) : '',
      };
    },

    async resolve(
      request: controlPlaneV1.ResolveDivergentTailRequest__Output,
    ): Promise<controlPlaneV1.ResolveDivergentTailResponse> {
      const action = request.action;
      if (action !== 'REPUBLISH' && action !== 'DISCARD') {
        throw badRequest(`invalid action: "${action}" must be REPUBLISH or DISCARD`, {
          details: { field: 'action' },
        });
      }
      const { broker, tail, captured } = await withTail(request.brokerId);
      if (action === 'DISCARD') {
        const after = await handleWithRetry(context, broker.brokerId, {
          type: 'ResolveDivergentTail',
          state: 'DISCARDED',
          republishedMessages: 0,
          at: context.now(),
        });
        return { summary: toTailSummary(after.divergentTail)!, republishedMessages: 0 };
      }
      if (tail.state === 'DISCARDED') {
        throw conflict(`the divergent tail of broker ${broker.brokerId} was discarded`, {
          details: { state: tail.state },
        });
      }
      const primary = broker.counterpart;
      if (broker.role !== 'REPLICA' || primary === undefined) {
        throw conflict(
          `broker ${broker.brokerId} is not the replica of a new primary yet: its tail can be ` +
            'republished once the failover fenced it',
          { details: { state: broker.role ?? 'UNPAIRED' } },
        );
      }
      const peer = context.peer(primary.region, 'broker_id');
      for (;;) {
        const state = await load(broker.brokerId);
        const batch = captured.messages
          .filter((m) => !state.republished.has(m.messageId))
          .slice(0, 50);
        if (batch.length === 0) break;
        await peer.republishMessages({
          brokerId: primary.brokerId,
          messages: batch.map((m) => ({
            messageId: m.messageId,
            destination: m.destination,
            headers: { ...m.headers },
            body: Buffer.from(m.body, 'base64'),
            priority: m.priority,
            expiresAtMs: String(m.expiresAtMs),
          })),
        });
        await store.append(streamId(broker.brokerId), state.version, [
          {
            type: 'MessagesRepublished',
            messageIds: batch.map((m) => m.messageId),
            at: context.now(),
          },
        ]);
      }
      const republished = (await load(broker.brokerId)).republished.size;
      const after = await handleWithRetry(context, broker.brokerId, {
        type: 'ResolveDivergentTail',
        state: 'REPUBLISHED',
        republishedMessages: republished,
        at: context.now(),
      });
      return {
        summary: toTailSummary(after.divergentTail)!,
        republishedMessages: republished,
      };
    },
  };
}
