import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { createTestPki, type TestPki } from './test-pki.js';
import { waitFor } from './wait-for.js';

const quick = { timeout: 3_000, reconnect: false } satisfies ConnectionOptions;

describe('startNatsServer with mutual TLS', () => {
  let pki: TestPki;
  let server: NatsServerHandle;
  const connections: NatsConnection[] = [];
  const open = async (options: ConnectionOptions) => {
    const nc = await connect({ servers: server.url, ...quick, ...options });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startNatsServer({
      serverName: 'region-a',
      monitorPort: 0,
      tls: { cert: pki.server.certPath, key: pki.server.keyPath, ca: pki.ca.cert, verify: true },
      users: [{ user: 'replicator', password: 's3cret' }],
    });
  });
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await server?.cleanup();
    await pki?.cleanup();
  });

  it('listens on tls:// at the port it reports and serves its monitor', async () => {
    expect(server.url).toBe(`tls://127.0.0.1:${server.port}`);
    const health = await fetch(`${server.monitorUrl!}/healthz`);
    expect(health.status).toBe(200);
  });

  it('accepts a client whose certificate the CA signed', async () => {
    const nc = await open({
      user: 'replicator',
      pass: 's3cret',
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    expect(nc.info?.server_name).toBe('region-a');
    expect(nc.info?.tls_required).toBe(true);
    await nc.flush();
  });

  it('refuses a client certificate from another CA', async () => {
    await expect(
      open({
        user: 'replicator',
        pass: 's3cret',
        tls: { ca: pki.ca.cert, cert: pki.foreignClient.cert, key: pki.foreignClient.key },
      }),
    ).rejects.toThrow();
    await waitFor(
      () => server.logs().includes('certificate signed by unknown authority'),
      'the server to log why it refused the certificate',
    );
  });

  it('refuses a client without a certificate', async () => {
    await expect(
      open({ user: 'replicator', pass: 's3cret', tls: { ca: pki.ca.cert } }),
    ).rejects.toThrow();
    await waitFor(
      () => server.logs().includes("client didn't provide a certificate"),
      'the server to log why it refused the client',
    );
  });

  it('refuses a plaintext client', async () => {
    await expect(
      open({
        servers: `nats://127.0.0.1:${server.port}`,
        tls: null,
        user: 'replicator',
        pass: 's3cret',
      }),
    ).rejects.toThrow(/tls/i);
  });

  it('refuses a wrong password even with the right certificate', async () => {
    await expect(
      open({
        user: 'replicator',
        pass: 'wrong',
        tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
      }),
    ).rejects.toThrow(/authorization/i);
  });
});

describe('startNatsServer JetStream store', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  const streamState = async () => {
    const nc = await connect({ servers: server.url, ...quick });
    try {
      const jsm = await nc.jetstreamManager();
      return (await jsm.streams.info('REPL')).state;
    } finally {
      await nc.close();
    }
  };

  it('keeps streams and messages across restart() and a kill -9', async () => {
    const nc = await connect({ servers: server.url, ...quick });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'REPL', subjects: ['repl.>'] });
    const js = nc.jetstream();
    for (let i = 1; i <= 5; i++) await js.publish('repl.a', `event ${i}`, { msgID: String(i) });
    await nc.close();
    const { port, url, storeDir } = server;

    const firstPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect([server.port, server.url, server.storeDir]).toEqual([port, url, storeDir]);
    expect(await streamState()).toMatchObject({ messages: 5, last_seq: 5 });

    await server.kill();
    expect(server.pid).toBeUndefined();
    await server.restart();
    expect(await streamState()).toMatchObject({ messages: 5, last_seq: 5 });
    expect(server.logs()).toContain('Server is ready');
  });
});

describe('startNatsServer accounts passthrough', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer({
      accounts: {
        REGION_A: { jetstream: 'enabled', users: [{ user: 'broker', password: 'pw' }] },
        OTHER: { users: [{ user: 'other', password: 'pw' }] },
      },
    });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('gives JetStream to the accounts that enable it, and keeps accounts apart', async () => {
    const broker = await connect({ servers: server.url, user: 'broker', pass: 'pw', ...quick });
    const other = await connect({ servers: server.url, user: 'other', pass: 'pw', ...quick });
    try {
      const jsm = await broker.jetstreamManager();
      await jsm.streams.add({ name: 'LOG', subjects: ['log.>'] });
      await expect(other.jetstreamManager()).rejects.toThrow();
      const seen = other.subscribe('log.>', { max: 1 });
      await other.flush();
      await broker.jetstream().publish('log.1', 'x');
      await other.flush();
      expect(seen.getReceived()).toBe(0);
    } finally {
      await Promise.all([broker.close(), other.close()]);
    }
  });
});
