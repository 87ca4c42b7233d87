import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStompServerError, type StompClient, type StompVersion } from '@crdr/stomp';
import {
  Inbox,
  RawStompConnection,
  assertWorks,
  host,
  startTestBroker,
  uniqueName,
  waitFor,
  type TestBroker,
} from './broker.test-helper.js';

const heartBeatMs = 200;

describe('STOMP protocol', () => {
  let broker: TestBroker;
  /** Opened before every bad connection; it must keep working after each. */
  let control: StompClient;
  const clients: StompClient[] = [];
  const raws: RawStompConnection[] = [];
  const connect = async (
    options: Parameters<TestBroker['connect']>[0] = {},
  ): Promise<StompClient> => {
    const client = await broker.connect(options);
    clients.push(client);
    return client;
  };
  const raw = async (): Promise<RawStompConnection> => {
    const connection = await RawStompConnection.open(broker.stompPort);
    raws.push(connection);
    return connection;
  };
  const rawConnected = async (
    headers: Record<string, string> = {},
  ): Promise<RawStompConnection> => {
    const connection = await RawStompConnection.connect(broker.stompPort, headers);
    raws.push(connection);
    return connection;
  };
  /** The bad connection got one ERROR and was closed; the control connection still works. */
  const expectErrorAndClose = async (
    connection: RawStompConnection,
    label: string,
  ): Promise<string> => {
    const error = await connection.next('ERROR');
    await connection.waitClosed();
    await assertWorks(control, `control after ${label}`);
    return error.headers['message'] ?? '';
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_protocol', { BROKER_HEARTBEAT_MS: String(heartBeatMs) });
    control = await connect();
  });
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await broker?.close();
  });

  describe('version negotiation', () => {
    it.each<[StompVersion]>([['1.0'], ['1.1'], ['1.2']])(
      'speaks STOMP %s: send, receive and ack',
      async (version) => {
        const client = await connect({ version });
        expect(client.version).toBe(version);
        expect(client.connectedHeaders['version']).toBe(version);
        const queue = `/queue/${uniqueName(`v${version}`)}`;
        const inbox = new Inbox();
        await client.subscribe(queue, inbox.handler, { ack: 'client-individual', id: 'only' });
        await client.send(queue, `hello ${version}`, { persistent: true });
        const [message] = await inbox.take(1);
        expect(message?.body.toString()).toBe(`hello ${version}`);
        expect(message?.headers['subscription']).toBe('only');
        await message!.ack();
        // Acked by the version's own headers: an unknown message id is refused.
        await client.disconnect();
        const again = await connect({ version });
        const inbox2 = new Inbox();
        await again.subscribe(queue, inbox2.handler);
        await again.send(queue, 'after ack');
        expect((await inbox2.take(1)).map((m) => m.body.toString())).toEqual(['after ack']);
      },
    );

    it('picks the highest common version from accept-version', async () => {
      const connection = await raw();
      connection.frame('CONNECT', {
        'accept-version': '1.0,1.1,1.2,2.0',
        host,
        login: 'admin',
        passcode: 'admin',
      });
      const connected = await connection.next('CONNECTED');
      expect(connected.headers['version']).toBe('1.2');
      expect(connected.headers['server']).toMatch(/^crdr-broker\//);
    });

    it('answers a CONNECT without accept-version as STOMP 1.0', async () => {
      const connection = await raw();
      connection.write('CONNECT\nlogin:admin\npasscode:admin\n\n\0');
      const connected = await connection.next('CONNECTED');
      expect(connected.headers['version']).toBe('1.0');
    });

    it('refuses a CONNECT with no supported version', async () => {
      const connection = await raw();
      connection.frame('CONNECT', {
        'accept-version': '2.0,3.1',
        host,
        login: 'admin',
        passcode: 'admin',
      });
      const error = await connection.next('ERROR');
      expect(error.headers['version']).toBe('1.0,1.1,1.2');
      expect(error.headers['message']).toBe('Supported protocol versions are 1.0, 1.1 and 1.2');
      await connection.waitClosed();
    });
  });

  describe('frames', () => {
    it('round-trips header values with ":", "\\n", "\\r" and "\\\\" in STOMP 1.2', async () => {
      const client = await connect({ version: '1.2' });
      const queue = `/queue/${uniqueName('escaping')}`;
      const inbox = new Inbox();
      await client.subscribe(queue, inbox.handler);
      const tricky = 'a:b\nc\\d\re:';
      await client.send(queue, 'escaped', { 'x-tricky': tricky, 'x:name': 'colon in name' });
      const [message] = await inbox.take(1);
      expect(message?.headers['x-tricky']).toBe(tricky);
      expect(message?.headers['x:name']).toBe('colon in name');
    });

    it('escapes header values on the wire in STOMP 1.2', async () => {
      const connection = await rawConnected();
      const queue = `/queue/${uniqueName('wire')}`;
      connection.write(`SUBSCRIBE\nid:1\ndestination:${queue}\nreceipt:sub\n\n\0`);
      await connection.next('RECEIPT');
      connection.write(`SEND\ndestination:${queue}\nx-v:one\\ctwo\\nthree\\\\\n\nbody\0`);
      await connection.next('MESSAGE');
      const message = connection.frames.find((f) => f.command === 'MESSAGE')!;
      expect(message.headers['x-v']).toBe('one:two\nthree\\');
    });

    it('round-trips header values with ":" and "\\n" in STOMP 1.1', async () => {
      const client = await connect({ version: '1.1' });
      const queue = `/queue/${uniqueName('escaping11')}`;
      const inbox = new Inbox();
      await client.subscribe(queue, inbox.handler);
      await client.send(queue, 'escaped', { 'x-tricky': 'k:v\nnext' });
      const [message] = await inbox.take(1);
      expect(message?.headers['x-tricky']).toBe('k:v\nnext');
    });

    it('carries a binary body with NUL bytes by content-length', async () => {
      const client = await connect();
      const queue = `/queue/${uniqueName('binary')}`;
      const inbox = new Inbox();
      await client.subscribe(queue, inbox.handler);
      const small = Buffer.from([0, 1, 0, 255, 0, 0x0a, 0]);
      const large = Buffer.concat([randomBytes(100_000), Buffer.alloc(1000)]);
      await client.send(queue, small, { persistent: true });
      await client.send(queue, large, {
        persistent: true,
        'content-type': 'application/octet-stream',
      });
      const [first, second] = await inbox.take(2);
      expect(first?.body.equals(small)).toBe(true);
      expect(first?.headers['content-length']).toBe(String(small.length));
      expect(second?.body.equals(large)).toBe(true);
      expect(second?.headers['content-type']).toBe('application/octet-stream');
    });

    it('answers receipts on SUBSCRIBE, BEGIN, COMMIT, ABORT, UNSUBSCRIBE and DISCONNECT', async () => {
      const connection = await rawConnected();
      const queue = `/queue/${uniqueName('receipts')}`;
      connection.frame('SUBSCRIBE', { id: 's1', destination: queue, receipt: 'r-subscribe' });
      connection.frame('BEGIN', { transaction: 't1', receipt: 'r-begin' });
      connection.frame(
        'SEND',
        { destination: queue, transaction: 't1', receipt: 'r-send' },
        'in t1',
      );
      connection.frame('COMMIT', { transaction: 't1', receipt: 'r-commit' });
      connection.frame('BEGIN', { transaction: 't2', receipt: 'r-begin-2' });
      connection.frame('ABORT', { transaction: 't2', receipt: 'r-abort' });
      await waitFor(
        () => connection.frames.some((f) => f.command === 'MESSAGE'),
        5000,
        'the committed message',
      );
      connection.frame('UNSUBSCRIBE', { id: 's1', receipt: 'r-unsubscribe' });
      connection.frame('DISCONNECT', { receipt: 'r-disconnect' });
      await connection.waitClosed();
      const receipts = connection.frames
        .filter((f) => f.command === 'RECEIPT')
        .map((f) => f.headers['receipt-id']);
      expect(receipts).toEqual([
        'r-subscribe',
        'r-begin',
        'r-send',
        'r-commit',
        'r-begin-2',
        'r-abort',
        'r-unsubscribe',
        'r-disconnect',
      ]);
      expect(connection.frames.filter((f) => f.command === 'ERROR')).toEqual([]);
    });
  });

  describe('heart-beating', () => {
    it('negotiates heart-beats both ways and sends EOLs at the agreed interval', async () => {
      const connection = await rawConnected({ 'heart-beat': `${heartBeatMs},${heartBeatMs}` });
      const connected = connection.frames.find((f) => f.command === 'CONNECTED')!;
      expect(connected.headers['heart-beat']).toBe(`${heartBeatMs},${heartBeatMs}`);
      const startedAt = performance.now();
      // The client keeps its side alive meanwhile.
      const beat = setInterval(() => connection.write('\n'), heartBeatMs / 2);
      try {
        await waitFor(() => connection.heartbeats >= 4, 3000, 'four heart-beats from the broker');
      } finally {
        clearInterval(beat);
      }
      const elapsedMs = performance.now() - startedAt;
      expect(elapsedMs).toBeGreaterThanOrEqual(3 * heartBeatMs - 50);
      expect(elapsedMs).toBeLessThan(8 * heartBeatMs);
      expect(connection.isClosed).toBe(false);
    });

    it('keeps a connection whose client sends heart-beats', async () => {
      const client = await connect({ heartBeat: [heartBeatMs, heartBeatMs] });
      expect(client.connectedHeaders['heart-beat']).toBe(`${heartBeatMs},${heartBeatMs}`);
      const closed = { value: false };
      void client.closed.then(() => (closed.value = true));
      // Idle for six intervals: only heart-beats flow, and they keep it alive.
      await new Promise((resolve) => setTimeout(resolve, 6 * heartBeatMs));
      expect(closed.value).toBe(false);
      await assertWorks(client, 'still alive');
    });

    it('closes a connection whose client stops sending anything after about twice the interval', async () => {
      const connection = await rawConnected({ 'heart-beat': `${heartBeatMs},${heartBeatMs}` });
      const lastSentAt = performance.now();
      await connection.waitClosed(5000);
      const silentMs = performance.now() - lastSentAt;
      // The broker counts from the CONNECT it read, a moment before this side saw CONNECTED.
      expect(silentMs).toBeGreaterThanOrEqual(2 * heartBeatMs - 50);
      expect(silentMs).toBeLessThan(5 * heartBeatMs);
      await assertWorks(control, 'control after heart-beat timeout');
    });

    it('does not heart-beat when the client asks for none', async () => {
      const connection = await rawConnected({ 'heart-beat': '0,0' });
      expect(connection.frames[0]?.headers['heart-beat']).toBe('0,0');
    });
  });

  describe('errors', () => {
    it('refuses a wrong password and an unknown user with the same message, and closes', async () => {
      const wrongPassword = await raw();
      wrongPassword.frame('CONNECT', {
        'accept-version': '1.2',
        host,
        login: 'admin',
        passcode: 'wrong',
      });
      const unknownUser = await raw();
      unknownUser.frame('CONNECT', {
        'accept-version': '1.2',
        host,
        login: 'nobody',
        passcode: 'admin',
      });
      const first = await expectErrorAndClose(wrongPassword, 'wrong password');
      const second = await expectErrorAndClose(unknownUser, 'unknown user');
      expect(first).toBe('invalid username or password');
      expect(second).toBe(first);
      await expect(broker.connect({ passcode: 'nope' })).rejects.toSatisfy(isStompServerError);
    });

    it('refuses a SEND without a destination, naming the header', async () => {
      const connection = await rawConnected();
      connection.frame('SEND', { receipt: 'r1' }, 'nowhere');
      const error = await connection.next('ERROR');
      expect(error.headers['message']).toBe(
        'SEND frame is missing the required "destination" header',
      );
      expect(error.headers['receipt-id']).toBe('r1');
      await connection.waitClosed();
      await assertWorks(control, 'control after missing destination');
    });

    it('refuses an unknown command', async () => {
      const connection = await rawConnected();
      connection.write('FROBNICATE\nx:1\n\n\0');
      expect(await expectErrorAndClose(connection, 'unknown command')).toBe(
        'unknown command "FROBNICATE"',
      );
    });

    it('refuses a frame other than CONNECT first', async () => {
      const connection = await raw();
      connection.frame('SEND', { destination: '/queue/x' }, 'too early');
      expect(await expectErrorAndClose(connection, 'SEND before CONNECT')).toBe(
        'expected a CONNECT or STOMP frame first, got SEND',
      );
    });

    it('refuses an invalid destination', async () => {
      const connection = await rawConnected();
      connection.frame('SEND', { destination: '/elsewhere/x' }, 'lost');
      expect(await expectErrorAndClose(connection, 'invalid destination')).toContain(
        'must start with /queue/',
      );
    });

    it('refuses an undefined escape sequence in STOMP 1.2', async () => {
      const connection = await rawConnected();
      connection.write('SEND\ndestination:/queue/esc\nx:bad\\t\n\n\0');
      expect(await expectErrorAndClose(connection, 'bad escape')).toContain(
        'undefined escape sequence',
      );
    });

    it.each<[StompVersion]>([['1.0'], ['1.1']])(
      'answers a receipt header it cannot echo in STOMP %s with an ERROR, without crashing',
      async (version) => {
        const connection = await rawConnected({ 'accept-version': version });
        // A value ending in CR: STOMP 1.0 and 1.1 have no escape for it.
        connection.write('BEGIN\ntransaction:t\nreceipt:r\r\r\n\n\0');
        const error = await connection.next('ERROR');
        expect(error.headers['message']).toMatch(/receipt/);
        await connection.waitClosed();
        await assertWorks(control, `control after an unencodable receipt in ${version}`);
      },
    );

    it('delivers to a STOMP 1.0 subscriber a message whose headers 1.0 cannot carry', async () => {
      const queue = `/queue/${uniqueName('to-1.0')}`;
      const old = await connect({ version: '1.0' });
      const inbox = new Inbox();
      await old.subscribe(queue, inbox.handler);
      const producer = await connect({ version: '1.2' });
      await producer.send(queue, 'multi-line header', { 'x-lines': 'one\ntwo', 'x-plain': 'kept' });
      const [message] = await inbox.take(1);
      expect(message?.body.toString()).toBe('multi-line header');
      expect(message?.headers['x-plain']).toBe('kept');
      expect(message?.headers['x-lines']).toBeUndefined();
      await assertWorks(old, '1.0 subscriber still works');
    });
  });
});
