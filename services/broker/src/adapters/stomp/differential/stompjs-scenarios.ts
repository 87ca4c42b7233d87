import { Client, type IFrame, type IMessage } from '@stomp/stompjs';
import { waitFor } from '@crdr/testing';
import type { Scenario, Target } from './differential.test-helper.js';
import { StompTcpSocket } from './stomp-tcp-socket.js';

// Scenarios driven with @stomp/stompjs, over TCP (stomp-tcp-socket.ts).

interface Session {
  readonly client: Client;
  /** 'connected' or 'refused' (an ERROR before CONNECTED), and the CONNECTED frame's headers. */
  readonly outcome: 'connected' | 'refused';
  readonly connected: Readonly<Record<string, string>>;
}

async function open(
  target: Target,
  options: { passcode?: string; heartbeatIncoming?: number; heartbeatOutgoing?: number } = {},
): Promise<Session> {
  const client = new Client({
    webSocketFactory: () => new StompTcpSocket(target.host, target.stompPort),
    connectHeaders: { login: 'admin', passcode: options.passcode ?? 'admin', host: 'localhost' },
    reconnectDelay: 0,
    heartbeatIncoming: options.heartbeatIncoming ?? 0,
    heartbeatOutgoing: options.heartbeatOutgoing ?? 0,
    debug: () => undefined,
  });
  const result = await new Promise<{ outcome: Session['outcome']; frame?: IFrame }>((resolve) => {
    client.onConnect = (frame) => resolve({ outcome: 'connected', frame });
    client.onStompError = () => resolve({ outcome: 'refused' });
    client.onWebSocketClose = () => resolve({ outcome: 'refused' });
    client.activate();
  });
  return { client, outcome: result.outcome, connected: result.frame?.headers ?? {} };
}

async function subscribe(client: Client, destination: string, id: string): Promise<IMessage[]> {
  const received: IMessage[] = [];
  const receipt = `sub-${id}`;
  const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, (m) => received.push(m), { id, receipt });
  await done;
  return received;
}

async function publish(client: Client, destination: string, body: string): Promise<void> {
  const receipt = `send-${destination}-${body}`;
  const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.publish({ destination, body, headers: { receipt } });
  await done;
}

const seen = (messages: readonly IMessage[]): { body: string; headers: Record<string, string> }[] =>
  messages.map((m) => ({ body: m.body, headers: { ...m.headers } }));

export const stompjsScenarios: readonly Scenario[] = [
  {
    name: 'topic wildcards * and >, topics created after the subscription included',
    client: '@stomp/stompjs',
    async run(target) {
      const { client } = await open(target);
      await publish(client, '/topic/diff.js.w.early.x', 'before');
      const star = await subscribe(client, '/topic/diff.js.w.*.x', 'star');
      const rest = await subscribe(client, '/topic/diff.js.w.>', 'rest');
      for (const [topic, body] of [
        ['diff.js.w.late.x', 'late'],
        ['diff.js.w.early.x', 'early'],
        ['diff.js.w.a.b.c', 'deep'],
        ['diff.js.w', 'root'],
        ['diff.js.w.end.x', 'end'],
      ] as const)
        await publish(client, `/topic/${topic}`, body);
      await waitFor(
        () => star.some((m) => m.body === 'end') && rest.some((m) => m.body === 'end'),
        '"end" on both wildcard subscriptions',
        60_000,
      );
      await client.deactivate();
      return { star: seen(star), rest: seen(rest) };
    },
  },
  {
    name: 'heart-beat negotiation (the CONNECTED heart-beat header)',
    client: '@stomp/stompjs',
    async run(target) {
      const asked: [number, number][] = [
        [0, 0],
        [0, 500],
        [1000, 0],
        [500, 500],
        [20_000, 15_000],
      ];
      const answers: Record<string, string | undefined> = {};
      for (const [outgoing, incoming] of asked) {
        const session = await open(target, {
          heartbeatOutgoing: outgoing,
          heartbeatIncoming: incoming,
        });
        answers[`${outgoing},${incoming}`] = session.connected['heart-beat'];
        await session.client.deactivate();
      }
      return answers;
    },
  },
  {
    name: 'wrong credentials: an ERROR before CONNECTED',
    client: '@stomp/stompjs',
    async run(target) {
      const session = await open(target, { passcode: 'wrong' });
      await session.client.deactivate();
      return { outcome: session.outcome };
    },
  },
  {
    // Issue 13: JMSXGroupID pins a group to one consumer while it lives; which consumer takes a
    // new group is the broker's choice, so only A's owner (the sole consumer then) is compared.
    name: 'message groups (JMSXGroupID): one consumer per group, in order, reassigned on close',
    client: '@stomp/stompjs',
    async run(target) {
      const q = '/queue/diff.js.groups';
      const [producer, first, second] = await Promise.all([
        open(target),
        open(target),
        open(target),
      ]);
      const send = async (group: string, body: string): Promise<void> => {
        const receipt = `send-${body}`;
        const done = new Promise<void>((resolve) =>
          producer.client.watchForReceipt(receipt, () => resolve()),
        );
        producer.client.publish({
          destination: q,
          body,
          headers: { receipt, JMSXGroupID: group, persistent: 'true' },
        });
        await done;
      };
      const one = await subscribe(first.client, q, 'one');
      await send('A', 'A1');
      await send('A', 'A2');
      await waitFor(() => one.length >= 2, 'A1 and A2 on the only consumer', 60_000);
      const two = await subscribe(second.client, q, 'two');
      for (const body of ['B1', 'A3', 'C1', 'B2', 'A4', 'C2', 'B3', 'C3'])
        await send(body[0]!, body);
      await waitFor(() => one.length + two.length >= 10, 'all ten messages', 60_000);
      await first.client.deactivate();
      await send('A', 'A5');
      await send('B', 'B4');
      await waitFor(
        () => two.some((m) => m.body === 'A5') && two.some((m) => m.body === 'B4'),
        'A5 and B4 on the consumer left',
        60_000,
      );
      const all = [
        ...seen(one).map((m) => ({ ...m, to: 'one' })),
        ...seen(two).map((m) => ({ ...m, to: 'two' })),
      ];
      const afterClose = ['A5', 'B4'];
      const groups: Record<string, unknown> = {};
      for (const group of ['A', 'B', 'C']) {
        const mine = all.filter((m) => m.body.startsWith(group));
        const before = mine.filter((m) => !afterClose.includes(m.body));
        groups[group] = {
          // Each group's messages before the close went to one consumer.
          ownersBefore: new Set(before.map((m) => m.to)).size,
          // Per consumer, in the order it got them: a group's order holds on its owner.
          messages: [...new Set(mine.map((m) => m.to))].flatMap((to) =>
            mine
              .filter((m) => m.to === to)
              .map((m) => {
                // A's owner was the only consumer, and after the close only "two" is left; who
                // took B and C first is the broker's choice (and so is their subscription header).
                if (group === 'A' || afterClose.includes(m.body)) return m;
                const { subscription: _chosen, ...headers } = m.headers;
                return { to: 'the first to take it', body: m.body, headers };
              }),
          ),
        };
      }
      await Promise.all([producer.client.deactivate(), second.client.deactivate()]);
      return groups;
    },
  },
];
