import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStomp, type StompClient } from '@crdr/stomp';
import { hostPort, waitFor } from '@crdr/testing';
import {
  PROCESS_MS,
  appUser,
  connectFailover,
  createPair,
  healthyPrimary,
  healthyReplica,
  replicating,
  startFaultStack,
  stompEndpoints,
  type Described,
  type FaultStack,
  type Pair,
} from '../support/fault-stack.js';
import { activeInstanceKill } from '../support/stack-faults.js';
import { stackCli } from '../support/stack-cli.js';

/*
 * Issue 13, "clients can always find the serving broker", with the two kinds of client users
 * run, on the stack users run (`pnpm stack up` launcher, pair made through the public API):
 *  - a failover-list client: every STOMP endpoint of both instances of both brokers of the
 *    pair, tried in turn until one accepts (ActiveMQ's `failover:(...)` URI);
 *  - a kept-endpoints client: the endpoints describe-broker listed for the primary before the
 *    fault, and only those.
 * Each keeps producing persistent messages with receipts through the fault and reconnects with
 * no operator action; afterwards every receipted message is consumed exactly once (a message
 * whose receipt never came may be there or not). Reconnect times are printed, not asserted.
 */

const CASE_MS = 900_000;
const MESSAGES_AFTER = 10;
let stack: FaultStack;
let pair: Pair;
/** Every STOMP endpoint of the pair: the failover list. */
let failoverList: string[];

interface Outage {
  readonly ms: number;
  /** The endpoint that took the client back. */
  readonly endpoint: string;
}

/** A producer with receipts through an endpoint list; reconnects on any error. */
interface ReconnectingProducer {
  readonly label: string;
  readonly outages: readonly Outage[];
  /** Receipted SENDs since the last reconnect. */
  readonly receiptedSinceReconnect: number;
  /** The last refusal or error, for the failure message. */
  readonly lastError: string;
  stop(): Promise<{ receipted: Set<string>; attempted: Set<string> }>;
}

async function connectFirst(endpoints: readonly string[]): Promise<[StompClient, string]> {
  const errors: string[] = [];
  for (const endpoint of endpoints) {
    try {
      const client = await connectStomp({
        ...hostPort(endpoint),
        login: appUser.username,
        passcode: appUser.password,
        connectTimeoutMs: 5_000,
      });
      return [client, endpoint];
    } catch (error) {
      errors.push(`${endpoint}: ${String(error)}`);
    }
  }
  throw new Error(`no endpoint accepted: ${errors.join('; ')}`);
}

function startProducer(
  label: string,
  endpoints: readonly string[],
  queue: string,
): ReconnectingProducer {
  const receipted = new Set<string>();
  const attempted = new Set<string>();
  const outages: Outage[] = [];
  let sinceReconnect = 0;
  let lastError = '';
  let stopping = false;
  let seq = 0;
  const loop = (async () => {
    let stomp: StompClient | undefined;
    let downSince: number | undefined;
    let endpoint = '';
    while (!stopping) {
      try {
        if (stomp === undefined) [stomp, endpoint] = await connectFirst(endpoints);
        const body = `${label}-${seq++}`;
        attempted.add(body);
        const sent = stomp.send(queue, body, { persistent: 'true' }, { receipt: true });
        // A SEND held by a broker that went away gets no receipt: give up on it, reconnect.
        const timeout = sleep(15_000).then(() => {
          throw new Error('no receipt within 15 s');
        });
        await Promise.race([sent, timeout]);
        receipted.add(body);
        if (downSince !== undefined) {
          outages.push({ ms: Date.now() - downSince, endpoint });
          downSince = undefined;
          sinceReconnect = 0;
        }
        sinceReconnect += 1;
        await sleep(50);
      } catch (error) {
        lastError = String(error);
        downSince ??= Date.now();
        stomp?.destroy();
        stomp = undefined;
        await sleep(250);
      }
    }
    await stomp?.disconnect().catch(() => stomp?.destroy());
  })();
  return {
    label,
    outages,
    get receiptedSinceReconnect() {
      return sinceReconnect;
    },
    get lastError() {
      return lastError;
    },
    async stop() {
      stopping = true;
      await loop;
      return { receipted, attempted };
    },
  };
}

/**
 * Reads `queue` on the serving primary until every receipted message came and nothing more
 * arrives for 2 s; then each receipted message must have come exactly once, and nothing that
 * was never sent.
 */
async function expectConsumedOnce(
  queue: string,
  sent: { receipted: Set<string>; attempted: Set<string> },
): Promise<void> {
  const counts = new Map<string, number>();
  let consumer: StompClient | undefined;
  await waitFor(
    async () => {
      try {
        consumer = await connectFailover(failoverList);
        return true;
      } catch {
        return false;
      }
    },
    'a consumer connected to the serving primary',
    PROCESS_MS,
    500,
  );
  let lastAt = Date.now();
  await consumer!.subscribe(queue, (m) => {
    const body = m.body.toString();
    counts.set(body, (counts.get(body) ?? 0) + 1);
    lastAt = Date.now();
  });
  try {
    const missing = () => [...sent.receipted].filter((b) => !counts.has(b));
    await waitFor(
      () => missing().length === 0 && Date.now() - lastAt >= 2_000,
      `all ${sent.receipted.size} receipted messages of ${queue} consumed`,
      PROCESS_MS,
      200,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; missing: ${missing().slice(0, 20).join()}`, {
        cause: error,
      });
    });
  } finally {
    await consumer!.disconnect().catch(() => consumer!.destroy());
  }
  const duplicated = [...sent.receipted].filter((b) => counts.get(b) !== 1);
  expect(duplicated, 'receipted messages consumed more than once').toEqual([]);
  const unknown = [...counts.keys()].filter((b) => !sent.attempted.has(b));
  expect(unknown, 'messages never sent').toEqual([]);
}

/**
 * Runs both clients through `fault`: each must lose its connection, come back by itself and get
 * MESSAGES_AFTER more receipts; then each queue is read back on the primary.
 */
async function throughFault(
  name: string,
  fault: () => Promise<void>,
  /** The kept-endpoints client's list; undefined runs the failover-list client alone. */
  kept: readonly string[] | undefined,
  settled: () => Promise<unknown>,
): Promise<void> {
  const clients = [
    { producer: startProducer(`failover-${name}`, failoverList, `/queue/failover-${name}`) },
    ...(kept === undefined
      ? []
      : [{ producer: startProducer(`kept-${name}`, kept, `/queue/kept-${name}`) }]),
  ];
  const results: { receipted: Set<string>; attempted: Set<string> }[] = [];
  let failures: string[] = [];
  try {
    for (const { producer } of clients) {
      await waitFor(
        () => producer.receiptedSinceReconnect >= MESSAGES_AFTER,
        `${producer.label}: first receipts (${producer.lastError})`,
        PROCESS_MS,
        100,
      );
    }
    const startedAt = Date.now();
    await fault();
    console.log(`${name}: fault injected in ${Date.now() - startedAt} ms`);
    // Both clients are awaited together, so one that never comes back does not hide the other.
    const back = await Promise.allSettled(
      clients.map(({ producer }) =>
        waitFor(
          () => producer.outages.length >= 1 && producer.receiptedSinceReconnect >= MESSAGES_AFTER,
          `${producer.label}: reconnected with no operator action and ${MESSAGES_AFTER} receipts since`,
          PROCESS_MS,
          100,
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; last error: ${producer.lastError}`);
        }),
      ),
    );
    failures = back.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    await settled();
  } finally {
    for (const { producer } of clients) results.push(await producer.stop());
  }
  for (const [i, { producer }] of clients.entries()) {
    console.log(
      `${name}: ${producer.label} reconnects: ${producer.outages
        .map((o) => `${o.ms} ms (to ${o.endpoint})`)
        .join(
          ', ',
        )}; ${results[i]!.receipted.size} receipted of ${results[i]!.attempted.size} sent`,
    );
    await expectConsumedOnce(`/queue/${producer.label}`, results[i]!);
  }
  expect(failures, 'clients that did not come back').toEqual([]);
}

const primaryServing = () =>
  stack.waitForBroker(
    'region-a',
    pair.primaryId,
    (b) => healthyPrimary(b) && replicating(b),
    'RUNNING, REPLICATING, one ACTIVE and one STANDBY instance',
  );

/** The demoted broker is a replica that replicates again. */
const settledAfterSwitchover = (demotedId: string, region: 'region-a' | 'region-b') =>
  stack.waitForBroker(
    region,
    demotedId,
    (b) => healthyReplica(b) && replicating(b),
    'the old primary a REPLICATING replica',
  );

async function primaryEndpoints(): Promise<string[]> {
  return stompEndpoints(await stack.describe('region-a', pair.primaryId));
}

beforeAll(async () => {
  stack = await startFaultStack();
  pair = await createPair(stack, 'reconnect');
  const b: Described = await stack.describe('region-b', pair.replicaId);
  failoverList = [...(await primaryEndpoints()), ...stompEndpoints(b)];
}, CASE_MS);

afterAll(async () => {
  await stack?.stop();
}, 300_000);

describe('failover-list and kept-endpoints clients come back by themselves after each fault', () => {
  it(
    'kill -9 of the active instance of the primary',
    async () => {
      const kept = await primaryEndpoints();
      await throughFault(
        'kill',
        () => activeInstanceKill.inject(stack, pair, () => undefined),
        kept,
        primaryServing,
      );
    },
    CASE_MS,
  );

  it(
    'reboot-broker of the primary',
    async () => {
      const kept = await primaryEndpoints();
      await throughFault(
        'reboot',
        async () => {
          await stack.client('region-a').rebootBroker({ brokerId: pair.primaryId });
        },
        kept,
        primaryServing,
      );
    },
    CASE_MS,
  );

  it(
    'the primary Region down and up',
    async () => {
      const kept = await primaryEndpoints();
      await throughFault(
        'region',
        async () => {
          const down = await stackCli(['down', '--region', 'region-a'], stack.env);
          if (down.code !== 0) throw new Error(`stack down --region region-a: ${down.stderr}`);
          stack.resetClient('region-a');
          await sleep(5_000);
          const up = await stackCli(['up', '--region', 'region-a'], stack.env);
          if (up.code !== 0) throw new Error(`stack up --region region-a: ${up.stderr}`);
        },
        kept,
        primaryServing,
      );
    },
    CASE_MS,
  );

  it(
    'a switchover to the replica: the failover-list client reaches the new primary',
    async () => {
      await throughFault(
        'switchover',
        async () => {
          await stack.client('region-b').promote({ brokerId: pair.replicaId, mode: 'SWITCHOVER' });
        },
        undefined,
        () => settledAfterSwitchover(pair.primaryId, 'region-a'),
      );
    },
    CASE_MS,
  );

  /*
   * Not met yet (issue 13, "a client that keeps the endpoints it read before a switchover
   * reaches the new primary at them"): the demoted primary's active instance still listens on
   * its endpoints but refuses CONNECT with an ERROR ("broker ... is a replica and does not accept
   * client connections; connect to the primary: broker ... in region ..."), and its standby does
   * not listen, so a client that keeps the old primary's endpoints never gets a receipt again.
   * Serving the new primary at the old endpoints needs the demoted broker to forward clients
   * across Regions (or endpoints that move with the primary role): a product change, not a test
   * one. This case switches back (the replica in region-a is promoted again), with the
   * kept-endpoints client on the endpoints of region-b's broker, the primary before it.
   */
  it.skip(
    'a switchover back: the kept-endpoints client reaches the new primary at the old endpoints',
    async () => {
      const kept = stompEndpoints(await stack.describe('region-b', pair.replicaId));
      await throughFault(
        'switchback',
        async () => {
          await stack.client('region-a').promote({ brokerId: pair.primaryId, mode: 'SWITCHOVER' });
        },
        kept,
        () => settledAfterSwitchover(pair.replicaId, 'region-b'),
      );
    },
    CASE_MS,
  );
});
