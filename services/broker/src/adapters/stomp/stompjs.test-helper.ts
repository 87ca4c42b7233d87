import { Client } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import { host } from './broker.test-helper.js';

/** A @stomp/stompjs client over WebSocket and how its CONNECT ended. */
export interface StompjsSession {
  readonly client: Client;
  /** 'connected', or the message of the broker's ERROR frame. */
  readonly outcome: string;
  /** Every ERROR message received after CONNECTED. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Connects with @stomp/stompjs (a third-party client) over WebSocket, as `user`. */
export async function stompjsConnect(
  port: number,
  user: string,
  password: string,
): Promise<StompjsSession> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(`ws://${host}:${port}`, ['v12.stomp']),
    connectHeaders: { login: user, passcode: password },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    debug: () => undefined,
  });
  const errors: string[] = [];
  let connected = false;
  const outcome = new Promise<string>((resolve) => {
    client.onConnect = () => {
      connected = true;
      resolve('connected');
    };
    client.onStompError = (frame) => {
      const message = frame.headers['message'] ?? '(no message)';
      if (connected) errors.push(message);
      resolve(message);
    };
    client.onWebSocketError = () => resolve('WebSocket error');
  });
  client.activate();
  return { client, outcome: await outcome, errors, close: () => client.deactivate() };
}

/** CONNECT with @stomp/stompjs, then DISCONNECT: 'connected', or the broker's ERROR message. */
export async function stompjsLogin(port: number, user: string, password: string): Promise<string> {
  const session = await stompjsConnect(port, user, password);
  await session.close();
  return session.outcome;
}
