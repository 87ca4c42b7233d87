import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /** Default `127.0.0.1`. */
  readonly targetHost?: string;
  readonly targetPort: number;
  /** Default 0: any free port, read back from `port`. */
  readonly listenPort?: number;
  /** Default `127.0.0.1`, so a TLS server certificate for 127.0.0.1 still matches. */
  readonly listenHost?: string;
}

export interface TcpProxyCutOptions {
  /**
   * What happens to connections open at the cut:
   * - `reset` (default): both sides are reset at once (TCP RST), as when a stateful firewall or
   *   NAT on the path drops its state. Clients notice immediately and start reconnecting.
   * - `freeze`: both sides stay open but nothing is forwarded until `heal()`; bytes wait in the
   *   socket buffers, as TCP retransmits through a real partition. Clients notice only through
   *   their own keep-alive timeouts (NATS: `pingInterval` × `maxPingOut`); after a short cut
   *   the connection simply carries on.
   */
  readonly existing?: 'reset' | 'freeze';
  /**
   * What happens to connections attempted during the cut:
   * - `hold` (default): accepted but left silent, nothing forwarded, like a SYN that gets no
   *   answer: the client waits for its connect timeout and then retries. On `heal()` held
   *   connections still open are joined to the target, as a retransmitted SYN finally arrives.
   * - `reset`: accepted and reset at once, like a refused connection; clients retry at their
   *   reconnect interval.
   */
  readonly incoming?: 'hold' | 'reset';
}

/** A TCP proxy in front of one target that can cut and heal the link, for partition tests. */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Connections being forwarded (frozen ones included). */
  readonly connections: number;
  /** Connections accepted during a cut and waiting for `heal()`. */
  readonly held: number;
  readonly isCut: boolean;
  /** Cuts the link (see `TcpProxyCutOptions` for the default behaviour). Idempotent. */
  cut(options?: TcpProxyCutOptions): void;
  /** Restores the link: frozen connections resume, held ones are joined to the target. */
  heal(): void;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  frozen: boolean;
}

/**
 * Starts a TCP proxy from `listenHost:listenPort` to `targetHost:targetPort`, to simulate a cut
 * Region link between a client (the replicator) and a server (the primary Region's NATS). When
 * the target refuses a connection the client's connection is reset too, so a target that is down
 * looks the same through the proxy as without it.
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const listenHost = options.listenHost ?? '127.0.0.1';
  const links = new Set<Link>();
  const held = new Set<Socket>();
  let cut: Required<TcpProxyCutOptions> | undefined;

  const forward = (client: Socket) => {
    const upstream = connect({ host: targetHost, port: options.targetPort });
    const link: Link = { client, upstream, frozen: false };
    links.add(link);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  // pauseOnConnect: a held connection reads nothing, so what the client sends stays queued.
  const server = createServer({ pauseOnConnect: true }, (client) => {
    client.setNoDelay(true);
    if (cut === undefined) return forward(client);
    if (cut.incoming === 'reset') return reset(client);
    held.add(client);
    client.on('error', () => client.destroy());
    client.once('close', () => held.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy has no address');

  return {
    host: listenHost,
    port: address.port,
    get connections() {
      return links.size;
    },
    get held() {
      return held.size;
    },
    get isCut() {
      return cut !== undefined;
    },
    cut(cutOptions = {}) {
      cut = { existing: cutOptions.existing ?? 'reset', incoming: cutOptions.incoming ?? 'hold' };
      for (const link of [...links]) {
        if (cut.existing === 'reset') {
          reset(link.client);
          reset(link.upstream);
          continue;
        }
        if (link.frozen) continue;
        link.frozen = true;
        link.client.unpipe(link.upstream);
        link.upstream.unpipe(link.client);
        link.client.pause();
        link.upstream.pause();
      }
    },
    heal() {
      cut = undefined;
      for (const link of links) {
        if (!link.frozen) continue;
        link.frozen = false;
        link.client.pipe(link.upstream);
        link.upstream.pipe(link.client);
      }
      for (const client of [...held]) {
        held.delete(client);
        client.removeAllListeners('error').removeAllListeners('close');
        forward(client);
      }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const link of [...links]) {
        reset(link.client);
        reset(link.upstream);
      }
      for (const client of [...held]) reset(client);
      await closed;
    },
  };
}

/** Closes with a TCP RST rather than a FIN: the peer sees a broken link, not a goodbye. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy needs an established handle; a socket still connecting is simply dropped.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
