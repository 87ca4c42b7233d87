import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BasicCredentials } from '@crdr/proto';
import { createLoginThrottle, type LoginThrottleOptions } from '@crdr/service';
import { ConsoleBackend } from './console.backend.js';
import { viewerOf, type ConsoleContext, type ConsoleLogger } from './context.js';
import { describeError, parseCookies, redirect, securityHeaders, sendHtml } from './http-util.js';
import { cookieNames, handleLogin, parseBootstrapAdmin } from './login.routes.js';
import { routeSignedIn } from './router.js';
import { SessionStore } from './session.store.js';
import { errorPage } from './views/login.js';

export interface ConsoleServerOptions {
  /** The Region this console serves (shown on every page). */
  readonly region: string;
  /** `host:port` of this Region's control-plane gRPC (ControlPlaneService, ControlPlaneInternalService). */
  readonly controlPlaneAddress: string;
  /** Basic credentials for the control-plane calls, if its gRPC asks for them. */
  readonly controlPlaneCredentials?: BasicCredentials;
  /** `host:port` of this Region's metrics gRPC (MetricsService); without it, lag comes from the replicators and brokers. */
  readonly metricsAddress?: string;
  /** HTTP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /**
   * The Region's bootstrap administrator, `user:password` (or parsed), who can sign in before
   * any broker exists. Without it, only brokers' console users can sign in.
   */
  readonly bootstrapAdmin?: string | BasicCredentials;
  /** Sessions end after this long without a request; default 8 hours. */
  readonly sessionIdleMs?: number;
  /** How often live pages refresh; default 1000 ms. */
  readonly refreshIntervalMs?: number;
  /** Deadline of each gRPC call the console makes; default 30 s. */
  readonly deadlineMs?: number;
  /**
   * Other Regions' console URLs by Region name (`{"region-b": "http://127.0.0.1:8102"}`): the
   * counterpart broker links to its page there, and an unpaired broker offers "Create replica
   * in REGION". Links only; the console never calls them.
   */
  readonly peerConsoleUrls?: Readonly<Record<string, string>>;
  /** Set the cookies' Secure flag (when the console is served over HTTPS by a proxy). */
  readonly secureCookies?: boolean;
  /** A pino-compatible logger (e.g. @crdr/telemetry's); nothing is logged without it. */
  readonly logger?: ConsoleLogger;
  /** How sign-in guessing is slowed and refused (`@crdr/service`'s login throttle); its defaults. */
  readonly loginThrottle?: Omit<LoginThrottleOptions, 'nowMs'>;
}

export interface ConsoleServer {
  /** Listens and resolves with the console's base URL, e.g. `http://127.0.0.1:41234`. */
  start(): Promise<{ readonly url: string }>;
  /** Ends live streams, closes the listener and the gRPC channels. */
  stop(): Promise<void>;
}

function loadAsset(name: string): Buffer {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url));
}

/**
 * The web console of one Region, served over HTTP by the control plane: brokers, the Data
 * replication panel, Promote replica, queues and topics with Send To and browsing, consumers and
 * users, with live updates over SSE. It holds no state but in-memory sessions; everything it
 * shows comes from the control plane's public gRPC API and the brokers' admin gRPC.
 */
export function createConsoleServer(options: ConsoleServerOptions): ConsoleServer {
  const bootstrap =
    options.bootstrapAdmin === undefined ? undefined : parseBootstrapAdmin(options.bootstrapAdmin);
  const assets = {
    '/static/console.js': { body: loadAsset('console.js'), type: 'text/javascript; charset=utf-8' },
    '/static/console.css': { body: loadAsset('console.css'), type: 'text/css; charset=utf-8' },
  } as const;
  const cookieOptions = { secure: options.secureCookies ?? false };
  const names = cookieNames(options.region);
  let server: Server | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let stopping = new AbortController();
  let backend: ConsoleBackend | undefined;
  const sessions = new SessionStore(options.sessionIdleMs ?? 8 * 3600_000);
  const loginThrottle = createLoginThrottle({
    ...options.loginThrottle,
    nowMs: () => performance.now(),
  });

  const contextOf = (): ConsoleContext => ({
    region: options.region,
    backend: backend!,
    sessions,
    logger: options.logger,
    refreshIntervalMs: options.refreshIntervalMs ?? 1000,
    stopping: stopping.signal,
    bootstrap,
    cookieNames: names,
    cookieOptions,
    peerConsoles: options.peerConsoleUrls ?? {},
    loginThrottle,
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    securityHeaders(response);
    const context = contextOf();
    const url = new URL(request.url ?? '/', 'http://console.invalid');
    if (url.pathname === '/favicon.ico') {
      response.writeHead(204, { 'Cache-Control': 'max-age=86400' });
      response.end();
      return;
    }
    const asset = assets[url.pathname as keyof typeof assets];
    if (asset && request.method === 'GET') {
      response.writeHead(200, {
        'Content-Type': asset.type,
        'Content-Length': asset.body.length,
        'Cache-Control': 'no-cache',
      });
      response.end(asset.body);
      return;
    }
    let segments: string[];
    try {
      segments = url.pathname
        .split('/')
        .filter((segment) => segment !== '')
        .map((segment) => decodeURIComponent(segment));
    } catch {
      sendHtml(
        response,
        400,
        errorPage(options.region, 'Bad request', 'The address is not valid.'),
      );
      return;
    }
    if (
      segments[0] === 'login' &&
      segments.length === 1 &&
      (request.method === 'GET' || request.method === 'POST')
    ) {
      await handleLogin(context, request, response, url);
      return;
    }
    const session = sessions.get(
      parseCookies(request.headers.cookie).get(names.session),
      Date.now(),
    );
    if (!session) {
      if (request.method === 'GET' && segments[0] !== 'events') {
        redirect(response, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
      } else {
        response.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('sign in first');
      }
      return;
    }
    const handled = await routeSignedIn(context, { request, response, url, segments }, session);
    if (!handled)
      sendHtml(
        response,
        404,
        errorPage(options.region, 'Not found', `No page at ${url.pathname}.`, viewerOf(session)),
      );
  }

  return {
    async start() {
      if (server) throw new Error('the console is already started');
      stopping = new AbortController();
      backend = new ConsoleBackend({
        controlPlaneAddress: options.controlPlaneAddress,
        ...(options.controlPlaneCredentials
          ? { controlPlaneCredentials: options.controlPlaneCredentials }
          : {}),
        ...(options.metricsAddress ? { metricsAddress: options.metricsAddress } : {}),
        deadlineMs: options.deadlineMs ?? 30_000,
        lagSampleIntervalMs: Math.max(200, (options.refreshIntervalMs ?? 1000) - 50),
      });
      const httpServer = createServer((request, response) => {
        handle(request, response).catch((error: unknown) => {
          options.logger?.warn(
            { error: describeError(error), path: request.url?.split('?')[0] },
            'console request failed',
          );
          if (!response.headersSent) {
            sendHtml(response, 500, errorPage(options.region, 'Error', describeError(error)));
          } else response.end();
        });
      });
      server = httpServer;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      sweeper = setInterval(() => {
        const nowMs = Date.now();
        sessions.sweep(nowMs);
        backend?.sweep(nowMs);
      }, 60_000);
      sweeper.unref();
      const address = httpServer.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      options.logger?.info({ url }, 'console listening');
      return { url };
    },
    async stop() {
      const current = server;
      server = undefined;
      stopping.abort();
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
      sessions.clear();
      if (current) {
        await new Promise<void>((resolve) => {
          current.close(() => resolve());
          current.closeAllConnections();
        });
      }
      backend?.close();
      backend = undefined;
    },
  };
}
