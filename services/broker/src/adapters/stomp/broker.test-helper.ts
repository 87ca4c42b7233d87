import { connect as connectTcp, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connectStomp,
  createFrameParser,
  encodeFrame,
  type StompClient,
  type StompClientOptions,
  type StompFrame,
  type StompHeaderInput,
  type StompMessage,
} from '@crdr/stomp';
import { createLogger } from '@crdr/telemetry';
import { createTestDatabase, patientTimeoutMs, type TestDatabase } from '@crdr/testing';
import { loadConfig } from '../../config.js';
import { createServer, type BrokerServer } from '../../server.js';

/**
 * A real broker on its own database, its listeners on port 0, for the STOMP integration tests
 * (docs/style.md §10). `restart()` is a clean stop followed by a new process's worth of objects on
 * the same database; the ports change.
 */
export interface TestBroker {
  readonly host: string;
  readonly stompPort: number;
  readonly wsPort: number;
  /** host:port of the gRPC endpoint. */
  readonly grpcAddress: string;
  readonly server: BrokerServer;
  /** A connection to this broker as admin; the options override the defaults. */
  connect(options?: Partial<StompClientOptions>): Promise<StompClient>;
  restart(): Promise<void>;
  /** Stops the broker and drops its database. */
  close(): Promise<void>;
}

export const host = '127.0.0.1';

export async function startTestBroker(
  prefix: string,
  env: Record<string, string> = {},
): Promise<TestBroker> {
  const database: TestDatabase = await createTestDatabase(prefix);
  const config = loadConfig({
    BROKER_DB_URL: database.url,
    BROKER_STOMP_PORT: '0',
    BROKER_WS_PORT: '0',
    BROKER_GRPC_PORT: '0',
    BROKER_USERS: 'admin:admin',
    BROKER_SCRYPT_COST: '1024',
    BROKER_PRINT_ENDPOINTS: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const log = createLogger({ service: 'broker', level: 'silent' });
  let server = createServer({ config, log });
  let ports = portsOf(await server.start());
  const broker: TestBroker = {
    host,
    get stompPort() {
      return ports.stomp;
    },
    get wsPort() {
      return ports.ws;
    },
    get grpcAddress() {
      return ports.grpc;
    },
    get server() {
      return server;
    },
    connect: (options) =>
      connectStomp({
        host,
        port: ports.stomp,
        login: 'admin',
        passcode: 'admin',
        connectTimeoutMs: 5000,
        ...options,
      }),
    async restart() {
      await server.stop();
      server = createServer({ config, log });
      ports = portsOf(await server.start());
    },
    async close() {
      await server.stop();
      await database.drop();
    },
  };
  return broker;
}

function portsOf(endpoints: { stomp: string; ws: string; grpc: string }): {
  stomp: number;
  ws: number;
  grpc: string;
} {
  return {
    stomp: Number(new URL(endpoints.stomp).port),
    ws: Number(new URL(endpoints.ws).port),
    grpc: new URL(endpoints.grpc).host,
  };
}

export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const patience = patientTimeoutMs(timeoutMs);
  const deadline = performance.now() + patience;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${patience} ms`);
    await sleep(5);
  }
}

/** Collects the messages of one or more subscriptions, in arrival order. */
export class Inbox {
  readonly messages: StompMessage[] = [];
  readonly handler = (message: StompMessage): void => {
    this.messages.push(message);
  };

  get bodies(): string[] {
    return this.messages.map((m) => m.body.toString());
  }

  /** Waits until at least `count` messages arrived; returns the first `count`. */
  async take(count: number, timeoutMs = 5000): Promise<StompMessage[]> {
    await waitFor(
      () => this.messages.length >= count,
      timeoutMs,
      `${count} message(s) (got ${this.messages.length})`,
    );
    return this.messages.slice(0, count);
  }

  /** Waits for a message whose body is `body`; returns the messages received up to and with it. */
  async until(body: string, timeoutMs = 5000): Promise<StompMessage[]> {
    await waitFor(
      () => this.messages.some((m) => m.body.toString() === body),
      timeoutMs,
      `message "${body}" (got ${JSON.stringify(this.bodies)})`,
    );
    const at = this.messages.findIndex((m) => m.body.toString() === body);
    return this.messages.slice(0, at + 1);
  }
}

/** A unique destination name per test, so tests of one file share a broker without sharing queues. */
let destinationCounter = 0;
export function uniqueName(stem: string): string {
  return `${stem}.${process.pid}.${++destinationCounter}`;
}

/**
 * A bare TCP connection that writes whatever it is given and decodes what the broker answers,
 * for tests of malformed input, limits and heart-beats.
 */
export class RawStompConnection {
  readonly frames: StompFrame[] = [];
  readonly #socket: Socket;
  readonly #parser = createFrameParser({ maxFrameBytes: 64 * 1024 * 1024 });
  #isClosed = false;
  #parseError: unknown;
  #rawText = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.once('close', () => (this.#isClosed = true));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      // The first bytes as they came, for tests of the encoding itself.
      if (this.#rawText.length < 64 * 1024) this.#rawText += chunk.toString('latin1');
      try {
        this.frames.push(...this.#parser.push(chunk));
      } catch (error) {
        this.#parseError ??= error;
      }
    });
  }

  static open(port: number): Promise<RawStompConnection> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host, port });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawStompConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a connection and completes CONNECT as admin. */
  static async connect(port: number, headers: StompHeaderInput = {}): Promise<RawStompConnection> {
    const raw = await RawStompConnection.open(port);
    raw.frame('CONNECT', {
      'accept-version': '1.2',
      host,
      login: 'admin',
      passcode: 'admin',
      ...headers,
    });
    await raw.next('CONNECTED');
    return raw;
  }

  /** EOLs received between frames: heart-beats. */
  get heartbeats(): number {
    return this.#parser.heartbeatsSeen;
  }

  /** The first 64 KiB received, undecoded (latin1). */
  get rawText(): string {
    return this.#rawText;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  get parseError(): unknown {
    return this.#parseError;
  }

  write(data: Buffer | string): void {
    if (!this.#socket.destroyed) this.#socket.write(data);
  }

  frame(command: string, headers: StompHeaderInput, body?: Buffer | string): void {
    this.write(encodeFrame(command, headers, body));
  }

  /** The first frame received with this command (waiting for it). */
  async next(command: string, timeoutMs = 5000): Promise<StompFrame> {
    const find = (): StompFrame | undefined => this.frames.find((f) => f.command === command);
    await waitFor(() => find() !== undefined || this.#isClosed, timeoutMs, `a ${command} frame`);
    const frame = find();
    if (frame === undefined) {
      const got = this.frames.map((f) => f.command).join(', ');
      throw new Error(`connection closed without a ${command} frame (got ${got || 'nothing'})`);
    }
    return frame;
  }

  /** Waits until the broker closes the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.#isClosed, timeoutMs, 'the connection to close');
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** Proves that a connection still works: a send and its delivery on the same connection. */
export async function assertWorks(client: StompClient, label: string): Promise<void> {
  const queue = `/queue/${uniqueName('works')}`;
  const inbox = new Inbox();
  const id = await client.subscribe(queue, inbox.handler);
  await client.send(queue, label);
  const [message] = await inbox.take(1);
  if (message?.body.toString() !== label)
    throw new Error(`expected "${label}", got "${message?.body.toString()}"`);
  await client.unsubscribe(id);
}

export async function waitForAsync(
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const patience = patientTimeoutMs(timeoutMs);
  const deadline = performance.now() + patience;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${patience} ms`);
    await sleep(10);
  }
}

/** A destination's message count as the admin API reports it (ready, in flight and paged out). */
export async function queueSize(
  broker: TestBroker,
  destination: string,
): Promise<number | undefined> {
  const [, kind, name] = /^\/(queue|topic)\/(.+)$/.exec(destination) ?? [];
  const all = await broker.server.runtime.engine.admin.listDestinations();
  return all.find((d) => d.kind === kind && d.name === name)?.queueSize;
}
