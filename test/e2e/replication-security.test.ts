import { connect as connectTcp } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode,
  RetentionPolicy,
  StorageType,
  connect,
  type ConnectionOptions,
  type NatsConnection,
  type NatsError,
} from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { startTwoRegions, type ReplicatorStatus, type TwoRegions } from '../support/two-regions.js';

// The Region link's security (issue 3): region-a's NATS takes only mutual TLS with a client
// certificate from the test CA, and the replication user may read the log through its own
// consumer and nothing else: no other subject, no other stream, no publishing anywhere.

let regions: TwoRegions;
let admin: NatsConnection;
let replicationUser: NatsConnection;
const clientStream = 'CLIENT_ORDERS';
const otherLogStream = 'CRDR_REPL_other-broker';
const databases: TestDatabase[] = [];

beforeAll(async () => {
  regions = await startTwoRegions({ name: 'sec-repl' });
  const client = await regions.connectPrimary();
  for (let i = 0; i < 50; i++)
    await client.send('/queue/sec.orders', `order ${i}`, { persistent: true }, { receipt: true });
  await client.disconnect();
  await regions.enableReplication();
  await regions.waitForLagZero();

  // Other data in region-a's NATS: a client stream and another broker's log, with messages.
  admin = await connect(regions.natsOptionsA(regions.regionA.natsAdmin));
  const jsm = await admin.jetstreamManager();
  for (const [name, subject] of [
    [clientStream, 'orders.>'],
    [otherLogStream, 'crdr.repl.other-broker.events'],
  ] as const) {
    await jsm.streams.add({
      name,
      subjects: [subject],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    });
  }
  const js = admin.jetstream();
  await js.publish('orders.new', 'a client order');
  await js.publish('crdr.repl.other-broker.events', 'another broker event');

  replicationUser = await connect(
    regions.natsOptionsA(regions.regionA.natsReplication, { inboxPrefix: regions.ids.inboxPrefix }),
  );
});

afterAll(async () => {
  await replicationUser?.close();
  await admin?.close();
  await regions?.stop();
  for (const database of databases) await database.drop().catch(() => undefined);
});

function isPermissionError(error: unknown): boolean {
  return (error as NatsError | undefined)?.code === ErrorCode.PermissionsViolation;
}

/** The promise rejects with a NATS permissions violation (not a timeout or anything else). */
async function expectDenied(attempt: Promise<unknown>, what: string): Promise<void> {
  const outcome = await attempt.then(
    () => 'allowed',
    (error: unknown) => error,
  );
  expect(outcome, `${what}: refused`).not.toBe('allowed');
  expect(
    isPermissionError(outcome),
    `${what}: a permissions violation, got ${String(outcome)}`,
  ).toBe(true);
}

/** Subscribes as the replication user; resolves with the error the server answers, if any. */
async function subscriptionError(subject: string): Promise<Error | undefined> {
  let failure: Error | undefined;
  let received = 0;
  const sub = replicationUser.subscribe(subject, {
    callback: (error) => {
      if (error !== null) failure = error;
      else received++;
    },
  });
  await replicationUser.flush();
  const deadline = Date.now() + 2_000;
  while (failure === undefined && Date.now() < deadline) await sleep(20);
  if (!sub.isClosed()) sub.unsubscribe();
  expect(received, `nothing received on ${subject}`).toBe(0);
  return failure;
}

async function streamMessages(name: string): Promise<number> {
  const jsm = await admin.jetstreamManager();
  return (await jsm.streams.info(name)).state.messages;
}

describe('the replication user and the Region link', () => {
  it('the replication user reads its own consumer (the credentials and certificate are valid)', async () => {
    const js = replicationUser.jetstream();
    const consumer = await js.consumers.get(regions.ids.stream, regions.ids.consumer);
    const info = await consumer.info();
    expect(info.name).toBe(regions.ids.consumer);
  });

  it('cannot subscribe to the log, client subjects, other inboxes or everything', async () => {
    for (const subject of [
      regions.ids.subject,
      'orders.>',
      'crdr.repl.other-broker.events',
      '_INBOX.>',
      '$JS.API.>',
      '>',
    ]) {
      const error = await subscriptionError(subject);
      expect(isPermissionError(error), `subscribe ${subject}: ${String(error)}`).toBe(true);
    }
  });

  it('cannot read other streams or its own stream around its consumer', async () => {
    const jsm = await replicationUser.jetstreamManager({ checkAPI: false });
    await expectDenied(jsm.streams.info(clientStream), 'STREAM.INFO of a client stream');
    await expectDenied(jsm.streams.info(otherLogStream), "STREAM.INFO of another broker's log");
    await expectDenied(
      jsm.streams.getMessage(clientStream, { seq: 1 }),
      'MSG.GET on a client stream',
    );
    await expectDenied(
      jsm.streams.getMessage(regions.ids.stream, { seq: 1 }),
      'MSG.GET on its own log',
    );
    await expectDenied(jsm.streams.list().next(), 'STREAM.LIST');
    await expectDenied(
      jsm.consumers.add(clientStream, { durable_name: 'thief' }),
      'a consumer on a client stream',
    );
    await expectDenied(
      jsm.consumers.add(regions.ids.stream, { durable_name: 'second-reader' }),
      'a second consumer on its own log',
    );
    const js = replicationUser.jetstream();
    await expectDenied(
      js.consumers.get(otherLogStream, regions.ids.consumer),
      "a consumer of another broker's log",
    );
  });

  it('cannot publish to the log, delete or purge it, or publish anywhere else', async () => {
    const before = await streamMessages(regions.ids.stream);
    const jsm = await replicationUser.jetstreamManager({ checkAPI: false });
    const js = replicationUser.jetstream();
    await expectDenied(js.publish(regions.ids.subject, 'forged event'), 'publish to the log');
    await expectDenied(js.publish('orders.new', 'forged order'), 'publish to a client stream');
    await expectDenied(jsm.streams.purge(regions.ids.stream), 'PURGE its own log');
    await expectDenied(
      jsm.consumers.delete(regions.ids.stream, regions.ids.consumer),
      'DELETE its consumer',
    );
    await expectDenied(jsm.streams.delete(clientStream), 'DELETE a client stream');
    await expectDenied(
      replicationUser.request('orders.new', 'request'),
      'a request on a client subject',
    );

    // A plain publish: the server refuses it and says so; nobody receives it.
    const seen: string[] = [];
    const watch = admin.subscribe('orders.plain', { callback: (_e, m) => seen.push(m.string()) });
    await admin.flush();
    const refusals: string[] = [];
    const statusWatch = (async () => {
      for await (const status of replicationUser.status()) {
        const context = (status as { permissionContext?: { operation: string; subject: string } })
          .permissionContext;
        if (context !== undefined) refusals.push(`${context.operation} ${context.subject}`);
      }
    })();
    replicationUser.publish('orders.plain', 'forged');
    await replicationUser.flush();
    await waitUntil(() => refusals.includes('publish orders.plain'), 2_000);
    await sleep(300);
    watch.unsubscribe();
    expect(refusals).toContain('publish orders.plain');
    expect(seen).toEqual([]);
    void statusWatch;

    expect(await streamMessages(regions.ids.stream), 'the log is unchanged').toBe(before);
    expect(await streamMessages(clientStream)).toBe(1);
    const consumers = await (
      await admin.jetstreamManager()
    ).consumers
      .list(regions.ids.stream)
      .next();
    expect(consumers.map((c) => c.name)).toEqual([regions.ids.consumer]);
  });

  it('a client certificate from another CA is refused; a replicator using it never applies anything', async () => {
    const { pki } = regions;
    const foreign = await tryNatsConnect(
      regions.natsOptionsA(regions.regionA.natsReplication, {
        tls: { ca: pki.ca.cert, cert: pki.foreignClient.cert, key: pki.foreignClient.key },
      }),
    );
    expect(foreign, 'a foreign client certificate').toBeInstanceOf(Error);
    const noCertificate = await tryNatsConnect(
      regions.natsOptionsA(regions.regionA.natsReplication, { tls: { ca: pki.ca.cert } }),
    );
    expect(noCertificate, 'no client certificate').toBeInstanceOf(Error);

    const database = await createTestDatabase('sec_foreign');
    databases.push(database);
    const impostor = await regions.spawnReplicator({
      REPLICATOR_DB_URL: database.url,
      REPLICATOR_NATS_TLS_CERT: pki.foreignClient.certPath,
      REPLICATOR_NATS_TLS_KEY: pki.foreignClient.keyPath,
    });
    try {
      // The primary keeps writing meanwhile: there is something to apply, were it allowed.
      const client = await regions.connectPrimary();
      const statuses: ReplicatorStatus[] = [];
      for (let i = 0; i < 16; i++) {
        await client.send('/queue/sec.more', `more ${i}`, { persistent: true }, { receipt: true });
        statuses.push(await impostor.client.getStatus({}));
        await sleep(250);
      }
      await client.disconnect();
      expect(new Set(statuses.map((s) => s.state))).toEqual(new Set(['CONNECTING']));
      expect(new Set(statuses.map((s) => s.appliedSequence))).toEqual(new Set(['0']));
      expect(statuses.at(-1)?.error).toMatch(/connect/i);
    } finally {
      await impostor.process.kill();
      impostor.client.close();
    }
    expect(regions.regionA.nats.logs()).toMatch(/TLS handshake error/i);

    // The genuine replicator is unaffected.
    await regions.waitForLagZero();
    const { primary, replica } = await regions.settledDigests();
    expect(replica.digest).toBe(primary.digest);
  });

  it('a plaintext connection to the primary Region is refused', async () => {
    const { host, port } = { host: '127.0.0.1', port: regions.regionA.nats.port };
    const { info, answer, closed } = await plaintextSession(host, port, {
      user: regions.regionA.natsReplication.user,
      pass: regions.regionA.natsReplication.password,
    });
    expect(info.tls_required, 'the server demands TLS').toBe(true);
    expect(answer, 'no PONG and no +OK over plaintext').not.toMatch(/PONG|\+OK/);
    expect(closed, 'the server closes the connection').toBe(true);
  });
});

/** Connects with `options` and returns the connection, or the error that refused it. */
async function tryNatsConnect(options: ConnectionOptions): Promise<NatsConnection | Error> {
  try {
    return await connect({ maxReconnectAttempts: 0, timeout: 3_000, ...options });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function waitUntil(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe() && Date.now() < deadline) await sleep(20);
}

/**
 * Speaks the NATS protocol in plaintext: reads INFO, sends CONNECT with the replication user's
 * password and a PING, and reports what came back within 7 s (more than the TLS timeout).
 */
function plaintextSession(
  host: string,
  port: number,
  credentials: { user: string; pass: string },
): Promise<{ info: { tls_required?: boolean }; answer: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port });
    let buffer = '';
    let info: { tls_required?: boolean } | undefined;
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      if (info === undefined) reject(new Error(`no INFO from the server: ${buffer}`));
      else resolve({ info, answer: buffer, closed });
    };
    const timer = setTimeout(finish, 7_000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('data', (chunk) => {
      if (info !== undefined) {
        buffer += chunk.toString('latin1');
        return;
      }
      const text = chunk.toString('latin1');
      const match = /^INFO (\{.*\})\s*\r\n/.exec(text);
      if (match === null) return;
      info = JSON.parse(match[1]!) as { tls_required?: boolean };
      socket.write(
        `CONNECT ${JSON.stringify({ ...credentials, verbose: true, pedantic: false, tls_required: false })}\r\nPING\r\n`,
      );
    });
  });
}
