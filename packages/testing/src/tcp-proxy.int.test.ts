import { once } from 'node:events';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { Events, connect, type NatsConnection, type Status } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { createTestPki, type TestPki } from './test-pki.js';
import { waitFor } from './wait-for.js';

describe('startTcpProxy', () => {
  let echo: Server;
  let echoPort: number;
  const proxies: TcpProxy[] = [];
  const sockets: Socket[] = [];
  const echoSockets = new Set<Socket>();

  const proxyToEcho = async () => {
    const proxy = await startTcpProxy({ targetPort: echoPort });
    proxies.push(proxy);
    return proxy;
  };
  /** A client socket through `proxy` that collects what it receives. */
  const dial = async (proxy: TcpProxy) => {
    const socket = connectTcp({ host: proxy.host, port: proxy.port });
    sockets.push(socket);
    const received: string[] = [];
    let closed = false;
    socket.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    await once(socket, 'connect');
    return { socket, text: () => received.join(''), closed: () => closed };
  };

  beforeAll(async () => {
    echo = createServer((socket) => {
      echoSockets.add(socket);
      socket.once('close', () => echoSockets.delete(socket));
      socket.on('error', () => {}).pipe(socket);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    echoPort = (echo.address() as { port: number }).port;
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  afterAll(async () => {
    for (const socket of echoSockets) socket.destroy();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('forwards both ways and counts its connections', async () => {
    const proxy = await proxyToEcho();
    const client = await dial(proxy);
    client.socket.write('ping');
    await waitFor(() => client.text() === 'ping', 'the echo');
    expect(proxy.connections).toBe(1);
    client.socket.end();
    await waitFor(() => proxy.connections === 0, 'the connection to go');
  });

  it('cut() resets open connections and holds new ones until heal()', async () => {
    const proxy = await proxyToEcho();
    const before = await dial(proxy);
    proxy.cut();
    await waitFor(() => before.closed(), 'the open connection to be reset');
    expect(proxy.isCut).toBe(true);

    const during = await dial(proxy); // accepted, like a SYN still in flight, but silent
    during.socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([during.text(), during.closed(), proxy.held]).toEqual(['', false, 1]);

    proxy.heal();
    await waitFor(() => during.text() === 'held', 'the held connection to go through');
    expect([proxy.held, proxy.connections]).toEqual([0, 1]);
  });

  it("cut({ incoming: 'reset' }) drops new connections at once", async () => {
    const proxy = await proxyToEcho();
    proxy.cut({ incoming: 'reset' });
    const during = connectTcp({ host: proxy.host, port: proxy.port });
    sockets.push(during);
    const [error] = (await once(during, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    proxy.heal();
    const after = await dial(proxy);
    after.socket.write('back');
    await waitFor(() => after.text() === 'back', 'the echo after heal');
  });

  it("cut({ existing: 'freeze' }) delays traffic on open connections until heal()", async () => {
    const proxy = await proxyToEcho();
    const client = await dial(proxy);
    proxy.cut({ existing: 'freeze' });
    client.socket.write('delayed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([client.text(), client.closed()]).toEqual(['', false]);
    proxy.heal();
    await waitFor(() => client.text() === 'delayed', 'the delayed bytes');
  });

  it('close() stops listening and resets every connection', async () => {
    const proxy = await startTcpProxy({ targetPort: echoPort });
    const client = await dial(proxy);
    await proxy.close();
    await waitFor(() => client.closed(), 'the connection to be reset');
    const refused = connectTcp({ host: proxy.host, port: proxy.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('startTcpProxy in front of NATS over mutual TLS', () => {
  let pki: TestPki;
  let server: NatsServerHandle;
  let proxy: TcpProxy;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startNatsServer({
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert },
    });
    proxy = await startTcpProxy({ targetPort: server.port });
  });
  afterAll(async () => {
    await nc?.close();
    await proxy?.close();
    await server?.cleanup();
    await pki?.cleanup();
  });

  it('cut() breaks a live connection and the client reconnects after heal()', async () => {
    const conn = await connect({
      servers: `tls://127.0.0.1:${proxy.port}`,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
      reconnectTimeWait: 50,
      reconnectJitterTLS: 0,
      maxReconnectAttempts: -1,
      timeout: 5_000,
    });
    nc = conn;
    const statuses: Status['type'][] = [];
    void (async () => {
      for await (const status of conn.status()) statuses.push(status.type);
    })();
    const sub = conn.subscribe('echo', { callback: (_err, m) => m.respond(m.data) });
    await conn.flush();
    expect((await conn.request('echo', 'before')).string()).toBe('before');

    proxy.cut();
    await waitFor(() => statuses.includes(Events.Disconnect), 'the client to see the cut');
    await expect(conn.request('echo', 'during', { timeout: 300 })).rejects.toThrow();
    await waitFor(() => proxy.held > 0, 'a reconnect attempt to be held');

    proxy.heal();
    await waitFor(() => statuses.includes(Events.Reconnect), 'the client to reconnect');
    expect((await conn.request('echo', 'after')).string()).toBe('after');
    expect(sub.isClosed()).toBe(false);
  });
});
