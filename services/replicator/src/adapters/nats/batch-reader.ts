import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEvent, type DecodedEvent } from '@crdr/replication';
import type { JetStreamPuller, PulledMessage } from './jetstream-puller.js';

/** A delivered message and what it decodes to (or why it does not). */
export type Delivery =
  | {
      readonly message: PulledMessage;
      readonly event: DecodedEvent;
      readonly decodeError?: undefined;
    }
  | { readonly message: PulledMessage; readonly event?: undefined; readonly decodeError: unknown };

export interface BatchReaderOptions {
  /** Events per batch at most. */
  readonly batchMaxEvents: number;
  /** How long a batch waits for more events once it has one. */
  readonly batchMaxWaitMs: number;
  /** How long one pull waits for a first event while the log is idle. */
  readonly idleWaitMs: number;
  /** How often a batch still filling asks for more. Default 5 ms. */
  readonly pollIntervalMs?: number;
}

export interface ReadOptions {
  /** Wait up to `idleWaitMs` for a first event (the log was idle), else take what is there. */
  readonly waitForFirst: boolean;
  /** Stops the read; what it received goes back to JetStream (NAK). */
  readonly signal: AbortSignal;
  /** Ends only the wait for a first event (pause), not a batch already filling. */
  readonly interruptWait?: AbortSignal;
}

/**
 * Reads one batch: up to `batchMaxEvents` events, gathered for at most `batchMaxWaitMs` after
 * the first one, in stream order, decoded. While the log is idle the first event is awaited
 * with a one-message pull; the rest come from no-wait pulls, which nats-server always ends (see
 * `PullRequest`). An empty batch means the log had nothing.
 */
export async function readBatch(
  puller: JetStreamPuller,
  options: BatchReaderOptions,
  read: ReadOptions,
): Promise<Delivery[]> {
  const { signal } = read;
  const pollIntervalMs = options.pollIntervalMs ?? 5;
  const gathered: PulledMessage[] = [];
  if (read.waitForFirst) {
    const first = await puller.pull({
      batch: 1,
      expiresMs: options.idleWaitMs,
      signal:
        read.interruptWait === undefined ? signal : AbortSignal.any([signal, read.interruptWait]),
    });
    if (first.end === 'aborted' || first.messages.length === 0) return [];
    gathered.push(...first.messages);
  }
  let deadline = gathered.length > 0 ? performance.now() + options.batchMaxWaitMs : undefined;
  try {
    while (gathered.length < options.batchMaxEvents && !signal.aborted) {
      const more = await puller.pull({
        batch: options.batchMaxEvents - gathered.length,
        noWait: true,
        signal,
      });
      gathered.push(...more.messages);
      if (gathered.length === 0) return [];
      deadline ??= performance.now() + options.batchMaxWaitMs;
      const leftMs = deadline - performance.now();
      if (gathered.length >= options.batchMaxEvents || leftMs <= 0) break;
      await sleep(Math.min(pollIntervalMs, leftMs));
    }
  } catch (pullError) {
    puller.nak(gathered);
    throw pullError;
  }
  if (signal.aborted) {
    puller.nak(gathered);
    return [];
  }
  return decodeInStreamOrder(gathered);
}

/**
 * First deliveries come in stream order, but redeliveries (after an ack wait or a NAK) come in
 * the order JetStream queued them: stream order is the log's order.
 */
export function decodeInStreamOrder(messages: readonly PulledMessage[]): Delivery[] {
  return [...messages]
    .sort((a, b) =>
      a.info.streamSequence < b.info.streamSequence
        ? -1
        : a.info.streamSequence > b.info.streamSequence
          ? 1
          : 0,
    )
    .map((message) => {
      try {
        return { message, event: decodeEvent(message.data) };
      } catch (decodeError) {
        return { message, decodeError };
      }
    });
}
