import { hasErrorCode, type CrdrError } from '@crdr/errors';
import { createClient, loadProto, type brokerV1, type ClientOf } from '@crdr/proto';
import { hashPassword } from '@crdr/service';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, type TestDatabase } from '@crdr/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { createServer, type BrokerServer } from '../../server.js';

const { BrokerService, BrokerAdminService } = loadProto().crdr.broker.v1;
type BrokerClient = ClientOf<typeof BrokerService>;
type AdminClient = ClientOf<typeof BrokerAdminService>;

let database: TestDatabase;
let server: BrokerServer;
let address: string;
let broker: BrokerClient;
let admin: AdminClient;
const clients: { close(): void }[] = [];

function brokerClient(username: string, password: string): BrokerClient {
  const client = createClient(BrokerService, address, { credentials: { username, password } });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  database = await createTestDatabase('grpc');
  const config = loadConfig({
    BROKER_DB_URL: database.url,
    BROKER_STOMP_PORT: '0',
    BROKER_WS_PORT: '0',
    BROKER_GRPC_PORT: '0',
    BROKER_USERS: 'admin:admin',
    BROKER_SCRYPT_COST: '1024',
    BROKER_PRINT_ENDPOINTS: 'false',
    LOG_LEVEL: 'silent',
  });
  server = createServer({ config, log: createLogger({ service: 'broker', level: 'silent' }) });
  const endpoints = await server.start();
  address = new URL(endpoints.grpc).host;
  broker = brokerClient('admin', 'admin');
  admin = createClient(BrokerAdminService, address, {
    credentials: { username: 'admin', password: 'admin' },
  });
  clients.push(admin);
  await admin.createUser({ username: 'bob', password: 'bob-password-1', groups: ['users'] });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server?.stop();
  await database?.drop();
});

let queueCounter = 0;
function uniqueQueue(stem: string): string {
  return `/queue/${stem}.${process.pid}.${++queueCounter}`;
}

/** The next `count` deliveries of an open Receive stream. */
async function take(
  stream: AsyncGenerator<brokerV1.Delivery__Output, void, undefined>,
  count: number,
): Promise<brokerV1.Delivery__Output[]> {
  const out: brokerV1.Delivery__Output[] = [];
  while (out.length < count) {
    const next = await stream.next();
    if (next.done) throw new Error(`stream ended after ${out.length} deliveries`);
    out.push(next.value);
  }
  return out;
}

/** Whether the stream yields anything within `ms` (it must not). */
async function nothingWithin(
  stream: AsyncGenerator<brokerV1.Delivery__Output, void, undefined>,
  ms: number,
): Promise<{ pending: Promise<IteratorResult<brokerV1.Delivery__Output, void>>; quiet: boolean }> {
  const pending = stream.next();
  const quiet = await Promise.race([
    pending.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms)),
  ]);
  return { pending, quiet };
}

async function queueSize(queue: string): Promise<number | undefined> {
  const name = queue.slice('/queue/'.length);
  const { destinations } = await admin.listDestinations({});
  const found = destinations.find((d) => d.type === 'QUEUE' && d.name === name);
  return found === undefined ? undefined : Number(found.queueSize);
}

async function failureOf(promise: Promise<unknown>): Promise<CrdrError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error('expected the call to fail');
  return error as CrdrError;
}

describe('authentication', () => {
  it('refuses calls without credentials or with a wrong password', async () => {
    const anonymous = createClient(BrokerService, address);
    clients.push(anonymous);
    const noCredentials = await failureOf(anonymous.send({ destination: '/queue/x' }));
    expect(hasErrorCode(noCredentials, 'Unauthenticated')).toBe(true);

    const wrong = brokerClient('admin', 'nope');
    expect(
      hasErrorCode(await failureOf(wrong.send({ destination: '/queue/x' })), 'Unauthenticated'),
    ).toBe(true);
  });

  it('refuses admin calls without console access', async () => {
    const bobAdmin = createClient(BrokerAdminService, address, {
      credentials: { username: 'bob', password: 'bob-password-1' },
    });
    clients.push(bobAdmin);
    const error = await failureOf(bobAdmin.listDestinations({}));
    expect(hasErrorCode(error, 'Forbidden')).toBe(true);
    expect(error.message).toBe('user bob has no console access');
  });

  it("takes a user by its password's scrypt hash: the broker never sees the password", async () => {
    const hash = (password: string) => hashPassword(password, { scrypt: { cost: 1024 } });
    await admin.createUser({
      username: 'hashed',
      passwordHash: await hash('hashed-password-1'),
      groups: ['hashed'],
    });
    const send = (password: string) =>
      brokerClient('hashed', password).send({
        destination: '/queue/hashed.x',
        body: Buffer.from('1'),
      });
    await send('hashed-password-1');
    expect(hasErrorCode(await failureOf(send('hashed-password-2')), 'Unauthenticated')).toBe(true);

    await admin.updateUser({ username: 'hashed', passwordHash: await hash('hashed-password-2') });
    await send('hashed-password-2');
    expect(hasErrorCode(await failureOf(send('hashed-password-1')), 'Unauthenticated')).toBe(true);

    const notAHash = await failureOf(
      admin.createUser({ username: 'plain', passwordHash: 'plain-password-1' }),
    );
    expect(hasErrorCode(notAHash, 'BadRequest')).toBe(true);
    expect(notAHash.message).toContain('invalid password hash');
    const both = await failureOf(
      admin.createUser({
        username: 'both',
        password: 'both-password-1',
        passwordHash: await hash('both-password-1'),
      }),
    );
    expect(hasErrorCode(both, 'BadRequest')).toBe(true);
  });
});

describe('send and receive', () => {
  it('delivers what was sent, with its fields, and acknowledges it', async () => {
    const queue = uniqueQueue('basic');
    const { messageId } = await broker.send({
      destination: queue,
      body: Buffer.from('hello'),
      headers: { color: 'blue' },
      persistent: true,
      priority: 7,
    });
    expect(messageId).not.toBe('');

    const stream = broker.receive({ destination: queue, ackMode: 'CLIENT_INDIVIDUAL' });
    const [delivery] = await take(stream, 1);
    expect(delivery).toMatchObject({
      messageId,
      destination: queue,
      priority: 7,
      persistent: true,
      redelivered: false,
    });
    expect(delivery?.body.toString()).toBe('hello');
    expect(delivery?.headers['color']).toBe('blue');
    expect(BigInt(delivery?.timestampMs ?? '0')).toBeGreaterThan(0n);

    await broker.ack({ ackId: delivery!.ackId });
    await stream.return();
    await expect.poll(() => queueSize(queue)).toBe(0);
    // Acknowledged once: a second ack of the same id is refused.
    expect(hasErrorCode(await failureOf(broker.ack({ ackId: delivery!.ackId })), 'NotFound')).toBe(
      true,
    );
  });

  it('returns unacknowledged deliveries to the queue when the stream is cancelled', async () => {
    const queue = uniqueQueue('cancel');
    await broker.send({ destination: queue, body: Buffer.from('again'), persistent: true });
    const first = broker.receive({ destination: queue, ackMode: 'CLIENT' });
    const [delivery] = await take(first, 1);
    await first.return();

    const second = broker.receive({ destination: queue, ackMode: 'CLIENT' });
    const [redelivery] = await take(second, 1);
    expect(redelivery?.messageId).toBe(delivery?.messageId);
    expect(redelivery?.redelivered).toBe(true);
    await broker.ack({ ackId: redelivery!.ackId });
    await second.return();
  });

  it('holds back deliveries past the prefetch until some are acknowledged', async () => {
    const queue = uniqueQueue('prefetch');
    await broker.sendStream(
      Array.from({ length: 8 }, (_, i) => ({ destination: queue, body: Buffer.from(String(i)) })),
    );
    const stream = broker.receive({
      destination: queue,
      ackMode: 'CLIENT_INDIVIDUAL',
      prefetch: 3,
    });
    const firstThree = await take(stream, 3);
    expect(firstThree.map((d) => d.body.toString())).toEqual(['0', '1', '2']);
    const { pending, quiet } = await nothingWithin(stream, 300);
    expect(quiet).toBe(true);
    await broker.ack({ ackId: firstThree[0]!.ackId });
    const next = await pending;
    expect(next.done ? undefined : next.value.body.toString()).toBe('3');
    await stream.return();
  });

  it('acknowledges cumulatively in CLIENT mode', async () => {
    const queue = uniqueQueue('cumulative');
    await broker.sendStream(
      ['a', 'b', 'c'].map((b) => ({ destination: queue, body: Buffer.from(b) })),
    );
    const stream = broker.receive({ destination: queue, ackMode: 'CLIENT' });
    const deliveries = await take(stream, 3);
    await broker.ack({ ackId: deliveries[1]!.ackId });
    expect(
      hasErrorCode(await failureOf(broker.ack({ ackId: deliveries[0]!.ackId })), 'NotFound'),
    ).toBe(true);
    await broker.ack({ ackId: deliveries[2]!.ackId });
    await stream.return();
    await expect.poll(() => queueSize(queue)).toBe(0);
  });

  it("does not let another user acknowledge a user's delivery", async () => {
    const queue = uniqueQueue('owner');
    await broker.send({ destination: queue, body: Buffer.from('mine') });
    const stream = broker.receive({ destination: queue, ackMode: 'CLIENT_INDIVIDUAL' });
    const [delivery] = await take(stream, 1);
    const bob = brokerClient('bob', 'bob-password-1');
    expect(hasErrorCode(await failureOf(bob.ack({ ackId: delivery!.ackId })), 'NotFound')).toBe(
      true,
    );
    await broker.ack({ ackId: delivery!.ackId });
    await stream.return();
  });

  it('sends a stream of messages in order and answers with their ids', async () => {
    const queue = uniqueQueue('stream');
    async function* requests(): AsyncGenerator<brokerV1.SendRequest> {
      for (let i = 0; i < 300; i++) {
        yield { destination: queue, body: Buffer.from(String(i)), persistent: true };
      }
    }
    const { messageIds } = await broker.sendStream(requests());
    expect(messageIds).toHaveLength(300);
    expect(new Set(messageIds).size).toBe(300);

    const stream = broker.receive({ destination: queue });
    const deliveries = await take(stream, 300);
    expect(deliveries.map((d) => d.body.toString())).toEqual(
      Array.from({ length: 300 }, (_, i) => String(i)),
    );
    expect(deliveries.map((d) => d.messageId)).toEqual(messageIds);
    await stream.return();
  });

  it('names the field and the request at fault', async () => {
    const priority = await failureOf(
      broker.send({ destination: uniqueQueue('bad'), priority: 10 }),
    );
    expect(hasErrorCode(priority, 'BadRequest')).toBe(true);
    expect(priority.message).toBe('priority must be 0-9 (got 10)');
    expect(priority.details['field']).toBe('priority');

    const destination = await failureOf(broker.send({ destination: 'orders' }));
    expect(destination.message).toContain('destination must start with /queue/ or /topic/');

    const queue = uniqueQueue('stream-bad');
    const inStream = await failureOf(
      broker.sendStream([
        { destination: queue, body: Buffer.from('ok') },
        { destination: queue, priority: 11 },
      ]),
    );
    expect(hasErrorCode(inStream, 'BadRequest')).toBe(true);
    expect(inStream.details).toMatchObject({ field: 'priority', requestIndex: '1' });
  });
});

describe('transactions', () => {
  it('delivers the sends of a transaction only when it commits', async () => {
    const queue = uniqueQueue('tx-commit');
    const { transactionId } = await broker.beginTransaction({});
    await broker.send({ destination: queue, body: Buffer.from('t1'), transactionId });
    await broker.sendStream([{ destination: queue, body: Buffer.from('t2'), transactionId }]);

    const stream = broker.receive({ destination: queue });
    const { pending, quiet } = await nothingWithin(stream, 300);
    expect(quiet).toBe(true);

    await broker.commitTransaction({ transactionId });
    const first = await pending;
    const [second] = await take(stream, 1);
    expect([first.done ? '' : first.value.body.toString(), second?.body.toString()]).toEqual([
      't1',
      't2',
    ]);
    await stream.return();
    // Ended: the id is no longer open.
    expect(
      hasErrorCode(await failureOf(broker.commitTransaction({ transactionId })), 'NotFound'),
    ).toBe(true);
  });

  it('drops the sends of an aborted transaction and leaves its acknowledged messages unacknowledged', async () => {
    // As ActiveMQ 5.17 does (checked by the differential suite over STOMP): an ACK inside an
    // aborted transaction is undone, so the message is the consumer's again, unacknowledged;
    // it is not redelivered at once, and an ACK outside the transaction settles it.
    const queue = uniqueQueue('tx-abort');
    await broker.send({ destination: queue, body: Buffer.from('m'), persistent: true });
    const stream = broker.receive({ destination: queue, ackMode: 'CLIENT_INDIVIDUAL' });
    const [delivery] = await take(stream, 1);

    const { transactionId } = await broker.beginTransaction({});
    await broker.send({ destination: queue, body: Buffer.from('dropped'), transactionId });
    await broker.ack({ ackId: delivery!.ackId, transactionId });
    await broker.abortTransaction({ transactionId });
    expect(await queueSize(queue), 'the aborted send is dropped, the message still held').toBe(1);

    await broker.ack({ ackId: delivery!.ackId });
    await stream.return();
    await expect.poll(() => queueSize(queue)).toBe(0);
  });

  it("answers NotFound for an unknown transaction and for another user's", async () => {
    const unknown = await failureOf(
      broker.send({ destination: uniqueQueue('tx'), transactionId: 'tx-nope' }),
    );
    expect(hasErrorCode(unknown, 'NotFound')).toBe(true);

    const { transactionId } = await broker.beginTransaction({});
    const bob = brokerClient('bob', 'bob-password-1');
    expect(
      hasErrorCode(await failureOf(bob.commitTransaction({ transactionId })), 'NotFound'),
    ).toBe(true);
    await broker.abortTransaction({ transactionId });
  });
});

describe('admin', () => {
  it('manages destinations', async () => {
    const name = `admin.${process.pid}.${++queueCounter}`;
    await admin.createDestination({ type: 'QUEUE', name });
    await broker.sendStream(
      [1, 2, 3].map(() => ({ destination: `/queue/${name}`, persistent: true })),
    );
    const { messages } = await admin.browseQueue({ name, maxMessages: 2 });
    expect(messages).toHaveLength(2);
    const { purged } = await admin.purgeDestination({ type: 'QUEUE', name });
    expect(purged).toBe('3');
    await admin.deleteDestination({ type: 'QUEUE', name });
    expect(await queueSize(`/queue/${name}`)).toBeUndefined();

    const invalid = await failureOf(admin.createDestination({ name }));
    expect(invalid.details['field']).toBe('type');
  });

  it('reports stats and users', async () => {
    const stats = await admin.getStats({});
    expect(stats.serving).toBe(true);
    const { users } = await admin.listUsers({});
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['admin', 'bob']));
  });

  it('turns the broker into a replica that refuses clients but answers admin calls', async () => {
    const before = await admin.getRole({});
    expect(before.role).toBe('PRIMARY');
    const epoch = BigInt(before.epoch) + 1n;

    const { state } = await admin.setRole({
      role: 'REPLICA',
      epoch: epoch.toString(),
      primaryRegion: 'eu-west-1',
      primaryBrokerId: 'broker-eu',
      dataReplicationMode: 'CRDR',
    });
    expect(state).toMatchObject({ role: 'REPLICA', epoch: epoch.toString() });

    const refused = await failureOf(broker.send({ destination: uniqueQueue('replica') }));
    expect(hasErrorCode(refused, 'FailedPrecondition')).toBe(true);
    expect(refused.message).toContain('broker-eu');
    expect((await admin.getRole({})).role).toBe('REPLICA');

    // Fencing: an older epoch is refused, and the error's details survive the trip.
    const stale = await failureOf(admin.setRole({ role: 'PRIMARY', epoch: before.epoch }));
    expect(hasErrorCode(stale, 'Conflict')).toBe(true);
    expect(stale.details['currentEpoch']).toBe(epoch.toString());

    await admin.setRole({ role: 'PRIMARY', epoch: (epoch + 1n).toString() });
    await broker.send({ destination: uniqueQueue('primary-again') });
  });
});
