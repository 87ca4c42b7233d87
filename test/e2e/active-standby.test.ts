import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStomp, isStompServerError, type StompClient, type StompMessage } from '@crdr/stomp';
import {
  createTestDatabase,
  hostPort,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
} from '@crdr/testing';

// ACTIVE_STANDBY_MULTI_AZ (issue 2): two broker processes share one store and one broker id; a
// lease row in Postgres decides which of them serves. The steps below run in order on one pair.

const entry = 'services/broker/src/main.ts';
const brokerId = 'mq-multi-az';
const LEASE_TTL_MS = 2000; // the broker's default, given explicitly so the bounds below hold
const LEASE_RENEW_MS = 500;
// A standby does not listen for clients (issue 13: failover host lists move on at once).
const standbyPattern = /^not listening$/;

let database: TestDatabase;
const instances = new Map<string, ServiceProcess>();

const flagArgs = (flags: Record<string, string>): string[] =>
  Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]);

function startInstance(instanceId: string): Promise<ServiceProcess> {
  return startServiceProcess({
    entry,
    args: flagArgs({
      'db-url': database.url,
      'stomp-port': '0',
      'ws-port': '0',
      'grpc-port': '0',
      'broker-id': brokerId,
      'instance-id': instanceId,
    }),
    env: {
      BROKER_SCRYPT_COST: '1024',
      BROKER_LEASE_TTL_MS: String(LEASE_TTL_MS),
      BROKER_LEASE_RENEW_MS: String(LEASE_RENEW_MS),
      LOG_LEVEL: 'warn',
    },
  }).then((instance) => {
    instances.set(instanceId, instance);
    return instance;
  });
}

function connect(instance: ServiceProcess): Promise<StompClient> {
  return connectStomp({
    ...hostPort(instance.endpoints['stomp']!),
    login: 'admin',
    passcode: 'admin',
    connectTimeoutMs: 2000,
  });
}

/**
 * Connects, or returns why not: the ERROR's `message` when the instance refuses, `not
 * listening` when it does not accept the connection at all, as a standby does (issue 13).
 */
async function connectOrRefusal(instance: ServiceProcess): Promise<StompClient | string> {
  try {
    return await connect(instance);
  } catch (error) {
    if (isStompServerError(error)) return error.headers['message'] ?? '';
    if (/ECONNREFUSED/.test(String((error as Error).cause ?? error))) return 'not listening';
    throw error;
  }
}

async function expectStandby(instance: ServiceProcess, instanceId: string): Promise<void> {
  const outcome = await connectOrRefusal(instance);
  if (typeof outcome !== 'string') {
    outcome.destroy();
    throw new Error(`instance ${instanceId} accepted a client while it should be the standby`);
  }
  expect(outcome).toMatch(standbyPattern);
}

/** Polls STOMP CONNECT until the instance accepts one; returns the client and the time it took. */
async function firstAcceptedConnect(instance: ServiceProcess, sinceMs: number, timeoutMs: number) {
  for (;;) {
    const outcome = await connectOrRefusal(instance);
    if (typeof outcome !== 'string')
      return { client: outcome, tookMs: performance.now() - sinceMs };
    expect(outcome).toMatch(standbyPattern);
    if (performance.now() - sinceMs > timeoutMs)
      throw new Error(`still the standby after ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function sendReceipted(
  client: StompClient,
  queue: string,
  ids: readonly string[],
): Promise<void> {
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < ids.length) {
      await client.send(queue, ids[next++]!, { persistent: 'true' }, { receipt: true });
    }
  };
  await Promise.all(Array.from({ length: 8 }, sender));
}

/** Receives until every id in `expected` came, then a short quiet moment; counts each body. */
async function drain(client: StompClient, queue: string, expected: readonly string[]) {
  const received = new Map<string, { count: number; redelivered: boolean }>();
  const onMessage = (message: StompMessage): void => {
    const id = message.body.toString();
    received.set(id, {
      count: (received.get(id)?.count ?? 0) + 1,
      redelivered: message.headers['redelivered'] === 'true',
    });
    message.ack({ receipt: false }).catch(() => undefined);
  };
  const subscription = await client.subscribe(queue, onMessage, {
    ack: 'client-individual',
    'activemq.prefetchSize': 200,
  });
  await waitFor(
    () => expected.every((id) => received.has(id)),
    `${expected.length} messages on ${queue}`,
    10_000,
  ).catch(
    () => undefined, // the assertions below name what is missing
  );
  await sleep(300);
  await client.unsubscribe(subscription);
  return received;
}

const range = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

beforeAll(async () => {
  database = await createTestDatabase('e2e_ha');
});

afterAll(async () => {
  await Promise.all([...instances.values()].map((p) => p.kill('SIGKILL')));
  await database?.drop();
});

describe('ACTIVE_STANDBY_MULTI_AZ: two broker processes on one store', () => {
  let active = '';
  let standby = '';

  it('serves from exactly one instance; the other refuses clients as the standby', async () => {
    // Started together, so the lease (not the start order) decides.
    await Promise.all([startInstance('az-a'), startInstance('az-b')]);
    const outcomes = new Map<string, StompClient | string>();
    for (const [id, instance] of instances) outcomes.set(id, await connectOrRefusal(instance));
    const serving = [...outcomes].filter(([, o]) => typeof o !== 'string').map(([id]) => id);
    const refusing = [...outcomes].filter(([, o]) => typeof o === 'string');
    expect(serving).toHaveLength(1);
    expect(refusing).toHaveLength(1);
    expect(refusing[0]![1]).toMatch(standbyPattern);
    active = serving[0]!;
    standby = refusing[0]![0];
    await (outcomes.get(active) as StompClient).disconnect();
  });

  it('kill -9 of the active: the standby serves and has every receipted message', async () => {
    const ids = range('kill', 300);
    const producer = await connect(instances.get(active)!);
    await sendReceipted(producer, '/queue/ha.orders', ids);
    // A consumer holds some of them unacked when the active dies: they must come back flagged.
    const holder = await connect(instances.get(active)!);
    const held: string[] = [];
    await holder.subscribe('/queue/ha.orders', (m) => held.push(m.body.toString()), {
      ack: 'client-individual',
      'activemq.prefetchSize': 25,
    });
    await waitFor(() => held.length === 25, '25 deliveries to the holder');

    const killedAtMs = performance.now();
    await instances.get(active)!.kill('SIGKILL');
    const { client, tookMs } = await firstAcceptedConnect(
      instances.get(standby)!,
      killedAtMs,
      60_000,
    );
    console.info(
      `kill -9 take-over: the standby accepted a STOMP CONNECT after ${Math.round(tookMs)} ms`,
    );

    const received = await drain(client, '/queue/ha.orders', ids);
    await client.disconnect();
    expect(
      ids.filter((id) => !received.has(id)),
      'every receipted message',
    ).toEqual([]);
    expect(
      [...received].filter(([, r]) => r.count > 1).map(([id]) => id),
      'each once',
    ).toEqual([]);
    expect(
      held.filter((id) => !received.get(id)?.redelivered),
      'held ones come back redelivered',
    ).toEqual([]);
    [active, standby] = [standby, active];
  });

  it('the old active, restarted after the take-over, comes back as the standby', async () => {
    await startInstance(standby);
    await expectStandby(instances.get(standby)!, standby);
    // And stays so past a lease TTL: the new active keeps renewing and nobody steals its lease.
    await sleep(LEASE_TTL_MS + LEASE_RENEW_MS);
    await expectStandby(instances.get(standby)!, standby);
    const client = await connect(instances.get(active)!);
    await client.send(
      '/queue/ha.check',
      'still serving',
      { persistent: 'true' },
      { receipt: true },
    );
    await client.disconnect();
  });

  it('a clean SIGTERM of the active hands over to the standby with every receipted message', async () => {
    const ids = range('term', 100);
    const producer = await connect(instances.get(active)!);
    await sendReceipted(producer, '/queue/ha.orders', ids);

    const signalledAtMs = performance.now();
    const leaving = instances.get(active)!;
    const exited = leaving.exited;
    const stopping = leaving.kill('SIGTERM');
    const { client, tookMs } = await firstAcceptedConnect(
      instances.get(standby)!,
      signalledAtMs,
      60_000,
    );
    console.info(
      `SIGTERM hand-over: the standby accepted a STOMP CONNECT after ${Math.round(tookMs)} ms`,
    );
    await stopping;
    expect(await exited, 'a clean exit').toBe(0);
    // The leaving instance releases the lease and the standby takes it at its next poll; how
    // soon is printed above and measured by pnpm bench:promotion, never asserted on a busy machine.

    const received = await drain(client, '/queue/ha.orders', ids);
    await client.disconnect();
    expect(
      ids.filter((id) => !received.has(id)),
      'every receipted message',
    ).toEqual([]);
    expect(
      [...received].filter(([, r]) => r.count > 1).map(([id]) => id),
      'each once',
    ).toEqual([]);
  });
});
