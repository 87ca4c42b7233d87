import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeInStreamOrder, partsStillToCome, type Delivery } from './event-assembly.js';
import type { JetStreamPuller, PulledMessage } from './jetstream-puller.js';

export type { Delivery, EventFragment } from './event-assembly.js';
export { decodeInStreamOrder } from './event-assembly.js';

/** Bytes one batch gathers before it stops asking for more (it still completes an event). */
const batchMaxBytes = 32 * 1024 * 1024;

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
  let bytes = 0;
  let largest = 0;
  const count = (messages: readonly PulledMessage[]): void => {
    for (const m of messages) {
      bytes += m.data.length;
      if (m.data.length > largest) largest = m.data.length;
    }
  };
  count(gathered);
  try {
    while (gathered.length < options.batchMaxEvents && bytes < batchMaxBytes && !signal.aborted) {
      // Large messages (the parts of large events) are asked for a few at a time.
      const fit =
        largest === 0 ? Infinity : Math.max(1, Math.floor((batchMaxBytes - bytes) / largest));
      const more = await puller.pull({
        batch: Math.min(options.batchMaxEvents - gathered.length, fit),
        noWait: true,
        signal,
      });
      gathered.push(...more.messages);
      count(more.messages);
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
  try {
    await completeLastEvent(puller, gathered, options, signal);
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
 * A batch that ends within an event's parts asks for the rest of them, whatever the batch's
 * limits: an event is applied whole or not at all. While it waits for them, the parts it holds
 * are kept from redelivery. When the rest does not come (a relay that stopped halfway and has
 * not published the event again yet), the batch ends with a fragment, which the plan hands back.
 */
async function completeLastEvent(
  puller: JetStreamPuller,
  gathered: PulledMessage[],
  options: BatchReaderOptions,
  signal: AbortSignal,
): Promise<void> {
  let progressAtMs = performance.now();
  for (;;) {
    gathered.sort((a, b) =>
      a.info.streamSequence < b.info.streamSequence
        ? -1
        : a.info.streamSequence > b.info.streamSequence
          ? 1
          : 0,
    );
    const missing = partsStillToCome(gathered);
    if (missing === 0 || signal.aborted) return;
    if (performance.now() - progressAtMs > 1000) {
      puller.working(gathered);
      progressAtMs = performance.now();
    }
    let more = await puller.pull({ batch: Math.min(missing, 256), noWait: true, signal });
    if (more.messages.length === 0 && more.end !== 'aborted') {
      more = await puller.pull({ batch: 1, expiresMs: options.idleWaitMs, signal });
      if (more.messages.length === 0) return;
    }
    gathered.push(...more.messages);
  }
}
