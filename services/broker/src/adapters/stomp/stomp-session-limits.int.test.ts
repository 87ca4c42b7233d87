import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@crdr/testing';
import { startTestBroker, uniqueName, type TestBroker } from './broker.test-helper.js';
import { stompjsConnect, type StompjsSession } from './stompjs.test-helper.js';

const maxConnections = 4;
const maxConnectionsPerUser = 2;
const maxTransactionBytes = 64 * 1024;

describe('STOMP session limits', () => {
  let broker: TestBroker;
  const open: StompjsSession[] = [];
  const connect = async (user: string, password: string): Promise<StompjsSession> => {
    const session = await stompjsConnect(broker.wsPort, user, password);
    open.push(session);
    return session;
  };

  beforeAll(async () => {
    broker = await startTestBroker('stomp_session_limits', {
      BROKER_USERS: 'admin:admin,app:app-password-1,ops:ops-password-1',
      BROKER_MAX_CONNECTIONS: String(maxConnections),
      BROKER_MAX_CONNECTIONS_PER_USER: String(maxConnectionsPerUser),
      BROKER_MAX_TRANSACTION_BYTES: String(maxTransactionBytes),
    });
  });
  afterAll(async () => {
    for (const session of open) await session.close();
    await broker?.close();
  });

  it('caps connections per user and overall, and frees a place when one closes', async () => {
    expect((await connect('app', 'app-password-1')).outcome).toBe('connected');
    const second = await connect('app', 'app-password-1');
    expect(second.outcome).toBe('connected');
    expect((await connect('app', 'app-password-1')).outcome).toBe(
      `user "app" has reached the maximum of ${maxConnectionsPerUser} connections per user`,
    );
    expect((await connect('ops', 'ops-password-1')).outcome).toBe('connected');
    expect((await connect('admin', 'admin')).outcome).toBe('connected');
    expect((await connect('admin', 'admin')).outcome).toBe(
      `the broker has reached its maximum of ${maxConnections} connections; try again later`,
    );
    await second.close();
    // The broker counts the connection out once it has seen it close.
    let again: StompjsSession | undefined;
    await waitFor(async () => {
      again = await connect('app', 'app-password-1');
      return again.outcome === 'connected';
    }, 'a place for app again');
    expect(again?.outcome).toBe('connected');
    for (const session of open.splice(0)) await session.close();
  });

  it('refuses a send that would make open transactions hold too much, and frees it on abort', async () => {
    // Let the connections closed above be counted out.
    let session: StompjsSession | undefined;
    await waitFor(async () => {
      session = await connect('app', 'app-password-1');
      return session.outcome === 'connected';
    }, 'a connection');
    const { client } = session!;
    const queue = `/queue/${uniqueName('tx-limit')}`;
    const body = 'x'.repeat(40 * 1024);
    const held = client.begin();
    client.publish({ destination: queue, body, headers: { transaction: held.id } });
    client.publish({ destination: queue, body, headers: { transaction: held.id } });
    await waitFor(() => session!.errors.length > 0, 'an ERROR for the second send');
    expect(session!.errors[0]).toMatch(
      new RegExp(
        `^transaction "${held.id}" cannot hold this message: open transactions would hold more than the broker's limit of ${maxTransactionBytes} bytes`,
      ),
    );
    await session!.close();

    // The refused connection's transaction was aborted with it: its bytes are free again, and
    // nothing of it was delivered.
    const next = await connect('app', 'app-password-1');
    const tx = next.client.begin();
    next.client.publish({ destination: queue, body, headers: { transaction: tx.id } });
    const receipt = new Promise<void>((resolve) => next.client.watchForReceipt('done', resolve));
    tx.commit();
    next.client.publish({ destination: queue, body: 'after', headers: { receipt: 'done' } });
    await receipt;
    expect(next.errors).toEqual([]);
    const admin = await broker.connect();
    try {
      const bodies: string[] = [];
      await admin.subscribe(queue, (m) => bodies.push(m.body.toString()));
      await waitFor(() => bodies.length === 2, 'the committed message and the next');
      expect(bodies.map((b) => b.length)).toEqual([body.length, 'after'.length]);
    } finally {
      await admin.disconnect();
    }
  });
});
