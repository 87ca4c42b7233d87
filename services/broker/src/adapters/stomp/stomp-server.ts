import { createServer, type Server, type Socket } from 'node:net';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { latencyProbe } from '@crdr/telemetry';
import type { BrokerEngine } from '../../engine/engine.types.js';
import { StompConnection, type ConnectionLogger } from './stomp-connection.js';
import type { StompLimits, StompTransport } from './stomp-transport.js';

export interface StompListener {
  readonly port: number;
  close(): Promise<void>;
  /** Drops every open connection (the broker stopped serving). */
  dropAll(): void;
}

/** STOMP over TCP. */
export async function listenStomp(
  engine: BrokerEngine,
  options: { host: string; port: number; limits: StompLimits; log: ConnectionLogger },
): Promise<StompListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const transport: StompTransport = {
      kind: 'stomp',
      remoteAddress: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      write: (data) => {
        // The frames of one turn of the event loop (the receipts of a group commit, a burst of
        // deliveries) leave in one system call instead of one each.
        if (socket.writableCorked === 0) {
          socket.cork();
          process.nextTick(() => {
            if (latencyProbe.enabled) latencyProbe.mark('frame queued');
            socket.uncork();
            if (latencyProbe.enabled) latencyProbe.end('written to socket');
          });
        }
        return socket.write(data);
      },
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    };
    const connection = new StompConnection(transport, engine, options.limits, options.log);
    socket.on('data', (chunk: Buffer) => connection.onData(chunk));
    socket.on('drain', () => connection.onDrain());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      connection.onClose();
    });
  });
  const port = await listen(server, options.host, options.port);
  return {
    port,
    close: () => closeServer(server, () => sockets.forEach((s) => s.destroy())),
    dropAll: () => sockets.forEach((s) => s.destroy()),
  };
}

const subprotocols = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

/** STOMP over WebSocket, with the subprotocols `v12.stomp`, `v11.stomp` and `v10.stomp`. */
export async function listenStompWebSocket(
  engine: BrokerEngine,
  options: { host: string; port: number; limits: StompLimits; log: ConnectionLogger },
): Promise<StompListener> {
  const http: HttpServer = createHttpServer((_req, res) => {
    res
      .writeHead(426, { 'content-type': 'text/plain' })
      .end('STOMP over WebSocket: upgrade required\n');
  });
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    server: http,
    maxPayload: options.limits.maxFrameBytes + 64 * 1024,
    handleProtocols: (offered) => subprotocols.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (ws, request) => {
    sockets.add(ws);
    const stream = createWebSocketStream(ws);
    const transport: StompTransport = {
      kind: 'websocket',
      remoteAddress: `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? 0}`,
      write: (data) => stream.write(data),
      end: () => stream.end(() => ws.close()),
      destroy: () => ws.terminate(),
    };
    const connection = new StompConnection(transport, engine, options.limits, options.log);
    stream.on('data', (chunk: Buffer) => connection.onData(chunk));
    stream.on('drain', () => connection.onDrain());
    stream.on('error', () => undefined);
    ws.on('close', () => {
      sockets.delete(ws);
      connection.onClose();
    });
  });
  const port = await listen(http, options.host, options.port);
  return {
    port,
    close: async () => {
      sockets.forEach((s) => s.terminate());
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(http, () => undefined);
    },
    dropAll: () => sockets.forEach((s) => s.terminate()),
  };
}

function listen(server: Server | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: Server | HttpServer, dropConnections: () => void): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    dropConnections();
  });
}
