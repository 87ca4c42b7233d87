import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/**
 * A PostgreSQL server of a test's own (initdb into a temporary folder, pg_ctl start/stop), so a
 * test may stop and restart "the database" without touching the machine's shared server on
 * 5432, which other tests and CI use.
 */
export interface PostgresServerHandle {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`; the same after `restart()`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** A fast shutdown (`pg_ctl stop -m fast`): open sessions are cut, as in a database restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops, waits `downMs` (default 0), starts again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  /** Stops it (immediate mode) and deletes its folder. */
  cleanup(): Promise<void>;
}

export interface PostgresServerOptions {
  /** Default: a free port. */
  readonly port?: number;
  /** Folder of `initdb` and `pg_ctl`; default `$PG_BIN_DIR`, the PATH, /usr/lib/postgresql/N/bin. */
  readonly binDir?: string;
}

export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServerHandle> {
  const binDir = options.binDir ?? findBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'crdr-pg-'));
  const dataDir = join(dir, 'data');
  const port = options.port ?? (await freePort());
  // initdb and postgres refuse to run as root: run them as the `postgres` system user then.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = async (tool: string, args: readonly string[]): Promise<void> => {
    const binary = join(binDir, tool);
    const [command, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', binary, ...args]]
      : [binary, [...args]];
    try {
      await run(command, argv, { timeout: 120_000 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr ?? e.message}`, {
        cause: error,
      });
    }
  };
  const settings = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${dir}`,
    // A test database: durability across a machine crash is not what is tested.
    `-c fsync=off`,
    `-c max_connections=300`,
  ].join(' ');
  const start = () =>
    pg('pg_ctl', ['-D', dataDir, '-o', settings, '-l', join(dir, 'postgres.log'), '-w', 'start']);
  const stopWith = (mode: 'fast' | 'immediate') =>
    pg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);

  try {
    await pg('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const handle: PostgresServerHandle = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => stopWith('fast'),
    start,
    async restart(downMs = 0) {
      await stopWith('fast');
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async cleanup() {
      await stopWith('immediate').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

function findBinDir(): string {
  const fromEnv = process.env['PG_BIN_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
      return dir;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error('no initdb/pg_ctl found: install PostgreSQL or set PG_BIN_DIR');
}
