import { setTimeout as sleep } from 'node:timers/promises';
import { connectStomp, type StompClient, type StompMessage } from '@crdr/stomp';
import { hostPort } from '@crdr/testing';

// A steady STOMP producer and consumer that follow the primary across a promotion: each
// reconnects to whichever broker accepts it (the others refuse: replica, demoting, held).
// Counted on the consumer side by message id: a message whose ACK was confirmed (receipt) and
// that is delivered again is a duplicate; a message the producer got a receipt for and that
// never arrives is lost. A SEND cut off before its receipt is sent again under a new message id,
// and is neither (the producer cannot know whether it landed).

export interface SteadyLoadOptions {
  readonly queue: string;
  /** The STOMP endpoints (`stomp://host:port`) to try, current first; read at each reconnect. */
  readonly endpoints: () => readonly string[];
  readonly intervalMs?: number;
  readonly credentials?: { readonly login: string; readonly passcode: string };
}

export interface SteadyLoadReport {
  /** Producer sequence numbers acknowledged by a SEND receipt. */
  readonly sentConfirmed: number;
  /** Sequence numbers confirmed by the producer and never delivered. */
  readonly lost: readonly number[];
  /** Message ids delivered again after their ACK was confirmed. */
  readonly duplicated: readonly string[];
  readonly delivered: number;
  readonly producerReconnects: number;
  readonly consumerReconnects: number;
  /** Which endpoint each (re)connection of the producer and the consumer reached, and when. */
  readonly connections: readonly string[];
  /** ERROR `message`s the clients were sent when their broker stopped serving them. */
  readonly errors: readonly string[];
}

export interface SteadyLoad {
  /** Resolves once `count` more messages have been confirmed by the producer. */
  waitForConfirmed(count: number, timeoutMs?: number): Promise<void>;
  /** Stops producing, waits until every confirmed message arrived (or the timeout), reports. */
  stop(drainTimeoutMs?: number): Promise<SteadyLoadReport>;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const credentials = options.credentials ?? { login: 'admin', passcode: 'admin' };
  const intervalMs = options.intervalMs ?? 10;
  let stopping = false;
  let consumerStopping = false;
  const confirmed = new Set<number>();
  const deliveredSeq = new Set<number>();
  const ackConfirmed = new Set<string>();
  const duplicated: string[] = [];
  const errors: string[] = [];
  let delivered = 0;
  let producerReconnects = 0;
  let consumerReconnects = 0;
  const connections: string[] = [];

  async function connectAny(who: string): Promise<StompClient> {
    for (;;) {
      for (const endpoint of options.endpoints()) {
        try {
          const client = await connectStomp({
            ...hostPort(endpoint),
            ...credentials,
            connectTimeoutMs: 2_000,
          });
          client.onError((e) => errors.push(e.headers['message'] ?? e.message));
          connections.push(`${who} ${endpoint} at ${new Date().toISOString()}`);
          return client;
        } catch {
          // Refused (replica, demoting, held) or away: try the next one.
        }
      }
      await sleep(50);
    }
  }

  const producer = (async () => {
    let seq = 0;
    let client: StompClient | undefined;
    while (!stopping) {
      if (client === undefined) {
        client = await connectAny('producer');
        producerReconnects++;
      }
      const n = ++seq;
      try {
        await client.send(options.queue, `m-${n}`, { persistent: 'true', 'app-seq': n });
        confirmed.add(n);
      } catch {
        client.destroy();
        client = undefined;
        continue;
      }
      await sleep(intervalMs);
    }
    await client?.disconnect().catch(() => client?.destroy());
  })();

  const consumer = (async () => {
    while (!consumerStopping) {
      const client = await connectAny('consumer');
      consumerReconnects++;
      const onMessage = (message: StompMessage): void => {
        const id = message.messageId;
        if (ackConfirmed.has(id)) duplicated.push(id);
        const appSeq = Number(message.headers['app-seq']);
        deliveredSeq.add(appSeq);
        delivered++;
        message.ack({ receipt: true }).then(
          () => ackConfirmed.add(id),
          () => undefined,
        );
      };
      try {
        await client.subscribe(options.queue, onMessage, {
          ack: 'client-individual',
          'activemq.prefetchSize': 50,
        });
      } catch {
        client.destroy();
        continue;
      }
      await Promise.race([client.closed, waitUntil(() => consumerStopping)]);
      if (consumerStopping) await client.disconnect().catch(() => client.destroy());
    }
  })();

  return {
    async waitForConfirmed(count, timeoutMs = 30_000) {
      const target = confirmed.size + count;
      const deadline = Date.now() + timeoutMs;
      while (confirmed.size < target) {
        if (Date.now() > deadline)
          throw new Error(`the producer confirmed ${confirmed.size} of ${target} messages`);
        await sleep(20);
      }
    },
    async stop(drainTimeoutMs = 30_000) {
      stopping = true;
      await producer;
      const deadline = Date.now() + drainTimeoutMs;
      while ([...confirmed].some((n) => !deliveredSeq.has(n)) && Date.now() < deadline) {
        await sleep(50);
      }
      // Let the last ACK receipts come back before the consumer leaves.
      await sleep(300);
      consumerStopping = true;
      await consumer;
      return {
        sentConfirmed: confirmed.size,
        lost: [...confirmed].filter((n) => !deliveredSeq.has(n)).sort((a, b) => a - b),
        duplicated,
        delivered,
        producerReconnects,
        consumerReconnects,
        errors,
        connections,
      };
    },
  };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(25);
}
