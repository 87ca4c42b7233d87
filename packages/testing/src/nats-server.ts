import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { renderNatsConfig, type NatsConfigBlock, type NatsUser } from './nats-config.js';

/**
 * Mutual TLS for client connections. Each of `cert`, `key` and `ca` is either a file path or
 * PEM text (written to the server's folder), so a `TestPki`'s `server.certPath` or `server.cert`
 * both work.
 */
export interface NatsServerTlsOptions {
  readonly cert: string;
  readonly key: string;
  /** The CA that client certificates must be signed by (with `verify`). */
  readonly ca?: string;
  /** Clients must present a certificate signed by `ca` (mutual TLS). Default true with `ca`. */
  readonly verify?: boolean;
  /** TLS handshake timeout. Default 5 s, generous for a loaded test machine. */
  readonly timeoutSec?: number;
  /** More keys for the `tls {}` block (`verify_and_map`, `cipher_suites`, ...). */
  readonly extra?: NatsConfigBlock;
}

export interface NatsServerOptions {
  /** `server_name`; also names the JetStream node. Default a random name. */
  readonly serverName?: string;
  /** The client port. Default: one the server picks; kept across `restart()`. */
  readonly port?: number;
  /** Start the HTTP monitor (`/healthz`, `/jsz`, ...) on this port; 0 for any free port. */
  readonly monitorPort?: number;
  readonly tls?: NatsServerTlsOptions;
  /** Users with passwords and permissions, in the server's default account. */
  readonly users?: readonly NatsUser[];
  /** The `authorization {}` block as it is; `users` above is added to its `users`. */
  readonly authorization?: NatsConfigBlock;
  /** The `accounts {}` block as it is (remember `jetstream: enabled` per account). */
  readonly accounts?: NatsConfigBlock;
  /** Keys merged into the `jetstream {}` block (whose `store_dir` is the handle's `storeDir`). */
  readonly jetstream?: NatsConfigBlock;
  /** Any other top-level config keys (`no_auth_user`, `max_payload`, `system_account`, ...). */
  readonly config?: NatsConfigBlock;
  /** Verbose and debug logging into `logs()`. */
  readonly debug?: boolean;
  /** The nats-server binary. Default `$NATS_SERVER_BIN`, then `nats-server` on the PATH. */
  readonly binary?: string;
  /** Default 15 s. */
  readonly readyTimeoutMs?: number;
}

/** A running `nats-server` child process with JetStream, started by `startNatsServer`. */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:PORT`, or `tls://127.0.0.1:PORT` with TLS. The same after `restart()`. */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` when `monitorPort` was given. */
  readonly monitorUrl: string | undefined;
  /** The server's temporary folder: config, certificates, JetStream store. */
  readonly dir: string;
  /** JetStream's `store_dir`; what survives `restart()`. */
  readonly storeDir: string;
  readonly configPath: string;
  /** The current process id (it changes on `restart()`); undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, JetStream recovers its store on the next start. */
  kill(): Promise<void>;
  /** Stops it if it runs, then starts it again on the same port, config and store. */
  restart(): Promise<void>;
  /** Everything the server logged, across restarts. */
  logs(): string;
  /** Kills the server and deletes its folder, store included. */
  cleanup(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_LOG_CHARS = 2_000_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts a real `nats-server` with JetStream (file storage in a temporary folder), waits until
 * it is ready, and returns a handle to stop, crash and restart it.
 *
 * Ports: the server binds port 0 itself (`port: -1`) and tells its ports through
 * `ports_file_dir`; the config is then rewritten with that port so that `restart()` comes back
 * on the same address, as clients expect of a restarted Region's NATS. The ports file is written
 * only once every listener is up and JetStream is enabled, so no probe connection is needed (one
 * would need a client certificate under mutual TLS).
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'crdr-nats-'));
  const storeDir = join(dir, 'jetstream');
  const portsDir = join(dir, 'ports');
  const configPath = join(dir, 'nats-server.conf');
  await Promise.all([mkdir(storeDir), mkdir(portsDir)]);
  const binary = options.binary ?? findNatsServer();
  const tls = options.tls === undefined ? undefined : await tlsBlock(dir, options.tls);

  const config = (port: number, monitorPort: number | undefined): string =>
    renderNatsConfig({
      server_name: options.serverName ?? `crdr-test-${dir.slice(-6)}`,
      host: HOST,
      port,
      ...(monitorPort === undefined ? {} : { http: `${HOST}:${monitorPort}` }),
      ports_file_dir: portsDir,
      jetstream: { store_dir: storeDir, max_memory_store: 256 << 20, ...options.jetstream },
      ...(tls === undefined ? {} : { tls }),
      ...authorizationBlock(options),
      ...(options.accounts === undefined ? {} : { accounts: options.accounts }),
      ...options.config,
      ...(options.debug === true ? { debug: true, trace: true } : {}),
    });

  let logs = '';
  let child: ChildProcess | undefined;
  const appendLog = (chunk: Buffer) => {
    logs += chunk.toString();
    if (logs.length > MAX_LOG_CHARS) logs = logs.slice(-MAX_LOG_CHARS / 2);
  };

  const launch = async (): Promise<Ports> => {
    const started = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    liveServers.add(started);
    started.stdout.on('data', appendLog);
    started.stderr.on('data', appendLog);
    started.once('exit', () => liveServers.delete(started));
    let spawnError: Error | undefined;
    started.once('error', (error) => (spawnError = error)); // e.g. ENOENT: no such binary
    try {
      return await waitForPorts(
        started,
        () => spawnError,
        portsDir,
        options.readyTimeoutMs ?? 60_000,
      );
    } catch (error) {
      await signalAndWait(started, 'SIGKILL');
      throw new Error(`nats-server did not start: ${String(error)}\n${logs.slice(-4000)}`, {
        cause: error,
      });
    }
  };

  await writeFile(
    configPath,
    config(options.port ?? -1, options.monitorPort === 0 ? -1 : options.monitorPort),
  );
  const ports = await launch().catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  // Pin what the server chose, so that a restart comes back on the same address.
  await writeFile(configPath, config(ports.client, ports.monitor));

  const stopWith = async (signal: NodeJS.Signals) => {
    if (child !== undefined) await signalAndWait(child, signal);
    child = undefined;
  };

  return {
    url: `${tls === undefined ? 'nats' : 'tls'}://${HOST}:${ports.client}`,
    port: ports.client,
    monitorUrl: ports.monitor === undefined ? undefined : `http://${HOST}:${ports.monitor}`,
    dir,
    storeDir,
    configPath,
    get pid() {
      return child?.pid;
    },
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    async restart() {
      await stopWith('SIGTERM');
      logs += `--- restart ${new Date().toISOString()} ---\n`;
      await launch();
    },
    logs: () => logs,
    async cleanup() {
      await stopWith('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Ports {
  readonly client: number;
  readonly monitor: number | undefined;
}

async function waitForPorts(
  child: ChildProcess,
  spawnError: () => Error | undefined,
  portsDir: string,
  timeoutMs: number,
): Promise<Ports> {
  const deadline = Date.now() + timeoutMs;
  const suffix = `_${child.pid}.ports`;
  for (;;) {
    const error = spawnError();
    if (error !== undefined) throw error;
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    const name = (await readdir(portsDir)).find((file) => file.endsWith(suffix));
    if (name !== undefined) {
      const text = await readFile(join(portsDir, name), 'utf8').catch(() => '');
      // The server writes the file in one go, but we may read it mid-write.
      const parsed = tryParse(text);
      if (parsed !== undefined) return parsed;
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function tryParse(text: string): Ports | undefined {
  try {
    const json = JSON.parse(text) as { nats?: string[]; monitoring?: string[] };
    const client = json.nats?.[0];
    if (client === undefined) return undefined;
    const monitor = json.monitoring?.[0];
    return {
      client: Number(new URL(client).port),
      monitor: monitor === undefined ? undefined : Number(new URL(monitor).port),
    };
  } catch {
    return undefined;
  }
}

function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

async function tlsBlock(dir: string, tls: NatsServerTlsOptions): Promise<NatsConfigBlock> {
  const file = async (name: string, value: string) => {
    if (!value.includes('-----BEGIN')) return value;
    const path = join(dir, name);
    await writeFile(path, value, { mode: 0o600 });
    return path;
  };
  return {
    cert_file: await file('server-cert.pem', tls.cert),
    key_file: await file('server-key.pem', tls.key),
    ...(tls.ca === undefined ? {} : { ca_file: await file('ca.pem', tls.ca) }),
    verify: tls.verify ?? tls.ca !== undefined,
    timeout: tls.timeoutSec ?? 5,
    ...tls.extra,
  };
}

function authorizationBlock(options: NatsServerOptions): NatsConfigBlock {
  if (options.users === undefined && options.authorization === undefined) return {};
  const given = options.authorization ?? {};
  const users = [
    ...((given['users'] as readonly unknown[] | undefined) ?? []),
    ...(options.users ?? []),
  ];
  return { authorization: { ...given, ...(users.length > 0 ? { users } : {}) } };
}

function findNatsServer(): string {
  const fromEnv = process.env['NATS_SERVER_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/bin', '/usr/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return 'nats-server';
}

/**
 * Servers that are still running when the test process exits (a failed `afterAll`, a crash) are
 * killed with it, so no nats-server outlives the test run.
 */
const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});
