import {
  AckPolicy,
  ErrorCode,
  Events,
  connect,
  type JsMsg,
  type NatsConnection,
  type Status,
} from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsPermissions, NatsUser } from './nats-config.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { replicationUserPermissions } from './replication-permissions.js';
import { waitFor } from './wait-for.js';

// The primary Region's NATS: REPL_A is the replication log this replicator may read through its
// durable consumer `replicator`; REPL_B is another broker's log and QUEUES stands for any other
// data in the account. The same consumer name exists on all three on purpose.
const STREAM = 'REPL_A';
const CONSUMER = 'replicator';
const EVENTS = 10;
const PASSWORD = 'pw';

/** The helper's permissions without one entry, to show that each entry is needed. */
function without(consumer: string, drop: string): NatsPermissions {
  const full = replicationUserPermissions(STREAM, consumer);
  // An empty allow list means no restriction to nats-server, so "nothing" is a deny of `>`.
  const keep = (subjects: readonly string[] | undefined) => {
    const kept = (subjects ?? []).filter((subject) => !subject.includes(drop));
    return kept.length > 0 ? { allow: kept } : { deny: ['>'] };
  };
  return { publish: keep(full.publish?.allow), subscribe: keep(full.subscribe?.allow) };
}

const minimality = [
  { consumer: 'no-info', drop: '$JS.API.CONSUMER.INFO' },
  { consumer: 'no-next', drop: '$JS.API.CONSUMER.MSG.NEXT' },
  { consumer: 'no-ack', drop: '$JS.ACK' },
  { consumer: 'no-inbox', drop: '_INBOX' },
] as const;

const users: NatsUser[] = [
  { user: 'admin', password: PASSWORD },
  { user: CONSUMER, password: PASSWORD, permissions: replicationUserPermissions(STREAM, CONSUMER) },
  {
    user: 'private-inbox',
    password: PASSWORD,
    permissions: replicationUserPermissions(STREAM, 'private-inbox', {
      inboxPrefix: '_INBOX_private',
    }),
  },
  ...minimality.map(({ consumer, drop }) => ({
    user: consumer,
    password: PASSWORD,
    permissions: without(consumer, drop),
  })),
];

describe('replicationUserPermissions', () => {
  let server: NatsServerHandle;
  let admin: NatsConnection;
  const connections: NatsConnection[] = [];

  /** A connection as `user` and the status events (permission errors) it receives. */
  const connectAs = async (user: string, inboxPrefix?: string) => {
    const nc = await connect({
      servers: server.url,
      user,
      pass: PASSWORD,
      reconnect: false,
      ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
    });
    connections.push(nc);
    const statuses: Status[] = [];
    void (async () => {
      for await (const status of nc.status()) statuses.push(status);
    })();
    const refused = (operation: 'publish' | 'subscription', subject: string) =>
      waitFor(
        () =>
          statuses.some(
            (s) =>
              s.permissionContext?.operation === operation &&
              s.permissionContext.subject === subject,
          ),
        `a permissions violation for ${operation} ${subject}`,
        5_000,
      );
    return { nc, js: nc.jetstream(), statuses, refused };
  };

  const ackFloor = async (consumer: string) =>
    (await (await admin.jetstreamManager()).consumers.info(STREAM, consumer)).ack_floor.stream_seq;

  const fetchAll = async (
    js: ReturnType<NatsConnection['jetstream']>,
    consumer: string,
    max: number,
  ) => {
    const messages = await (
      await js.consumers.get(STREAM, consumer)
    ).fetch({ max_messages: max, expires: 1_000 });
    const received: JsMsg[] = [];
    for await (const m of messages) received.push(m);
    return received;
  };

  beforeAll(async () => {
    server = await startNatsServer({ users });
    admin = await connect({ servers: server.url, user: 'admin', pass: PASSWORD });
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: ['repl.a.>'] });
    await jsm.streams.add({ name: 'REPL_B', subjects: ['repl.b.>'] });
    await jsm.streams.add({ name: 'QUEUES', subjects: ['queue.>'] });
    const durable = (name: string) => ({ durable_name: name, ack_policy: AckPolicy.Explicit });
    for (const name of [CONSUMER, 'other', 'private-inbox', ...minimality.map((m) => m.consumer)])
      await jsm.consumers.add(STREAM, durable(name));
    await jsm.consumers.add('REPL_B', durable(CONSUMER));
    await jsm.consumers.add('QUEUES', durable(CONSUMER));
    const js = admin.jetstream();
    for (let seq = 1; seq <= EVENTS; seq++)
      await js.publish('repl.a.events', `event ${seq}`, { msgID: String(seq) });
    await js.publish('repl.b.events', 'another broker');
    await js.publish('queue.orders', 'a client message');
  });
  afterAll(async () => {
    await Promise.all([...connections, admin].map((nc) => nc?.close()));
    await server?.cleanup();
  });

  it('lets the replication user fetch, consume and ack through its durable consumer', async () => {
    const { js, statuses } = await connectAs(CONSUMER);
    const fetched = await fetchAll(js, CONSUMER, 4);
    expect(fetched.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    for (const m of fetched) expect(await m.ackAck()).toBe(true);

    const consumer = await js.consumers.get(STREAM, CONSUMER);
    expect((await consumer.info()).num_pending).toBe(EVENTS - 4);
    const messages = await consumer.consume({ max_messages: 3 });
    for await (const m of messages) {
      m.ack();
      if (m.seq === EVENTS) break;
    }
    await waitFor(async () => (await ackFloor(CONSUMER)) === EVENTS, 'every event acked');
    expect(statuses.filter((s) => s.type === Events.Error)).toEqual([]);
  });

  it('works with a private inbox prefix, which keeps it out of other users’ replies', async () => {
    const { nc, js, refused } = await connectAs('private-inbox', '_INBOX_private');
    const fetched = await fetchAll(js, 'private-inbox', EVENTS);
    expect(fetched).toHaveLength(EVENTS);
    for (const m of fetched) m.ack();
    await nc.flush();
    await waitFor(async () => (await ackFloor('private-inbox')) === EVENTS, 'every event acked');

    nc.subscribe('_INBOX.>');
    await refused('subscription', '_INBOX.>');
  });

  it('refuses creating or using any other consumer, on this stream or another', async () => {
    const { nc, js } = await connectAs(CONSUMER);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    const refusal = { code: ErrorCode.PermissionsViolation };
    const durable = { durable_name: 'mine', ack_policy: AckPolicy.Explicit };

    await expect(jsm.consumers.add('QUEUES', durable)).rejects.toMatchObject(refusal);
    await expect(jsm.consumers.add('REPL_B', durable)).rejects.toMatchObject(refusal);
    await expect(jsm.consumers.add(STREAM, durable)).rejects.toMatchObject(refusal);
    await expect(js.consumers.get(STREAM)).rejects.toMatchObject(refusal); // ordered, ephemeral
    await expect(js.consumers.get(STREAM, 'other')).rejects.toMatchObject(refusal);
    await expect(js.consumers.get('REPL_B', CONSUMER)).rejects.toMatchObject(refusal);
    await expect(js.consumers.get('QUEUES', CONSUMER)).rejects.toMatchObject(refusal);
  });

  it('refuses reading another stream by pull request, direct get or subscription', async () => {
    const { nc, refused } = await connectAs(CONSUMER);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    const refusal = { code: ErrorCode.PermissionsViolation };

    await expect(jsm.streams.getMessage('QUEUES', { seq: 1 })).rejects.toMatchObject(refusal);
    await expect(jsm.streams.getMessage(STREAM, { seq: 1 })).rejects.toMatchObject(refusal);
    await expect(jsm.streams.info(STREAM)).rejects.toMatchObject(refusal);
    await expect(jsm.streams.list().next()).rejects.toMatchObject(refusal);

    // A raw pull request on another stream's consumer, skipping the client's INFO lookup.
    const inbox = nc.subscribe('_INBOX.raw');
    nc.publish('$JS.API.CONSUMER.MSG.NEXT.QUEUES.replicator', '{"batch":1}', {
      reply: '_INBOX.raw',
    });
    await refused('publish', '$JS.API.CONSUMER.MSG.NEXT.QUEUES.replicator');
    expect(inbox.getReceived()).toBe(0);

    for (const subject of ['queue.>', 'repl.a.>', 'repl.b.events', '>', '$JS.ACK.>']) {
      nc.subscribe(subject);
      await refused('subscription', subject);
    }
    expect(
      (await (await admin.jetstreamManager()).consumers.info('QUEUES', CONSUMER)).delivered
        .stream_seq,
    ).toBe(0);
  });

  it('refuses publishing to any other subject, its own log and the JetStream API included', async () => {
    const { nc, js, refused } = await connectAs(CONSUMER);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    const refusal = { code: ErrorCode.PermissionsViolation };
    const seen = admin.subscribe('>');
    await admin.flush();

    const forgedSubjects = ['repl.a.events', 'queue.orders', 'anything', '_INBOX.someone.else'];
    for (const subject of forgedSubjects) {
      nc.publish(subject, 'forged');
      await refused('publish', subject);
    }
    // Acking on another consumer's behalf.
    nc.publish('$JS.ACK.QUEUES.replicator.1.1.1.0.0');
    await refused('publish', '$JS.ACK.QUEUES.replicator.1.1.1.0.0');
    await expect(js.publish('repl.a.events', 'forged')).rejects.toMatchObject(refusal);
    await expect(jsm.streams.purge(STREAM)).rejects.toMatchObject(refusal);
    await expect(jsm.streams.delete('QUEUES')).rejects.toMatchObject(refusal);
    await expect(jsm.consumers.delete(STREAM, CONSUMER)).rejects.toMatchObject(refusal);
    await expect(nc.request('$JS.API.INFO')).rejects.toMatchObject(refusal);

    await admin.flush();
    seen.unsubscribe();
    const delivered: string[] = [];
    for await (const m of seen) delivered.push(m.subject);
    expect(delivered.filter((subject) => forgedSubjects.includes(subject))).toEqual([]);
    const state = async (stream: string) =>
      (await (await admin.jetstreamManager()).streams.info(stream)).state.messages;
    expect([await state(STREAM), await state('QUEUES')]).toEqual([EVENTS, 1]);
  });

  describe('each permission is needed', () => {
    it('without CONSUMER.INFO the consumer cannot be looked up', async () => {
      const { js } = await connectAs('no-info');
      await expect(js.consumers.get(STREAM, 'no-info')).rejects.toMatchObject({
        code: ErrorCode.PermissionsViolation,
      });
    });

    it('without CONSUMER.MSG.NEXT nothing can be pulled', async () => {
      const { js, refused } = await connectAs('no-next');
      const fetched = await fetchAll(js, 'no-next', 1).catch(() => []);
      expect(fetched).toEqual([]);
      await refused('publish', `$JS.API.CONSUMER.MSG.NEXT.${STREAM}.no-next`);
    });

    it('without $JS.ACK messages arrive but cannot be acknowledged', async () => {
      const { js } = await connectAs('no-ack');
      const [m] = await fetchAll(js, 'no-ack', 1);
      expect(m?.seq).toBe(1);
      await expect(m!.ackAck()).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
      expect(await ackFloor('no-ack')).toBe(0);
    });

    it('without the inbox subscription no reply can arrive', async () => {
      const { js } = await connectAs('no-inbox');
      await expect(js.consumers.get(STREAM, 'no-inbox')).rejects.toMatchObject({
        code: ErrorCode.PermissionsViolation,
      });
    });
  });
});
