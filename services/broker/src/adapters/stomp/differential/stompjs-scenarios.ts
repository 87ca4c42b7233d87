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

const seen = (messages: readonly IMessage[]): { body: string; headers: unknown }[] =>
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
];
