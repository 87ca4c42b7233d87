import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { connectStomp } from './client.js';
import type { StompClient, StompClientOptions, StompMessage } from './client-types.js';
import { startFakeStompServer } from './fake-stomp-server.test-helper.js';
import type { FakeStompServer, FakeStompServerOptions } from './fake-stomp-server.test-helper.js';
import type { StompVersion } from './frame.js';
import { isStompConnectionError } from './stomp-connection-error.js';
import { isStompServerError } from './stomp-server-error.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeServer(options?: FakeStompServerOptions): Promise<FakeStompServer> {
  const server = await startFakeStompServer(options);
  cleanups.push(() => server.close());
  return server;
}

async function connect(
  server: FakeStompServer,
  opts: Partial<StompClientOptions> = {},
): Promise<StompClient> {
  const client = await connectStomp({
    host: '127.0.0.1',
    port: server.port,
    login: 'admin',
    passcode: 'secret',
    ...opts,
  });
  cleanups.push(() => client.destroy());
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

function nextMessage(messages: StompMessage[], count = 1): Promise<void> {
  return expect.poll(() => messages.length, { timeout: 2000 }).toBeGreaterThanOrEqual(count);
}

describe('STOMP client against a fake server', () => {
  it('connects, negotiates 1.2 and sends with a receipt', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    expect(client.version).toBe('1.2');
    expect(client.connectedHeaders['server']).toBe('fake/1');
    await client.send('/queue/a', Buffer.from([0, 1, 2]), { persistent: true, priority: 4 });
    const [connectFrame, send] = server.connections[0]!.frames;
    expect(connectFrame!.command).toBe('CONNECT');
    expect({ ...connectFrame!.headers }).toMatchObject({
      'accept-version': '1.2',
      login: 'admin',
      host: '127.0.0.1',
    });
    expect(send!.command).toBe('SEND');
    expect({ ...send!.headers }).toMatchObject({
      destination: '/queue/a',
      persistent: 'true',
      priority: '4',
      receipt: 'r1',
    });
    expect(send!.body).toEqual(Buffer.from([0, 1, 2]));
  });

  it.each<[StompVersion, Record<string, string>]>([
    ['1.2', { id: 'ack-1' }],
    ['1.1', { 'message-id': 'm-1', subscription: 'sub-1' }],
    ['1.0', { 'message-id': 'm-1' }],
  ])('subscribes, receives and acks in STOMP %s', async (version, ackHeaders) => {
    const server = await fakeServer();
    const client = await connect(server, { version });
    expect(client.version).toBe(version);
    const messages: StompMessage[] = [];
    const id = await client.subscribe('/queue/orders', (m) => messages.push(m), {
      ack: 'client-individual',
    });
    expect(id).toBe('sub-1');
    await client.send('/queue/orders', 'héllo', { 'x-key': 'a:b' });
    await nextMessage(messages);
    const message = messages[0]!;
    expect(message).toMatchObject({
      destination: '/queue/orders',
      messageId: 'm-1',
      subscription: 'sub-1',
    });
    expect(message.body.toString()).toBe('héllo');
    expect(message.headers['x-key']).toBe('a:b');
    await message.ack();
    await client.nack(message, { transaction: 'tx1' });
    const frames = server.connections[0]!.frames;
    const ack = frames.find((f) => f.command === 'ACK')!;
    expect({ ...ack.headers }).toEqual({ ...ackHeaders, receipt: 'r3' });
    const nack = frames.find((f) => f.command === 'NACK')!;
    expect({ ...nack.headers }).toEqual({ ...ackHeaders, transaction: 'tx1', receipt: 'r4' });
  });

  it('stops delivering after unsubscribe and keeps a caller-chosen id', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    const messages: StompMessage[] = [];
    expect(await client.subscribe('/topic/t', (m) => messages.push(m), { id: 'mine' })).toBe(
      'mine',
    );
    await client.send('/topic/t', 'one');
    await nextMessage(messages);
    await client.unsubscribe('mine');
    await client.send('/topic/t', 'two');
    await sleep(50);
    expect(messages.map((m) => m.body.toString())).toEqual(['one']);
  });

  it('rejects a bad login with the ERROR frame', async () => {
    const server = await fakeServer();
    const error = await rejection(connect(server, { passcode: 'wrong' }));
    expect(isStompServerError(error)).toBe(true);
    if (!isStompServerError(error)) return;
    expect(error.headers['message']).toBe('bad login');
    expect(error.body.toString()).toBe('Authentication failed');
    expect(error.message).toContain('bad login');
  });

  it('rejects a connect that gets no answer, and a refused connection', async () => {
    const server = await fakeServer({ mute: true });
    const timeout = await rejection(connect(server, { connectTimeoutMs: 100 }));
    expect(isStompConnectionError(timeout) && timeout.code).toBe('CONNECT_TIMEOUT');
    const port = server.port;
    await server.close();
    const refused = await rejection(connectStomp({ host: '127.0.0.1', port }));
    expect(isStompConnectionError(refused) && refused.code).toBe('CONNECTION_CLOSED');
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('rejects the operation an ERROR answers, and collects the other ERRORs', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    const seen: string[] = [];
    client.onError((e) => seen.push(e.headers['message'] ?? ''));
    const error = await rejection(client.send('/queue/reject', 'x'));
    expect(isStompServerError(error) && error.headers['receipt-id']).toBe('r1');
    client.sendFrame('BOGUS', { a: 'b' });
    await expect.poll(() => seen).toEqual(['unknown command BOGUS']);
    expect(client.receiveErrors().map((e) => e.headers['message'])).toEqual([
      'unknown command BOGUS',
    ]);
    await client.send('/queue/a', 'still connected');
  });

  it('tracks many outstanding receipts', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => client.send('/queue/many', `m${i}`)));
    expect(server.connections[0]!.frames.filter((f) => f.command === 'SEND')).toHaveLength(2000);
    await client.send('/queue/many', 'no receipt', {}, { receipt: false });
    const frames = server.connections[0]!.frames;
    await expect.poll(() => frames.length).toBe(2002);
    expect(frames.at(-2)?.headers['receipt']).toBe('r2000');
    expect(frames.at(-1)?.headers['receipt']).toBeUndefined();
  });

  it('runs transactions with receipts', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    await client.begin('tx1');
    await client.send('/queue/a', 'in tx', { transaction: 'tx1' });
    await client.commit('tx1');
    await client.begin('tx2');
    await client.abort('tx2');
    const frames = server.connections[0]!.frames.slice(1);
    expect(frames.map((f) => [f.command, f.headers['transaction']])).toEqual([
      ['BEGIN', 'tx1'],
      ['SEND', 'tx1'],
      ['COMMIT', 'tx1'],
      ['BEGIN', 'tx2'],
      ['ABORT', 'tx2'],
    ]);
  });

  it('disconnects with a receipt, then refuses to send', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    await client.disconnect();
    await client.closed;
    expect(server.connections[0]!.frames.at(-1)?.command).toBe('DISCONNECT');
    const error = await rejection(client.send('/queue/a', 'late'));
    expect(isStompConnectionError(error) && error.code).toBe('CONNECTION_CLOSED');
    await client.disconnect(); // idempotent
  });

  it('rejects pending receipts when the connection drops', async () => {
    const server = await fakeServer();
    const client = await connect(server);
    const pending = rejection(client.send('/queue/blackhole', 'x'));
    await sleep(20);
    await server.close();
    const error = await pending;
    expect(isStompConnectionError(error) && error.code).toBe('CONNECTION_CLOSED');
  });

  it('exchanges negotiated heart-beats', async () => {
    const server = await fakeServer({ heartBeat: [20, 20] });
    const client = await connect(server, { heartBeat: [20, 20] });
    expect(client.connectedHeaders['heart-beat']).toBe('20,20');
    expect(server.connections[0]!.frames[0]!.headers['heart-beat']).toBe('20,20');
    // However busy the machine, three beats arrive in the end (no time bound: they are counted).
    while (server.connections[0]!.heartbeatsSeen < 3) await sleep(20);
    expect(server.connections[0]!.heartbeatsSeen).toBeGreaterThanOrEqual(3);
    await client.send('/queue/a', 'alive');
  });

  it('treats a server silent for twice its heart-beat interval as dead', async () => {
    const server = await fakeServer({ heartBeat: [30, 0], silent: true });
    const client = await connect(server, { heartBeat: [0, 30] });
    const error = await rejection(client.send('/queue/blackhole', 'x'));
    expect(isStompConnectionError(error) && error.code).toBe('HEARTBEAT_TIMEOUT');
    await client.closed;
  });
});
