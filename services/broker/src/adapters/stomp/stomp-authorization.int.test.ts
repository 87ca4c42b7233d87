import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasErrorCode } from '@crdr/errors';
import { createClient, loadProto, type ClientOf } from '@crdr/proto';
import { StompServerError, type StompClient } from '@crdr/stomp';
import {
  Inbox,
  queueSize,
  startTestBroker,
  uniqueName,
  waitFor,
  type TestBroker,
} from './broker.test-helper.js';
import { stompjsConnect } from './stompjs.test-helper.js';

const { BrokerService } = loadProto().crdr.broker.v1;

const app = { login: 'app', passcode: 'app-password-1' };
const clerk = { login: 'clerk', passcode: 'clerk-password-1' };

/** The ERROR a refused operation got, and proof the broker closed the connection. */
async function refusal(client: StompClient, operation: Promise<unknown>): Promise<string> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StompServerError);
  await client.closed;
  return (error as StompServerError).headers['message'] ?? '';
}

async function createUsers(broker: TestBroker): Promise<void> {
  const admin = broker.server.runtime.engine.admin;
  const user = { consoleAccess: false, replicationUser: false };
  await admin.createUser({
    ...user,
    username: app.login,
    password: app.passcode,
    groups: ['apps'],
  });
  await admin.createUser({
    ...user,
    username: clerk.login,
    password: clerk.passcode,
    groups: ['payroll'],
  });
}

describe('STOMP authorization, the default rule set', () => {
  let broker: TestBroker;
  let admin: StompClient;
  const clients: StompClient[] = [];
  const connect = async (as: { login: string; passcode: string }): Promise<StompClient> => {
    const client = await broker.connect(as);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_authz');
    await createUsers(broker);
    admin = await broker.connect();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await admin?.disconnect();
    await broker?.close();
  });

  it("refuses app reading admin's /queue/payroll, and the message stays for a reader who may", async () => {
    await admin.send('/queue/payroll', 'salary', { persistent: true }, { receipt: true });
    const client = await connect(app);
    const message = await refusal(
      client,
      client.subscribe('/queue/payroll', () => undefined),
    );
    expect(message).toBe(
      'user "app" is not authorized: reading /queue/payroll needs the read right',
    );
    expect(await queueSize(broker, '/queue/payroll')).toBe(1);

    // The clerk's group is payroll: /queue/payroll is in its namespace.
    const reader = await connect(clerk);
    const inbox = new Inbox();
    await reader.subscribe('/queue/payroll', inbox.handler);
    const [got] = await inbox.take(1);
    expect(got?.body.toString()).toBe('salary');
    await reader.disconnect();
  });

  it('refuses a SEND without the write right; what was accepted before stays', async () => {
    const queue = `/queue/apps.${uniqueName('kept')}`;
    const client = await connect(app);
    await client.send(queue, 'accepted', { persistent: true }, { receipt: true });
    const message = await refusal(
      client,
      client.send('/queue/payroll.forged', 'x', { persistent: true }, { receipt: true }),
    );
    expect(message).toBe(
      'user "app" is not authorized: writing /queue/payroll.forged needs the write right',
    );
    expect(await queueSize(broker, queue)).toBe(1);
    expect(await queueSize(broker, '/queue/payroll.forged')).toBeUndefined();
  });

  it('refuses creating a destination without the admin right; an existing one needs only write', async () => {
    const authorizer = createEntriesBrokerEnv();
    const b = await startTestBroker('stomp_authz_admin', { BROKER_AUTHORIZATION: authorizer });
    try {
      await createUsers(b);
      const adminClient = await b.connect();
      const client = await b.connect(app);
      const fresh = `/queue/orders.${uniqueName('fresh')}`;
      const message = await refusal(client, client.send(fresh, 'x', {}, { receipt: true }));
      expect(message).toBe(
        `user "app" is not authorized: ${fresh} does not exist and creating it needs the admin right`,
      );
      // Once an admin created it, app may write to it.
      await adminClient.send(fresh, 'first', { persistent: true }, { receipt: true });
      const again = await b.connect(app);
      await again.send(fresh, 'second', { persistent: true }, { receipt: true });
      expect(await queueSize(b, fresh)).toBe(2);
      await again.disconnect();
      await adminClient.disconnect();
    } finally {
      await b.close();
    }
  });

  it('checks each part of a composite SUBSCRIBE and names the one refused', async () => {
    const client = await connect(app);
    const message = await refusal(
      client,
      client.subscribe(`/queue/apps.${uniqueName('part')},/queue/payroll`, () => undefined),
    );
    expect(message).toBe(
      'user "app" is not authorized: reading /queue/payroll needs the read right',
    );
  });

  it('checks each part of a composite SEND: nothing is sent when one part is refused', async () => {
    const allowed = `/queue/apps.${uniqueName('composite')}`;
    const client = await connect(app);
    await client.send(allowed, 'before', { persistent: true }, { receipt: true });
    const message = await refusal(
      client,
      client.send(`${allowed},/topic/payroll`, 'x', { persistent: true }, { receipt: true }),
    );
    expect(message).toBe(
      'user "app" is not authorized: writing /topic/payroll needs the write right',
    );
    expect(await queueSize(broker, allowed)).toBe(1);
  });

  it('binds a wildcard SUBSCRIBE only to destinations its user may read, now and later', async () => {
    const stem = uniqueName('wild');
    await admin.send(`/queue/payroll.${stem}`, 'secret', { persistent: true }, { receipt: true });
    await admin.send(`/queue/apps.${stem}`, 'mine', { persistent: true }, { receipt: true });
    const client = await connect(app);
    const inbox = new Inbox();
    await client.subscribe(`/queue/*.${stem}`, inbox.handler);
    const [first] = await inbox.take(1);
    expect(first?.body.toString()).toBe('mine');
    // Created after the SUBSCRIBE: followed only when readable.
    await admin.send(`/queue/payroll.${stem}.later`, 's2', { persistent: true }, { receipt: true });
    await admin.send(`/queue/apps.${stem}.later`, 'm2', { persistent: true }, { receipt: true });
    const later = `/queue/*.${stem}.later`;
    const inboxLater = new Inbox();
    await client.subscribe(later, inboxLater.handler);
    expect((await inboxLater.take(1))[0]?.body.toString()).toBe('m2');
    const consumersOf = async (name: string): Promise<number | undefined> =>
      (await broker.server.runtime.engine.admin.listDestinations()).find((d) => d.name === name)
        ?.consumerCount;
    expect(await consumersOf(`payroll.${stem}`)).toBe(0);
    expect(await consumersOf(`payroll.${stem}.later`)).toBe(0);
    expect(await consumersOf(`apps.${stem}`)).toBe(1);
    expect(await queueSize(broker, `/queue/payroll.${stem}`)).toBe(1);
    await client.disconnect();
  });

  it('refuses a transactional SEND at once; the transaction is aborted, earlier sends are kept', async () => {
    const allowed = `/queue/apps.${uniqueName('tx')}`;
    const secret = `/queue/payroll.${uniqueName('tx')}`;
    await admin.send(secret, 'kept', { persistent: true }, { receipt: true });
    const client = await connect(app);
    await client.send(allowed, 'committed', { persistent: true }, { receipt: true });
    await client.begin('t1');
    await client.send(allowed, 'in-tx', { persistent: true, transaction: 't1' }, { receipt: true });
    const message = await refusal(
      client,
      client.send(secret, 'x', { transaction: 't1' }, { receipt: true }),
    );
    expect(message).toBe(`user "app" is not authorized: writing ${secret} needs the write right`);
    expect(await queueSize(broker, allowed)).toBe(1);
    expect(await queueSize(broker, secret)).toBe(1);
  });

  it('refuses on WebSocket with @stomp/stompjs', async () => {
    const secret = `/queue/payroll.${uniqueName('ws')}`;
    await admin.send(secret, 'ws-secret', { persistent: true }, { receipt: true });
    const session = await stompjsConnect(broker.wsPort, app.login, app.passcode);
    try {
      expect(session.outcome).toBe('connected');
      session.client.subscribe(secret, () => undefined, { receipt: 'r1' });
      await waitFor(() => session.errors.length > 0, 10_000, 'an ERROR frame');
      expect(session.errors[0]).toBe(
        `user "app" is not authorized: reading ${secret} needs the read right`,
      );
    } finally {
      await session.close();
    }
    expect(await queueSize(broker, secret)).toBe(1);
  });

  it('refuses on gRPC with PERMISSION_DENIED', async () => {
    const grpc: ClientOf<typeof BrokerService> = createClient(BrokerService, broker.grpcAddress, {
      credentials: { username: app.login, password: app.passcode },
    });
    try {
      const sent = await grpc
        .send({ destination: '/queue/payroll', body: Buffer.from('x'), persistent: true })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(hasErrorCode(sent, 'Forbidden')).toBe(true);
      expect((sent as Error).message).toBe(
        'user "app" is not authorized: writing /queue/payroll needs the write right',
      );
      const stream = grpc.receive({ destination: '/queue/payroll' });
      const received = await stream.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(hasErrorCode(received, 'Forbidden')).toBe(true);
      expect((received as Error).message).toContain('reading /queue/payroll needs the read right');
      const own = `/queue/apps.${uniqueName('grpc')}`;
      await grpc.send({ destination: own, body: Buffer.from('ok'), persistent: true });
      expect(await queueSize(broker, own)).toBe(1);
    } finally {
      grpc.close();
    }
  });
});

describe('STOMP authorization, configured entries (BROKER_AUTHORIZATION)', () => {
  it('refuses a broker started with entries that do not parse', async () => {
    await expect(
      startTestBroker('stomp_authz_bad', { BROKER_AUTHORIZATION: '[{"queue": "a.>.b"}]' }),
    ).rejects.toThrow('> may only be the last part');
  });
});

/** Admins may do anything; apps read and write orders.> but may not create there. */
function createEntriesBrokerEnv(): string {
  return JSON.stringify([
    { queue: '>', read: 'admins', write: 'admins', admin: 'admins' },
    { topic: '>', read: 'admins', write: 'admins', admin: 'admins' },
    { queue: 'orders.>', read: 'apps', write: 'apps' },
  ]);
}
