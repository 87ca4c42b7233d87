import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { StompFrame, StompVersion } from './frame.js';
import { HEARTBEAT, encodeFrame } from './frame-encoder.js';
import type { StompHeaderInput } from './frame-encoder.js';
import { createFrameParser } from './frame-parser.js';
import { negotiateHeartBeat, parseHeartBeat } from './heart-beat.js';
import type { HeartBeat } from './heart-beat.js';
import { negotiateVersion } from './version-negotiation.js';

export interface FakeStompServerOptions {
  /** The server's `heart-beat` header; default none. */
  readonly heartBeat?: HeartBeat;
  /** Announce heart-beats but never send them (a hung server). */
  readonly silent?: boolean;
  /** Accept connections but never answer CONNECT. */
  readonly mute?: boolean;
}

/** What one client connection did, for assertions. */
export interface FakeConnection {
  readonly frames: StompFrame[];
  heartbeatsSeen: number;
  version: StompVersion;
}

export interface FakeStompServer {
  readonly port: number;
  readonly connections: FakeConnection[];
  close(): Promise<void>;
}

/**
 * Just enough of a STOMP broker to drive the client: login admin/secret, SEND delivered to the
 * subscriptions of its destination, a RECEIPT for every receipt header. A SEND to /queue/reject
 * gets an ERROR carrying its receipt-id; one to /queue/blackhole gets no answer; an unknown
 * command gets an ERROR without receipt-id (and the connection stays open, unlike a real broker).
 */
export async function startFakeStompServer(
  options: FakeStompServerOptions = {},
): Promise<FakeStompServer> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    connections.push(serve(socket, options));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serve(socket: Socket, options: FakeStompServerOptions): FakeConnection {
  const connection: FakeConnection = { frames: [], heartbeatsSeen: 0, version: '1.2' };
  const parser = createFrameParser();
  const subscriptions = new Map<string, string>(); // id -> destination
  let messageCounter = 0;
  let heartBeatTimer: NodeJS.Timeout | undefined;
  socket.on('close', () => clearInterval(heartBeatTimer));

  const reply = (command: string, headers: StompHeaderInput, body?: Buffer): void => {
    if (!socket.destroyed) socket.write(encodeFrame(command, headers, body, connection.version));
  };
  const receipt = (frame: StompFrame): void => {
    const id = frame.headers['receipt'];
    if (id !== undefined) reply('RECEIPT', { 'receipt-id': id });
  };

  const onConnect = (frame: StompFrame): void => {
    if (options.mute === true) return;
    if (frame.headers['login'] !== 'admin' || frame.headers['passcode'] !== 'secret') {
      reply('ERROR', { message: 'bad login' }, Buffer.from('Authentication failed'));
      socket.end();
      return;
    }
    connection.version = negotiateVersion(frame.headers['accept-version']) ?? '1.0';
    parser.setVersion(connection.version);
    const own = options.heartBeat ?? [0, 0];
    reply('CONNECTED', {
      version: connection.version,
      'heart-beat': `${own[0]},${own[1]}`,
      server: 'fake/1',
    });
    const { sendEveryMs } = negotiateHeartBeat(own, parseHeartBeat(frame.headers['heart-beat']));
    if (sendEveryMs > 0 && options.silent !== true) {
      heartBeatTimer = setInterval(() => socket.write(HEARTBEAT), sendEveryMs);
    }
  };

  const onSend = (frame: StompFrame): void => {
    const destination = frame.headers['destination'] ?? '';
    if (destination === '/queue/blackhole') return;
    if (destination === '/queue/reject') {
      reply(
        'ERROR',
        { message: 'rejected', 'receipt-id': frame.headers['receipt'] },
        Buffer.from('no'),
      );
      return;
    }
    for (const [id, subscribed] of subscriptions) {
      if (subscribed !== destination) continue;
      const n = ++messageCounter;
      const { receipt: _receipt, ...headers } = frame.headers;
      const ack = connection.version === '1.2' ? `ack-${n}` : undefined;
      reply('MESSAGE', { ...headers, subscription: id, 'message-id': `m-${n}`, ack }, frame.body);
    }
    receipt(frame);
  };

  const onFrame = (frame: StompFrame): void => {
    connection.frames.push(frame);
    switch (frame.command) {
      case 'CONNECT':
      case 'STOMP':
        return onConnect(frame);
      case 'SEND':
        return onSend(frame);
      case 'SUBSCRIBE':
        subscriptions.set(frame.headers['id'] ?? '', frame.headers['destination'] ?? '');
        return receipt(frame);
      case 'UNSUBSCRIBE':
        subscriptions.delete(frame.headers['id'] ?? '');
        return receipt(frame);
      case 'ACK':
      case 'NACK':
      case 'BEGIN':
      case 'COMMIT':
      case 'ABORT':
        return receipt(frame);
      case 'DISCONNECT':
        receipt(frame);
        socket.end();
        return;
      default:
        reply('ERROR', { message: `unknown command ${frame.command}` });
    }
  };

  socket.on('data', (chunk: Buffer) => {
    try {
      for (const frame of parser.push(chunk)) onFrame(frame);
    } catch (e) {
      reply('ERROR', { message: (e as Error).message });
      socket.end();
    }
    connection.heartbeatsSeen = parser.heartbeatsSeen;
  });
  return connection;
}
