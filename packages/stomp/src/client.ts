import { connect as connectTcp } from 'node:net';
import type { StompClient, StompClientOptions } from './client-types.js';
import type { StompHeaderInput } from './frame-encoder.js';
import { StompSession } from './stomp-session.js';

/**
 * Connects over TCP and sends CONNECT. Resolves on CONNECTED; rejects with StompServerError when
 * the server answers ERROR (a bad login, a replica...), or with StompConnectionError on a connect
 * timeout or a closed connection.
 */
export async function connectStomp(opts: StompClientOptions): Promise<StompClient> {
  const socket = connectTcp({ host: opts.host, port: opts.port });
  socket.setNoDelay(true);
  return new StompSession(socket, opts).connect(connectHeaders(opts));
}

function connectHeaders(opts: StompClientOptions): StompHeaderInput {
  const { heartBeat } = opts;
  return {
    'accept-version': opts.version ?? '1.2',
    host: opts.host,
    login: opts.login,
    passcode: opts.passcode,
    'client-id': opts.clientId,
    'heart-beat': heartBeat === undefined ? undefined : `${heartBeat[0]},${heartBeat[1]}`,
    ...opts.headers,
  };
}
