import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StompClient, StompClientOptions, StompMessage } from '@crdr/stomp';
import type { BrokerAdminClient } from './two-regions.js';

// A mixed client load on a primary broker, touching every kind of replicated change: persistent
// sends (with priorities and headers), client acks, committed and aborted transactions (sends
// and acks), NACKs (each a move to ActiveMQ.DLQ, as ActiveMQ 5.17 does), expiries (to the DLQ),
// durable topic subscriptions (connected, away, coming and going, added and removed), admin
// changes (destinations created, purged and deleted, users created), and non-persistent
// messages, which must not be replicated.

/** Bytes of a body the broker's outbox stores without it (from 256 bytes in one event). */
const largeBody = 400;

export type LoadKind = 'queues' | 'transactions' | 'nacks' | 'expiries' | 'durables' | 'admin';

export const allLoadKinds: readonly LoadKind[] = [
  'queues',
  'transactions',
  'nacks',
  'expiries',
  'durables',
  'admin',
];

export interface ReplicationLoadOptions {
  /** Connects a STOMP client to the primary. */
  readonly connect: (options?: Partial<StompClientOptions>) => Promise<StompClient>;
  readonly admin: BrokerAdminClient;
  /** Prefix of destination names and client ids, e.g. `e2e`. */
  readonly prefix: string;
  readonly kinds?: readonly LoadKind[];
  /** Producer connections on the queues. Default 2. */
  readonly producers?: number;
  /** Receipted sends in flight per producer. Default 3. */
  readonly sendsInFlight?: number;
  /** A pause after each send, per sender, to keep the machine breathing. Default 2 ms. */
  readonly sendPauseMs?: number;
}

export interface LoadFigures {
  sent: number;
  nonPersistent: number;
  acked: number;
  committed: number;
  aborted: number;
  transactionalAcks: number;
  nacked: number;
  poisonSent: number;
  expiringSent: number;
  topicSent: number;
  durableAcked: number;
  durablesAdded: number;
  durablesRemoved: number;
  adminChanges: number;
  /** Failures while the load ran (not the ones its stop causes). */
  readonly errors: string[];
  /** Connections whose DISCONNECT got no receipt within 3 s at the stop, by owner. */
  readonly slowDisconnects: string[];
}

export interface ReplicationLoad {
  readonly figures: LoadFigures;
  /** Stops every worker and closes every connection; resolves with the figures. */
  stop(): Promise<LoadFigures>;
}

/** Starts the load; it runs until `stop()`. */
export function startReplicationLoad(options: ReplicationLoadOptions): ReplicationLoad {
  const kinds = new Set(options.kinds ?? allLoadKinds);
  const p = options.prefix;
  const pauseMs = options.sendPauseMs ?? 2;
  const figures: LoadFigures = {
    sent: 0,
    nonPersistent: 0,
    acked: 0,
    committed: 0,
    aborted: 0,
    transactionalAcks: 0,
    nacked: 0,
    poisonSent: 0,
    expiringSent: 0,
    topicSent: 0,
    durableAcked: 0,
    durablesAdded: 0,
    durablesRemoved: 0,
    adminChanges: 0,
    errors: [],
    slowDisconnects: [],
  };
  const stopper = new AbortController();
  const { signal } = stopper;
  // Every worker naps on this one signal at once.
  setMaxListeners(64, signal);
  /** Open connections, by the worker that opened them. */
  const clients = new Map<StompClient, string>();

  const open = async (
    owner: string,
    overrides: Partial<StompClientOptions> = {},
  ): Promise<StompClient> => {
    const client = await options.connect(overrides);
    clients.set(client, owner);
    void client.closed.then(() => clients.delete(client));
    return client;
  };
  const nap = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);

  /** Runs `body` until the load stops; an error while running is recorded, then it goes on. */
  const worker = async (name: string, body: () => Promise<void>): Promise<void> => {
    while (!signal.aborted) {
      try {
        await body();
      } catch (error) {
        if (signal.aborted) return;
        figures.errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
        await nap(200);
      }
    }
  };

  const workers: Array<Promise<void>> = [];

  if (kinds.has('queues')) {
    for (let producer = 0; producer < (options.producers ?? 2); producer++) {
      workers.push(
        worker(`producer ${producer}`, async () => {
          const client = await open(`producer ${producer}`);
          let n = 0;
          const sender = async (lane: number): Promise<void> => {
            while (!signal.aborted) {
              const i = n++;
              const persistent = i % 10 !== 9;
              await client.send(
                `/queue/${p}.orders.${i % 3}`,
                // Half the bodies are large enough to be left out of the outbox and read back.
                `order ${producer}-${lane}-${i}`.padEnd(i % 2 === 0 ? largeBody : 0, '.'),
                {
                  persistent,
                  priority: i % 7 === 0 ? 9 : 4,
                  'x-producer': producer,
                  'x-n': i,
                },
                { receipt: true },
              );
              if (persistent) figures.sent++;
              else figures.nonPersistent++;
              await nap(pauseMs);
            }
          };
          await Promise.all(
            Array.from({ length: options.sendsInFlight ?? 3 }, (_, lane) => sender(lane)),
          );
        }),
      );
    }
    // One consumer acks orders.0 and orders.1; orders.2 has none, so its backlog stays.
    workers.push(
      worker('consumer', async () => {
        const client = await open('consumer');
        const onMessage = (message: StompMessage): void => {
          message.ack({ receipt: false }).then(
            () => figures.acked++,
            () => undefined,
          );
        };
        for (const queue of [`/queue/${p}.orders.0`, `/queue/${p}.orders.1`]) {
          await client.subscribe(queue, onMessage, {
            ack: 'client-individual',
            'activemq.prefetchSize': 50,
          });
        }
        await untilStoppedOrClosed(client, signal);
      }),
    );
  }

  if (kinds.has('transactions')) {
    workers.push(
      worker('transactions', async () => {
        const client = await open('transactions');
        const inbox: StompMessage[] = [];
        await client.subscribe(`/queue/${p}.tx.in`, (m) => inbox.push(m), {
          ack: 'client-individual',
          'activemq.prefetchSize': 1,
        });
        let round = 0;
        while (!signal.aborted) {
          const tx = `${p}-tx-${round++}`;
          await client.send(`/queue/${p}.tx.in`, `request ${round}`, { persistent: true });
          const deadline = Date.now() + 2_000;
          while (inbox.length === 0 && Date.now() < deadline && !signal.aborted) await nap(5);
          await client.begin(tx);
          await client.send(`/queue/${p}.tx.out`, `reply ${round}.1`.padEnd(largeBody, '.'), {
            persistent: true,
            transaction: tx,
          });
          await client.send(`/queue/${p}.tx.out`, `reply ${round}.2`, {
            persistent: true,
            transaction: tx,
          });
          const request = inbox.shift();
          if (request !== undefined) {
            await request.ack({ transaction: tx });
            figures.transactionalAcks++;
          }
          if (round % 3 === 0) {
            await client.abort(tx);
            figures.aborted++;
            // As in ActiveMQ, the abort leaves the request delivered and unacknowledged (with a
            // prefetch of 1 nothing more comes): it is acknowledged again, outside a transaction.
            if (request !== undefined) await request.ack();
          } else {
            await client.commit(tx);
            figures.committed++;
          }
          await nap(10);
        }
      }),
    );
  }

  if (kinds.has('nacks')) {
    workers.push(
      worker('nacks', async () => {
        const client = await open('nacks');
        await client.subscribe(
          `/queue/${p}.poison`,
          (m) => {
            m.nack({ receipt: false }).then(
              () => figures.nacked++,
              () => undefined,
            );
          },
          { ack: 'client-individual', 'activemq.prefetchSize': 10 },
        );
        while (!signal.aborted) {
          await client.send(
            `/queue/${p}.poison`,
            `poison ${figures.poisonSent}`.padEnd(largeBody, '.'),
            {
              persistent: true,
              'x-kind': 'poison',
            },
          );
          figures.poisonSent++;
          await nap(100);
        }
      }),
    );
  }

  if (kinds.has('expiries')) {
    workers.push(
      worker('expiries', async () => {
        const client = await open('expiries');
        while (!signal.aborted) {
          const expires = Date.now() + 300;
          await client.send(
            `/queue/${p}.expiring`,
            `short-lived ${figures.expiringSent}`.padEnd(largeBody, '.'),
            {
              persistent: true,
              expires,
            },
          );
          if (kinds.has('durables')) {
            await client.send(`/topic/${p}.events`, `short-lived event`, {
              persistent: true,
              expires,
            });
          }
          figures.expiringSent++;
          await nap(50);
        }
      }),
    );
  }

  if (kinds.has('durables')) {
    const topic = `/topic/${p}.events`;
    const durable = async (
      clientId: string,
      name: string,
      ack: boolean,
    ): Promise<{ client: StompClient; id: string }> => {
      const client = await open(`durable ${name}`, { clientId });
      const id = await client.subscribe(
        topic,
        (m) => {
          if (!ack) return;
          m.ack({ receipt: false }).then(
            () => figures.durableAcked++,
            () => undefined,
          );
        },
        { ack: 'client-individual', 'activemq.subscriptionName': name },
      );
      return { client, id };
    };
    workers.push(
      worker('topic producer', async () => {
        const client = await open('topic producer');
        while (!signal.aborted) {
          await client.send(topic, `event ${figures.topicSent}`, {
            persistent: true,
            'x-kind': 'event',
          });
          figures.topicSent++;
          await nap(20);
        }
      }),
      // Connected all along, acking.
      worker('durable live', async () => {
        const { client } = await durable(`${p}-live`, 'live', true);
        await untilStoppedOrClosed(client, signal);
      }),
      // Subscribed once, then away: its messages pile up.
      (async () => {
        const { client } = await durable(`${p}-away`, 'away', false);
        await client.disconnect();
      })().catch((error: unknown) => {
        figures.errors.push(`durable away: ${String(error)}`);
      }),
      // Comes and goes: a second connected, a second away.
      worker('durable flaky', async () => {
        const { client } = await durable(`${p}-flaky`, 'flaky', true);
        await nap(1_000);
        await client.disconnect();
        await nap(1_000);
      }),
      // A new durable subscription now and then, the previous one removed.
      worker('durable churn', async () => {
        let generation = 0;
        let previous: string | undefined;
        while (!signal.aborted) {
          const name = `churn-${generation++}`;
          const { client } = await durable(`${p}-churn`, name, false);
          figures.durablesAdded++;
          if (previous !== undefined) {
            await client.unsubscribe(previous, { 'activemq.subscriptionName': previous });
            figures.durablesRemoved++;
          }
          previous = name;
          await client.disconnect();
          await nap(2_500);
        }
      }),
    );
  }

  if (kinds.has('admin')) {
    workers.push(
      worker('admin', async () => {
        let round = 0;
        while (!signal.aborted) {
          const name = `${p}.admin.${round}`;
          await options.admin.createDestination({ type: 'QUEUE', name });
          const client = await open('admin');
          for (let i = 0; i < 5; i++)
            await client.send(`/queue/${name}`, `admin ${i}`, { persistent: true });
          await client.disconnect();
          await options.admin.purgeDestination({ type: 'QUEUE', name });
          if (round % 2 === 1) await options.admin.deleteDestination({ type: 'QUEUE', name });
          await options.admin.createUser({
            username: `${p}-user-${round}`,
            password: `app-password-${round}`,
            groups: ['apps'],
            consoleAccess: false,
            replicationUser: false,
          });
          figures.adminChanges += round % 2 === 1 ? 4 : 3;
          round++;
          await nap(1_500);
        }
      }),
    );
  }

  return {
    figures,
    async stop() {
      stopper.abort();
      await Promise.all(
        [...clients].map(async ([client, owner]) => {
          const disconnected = await Promise.race([
            client.disconnect().then(() => true),
            sleep(3_000).then(() => false),
          ]).catch(() => true);
          if (!disconnected) figures.slowDisconnects.push(owner);
        }),
      );
      for (const client of clients.keys()) client.destroy();
      await Promise.all(workers);
      return figures;
    },
  };
}

/** Waits until the load stops or the connection drops (then the worker reconnects). */
async function untilStoppedOrClosed(client: StompClient, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await Promise.race([
    client.closed.then(() => {
      if (!signal.aborted) throw new Error('connection closed');
    }),
    new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    ),
  ]);
}
