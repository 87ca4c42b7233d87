import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A prerequisite that is missing, with how to get it. */
export class MissingPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingPrerequisiteError';
  }
}

export function findNatsServer(env: NodeJS.ProcessEnv): string {
  const candidates = [
    env['NATS_SERVER_BIN'],
    ...(env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
  ].filter((path): path is string => path !== undefined && path !== '');
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new MissingPrerequisiteError(
      'no nats-server binary found (looked at $NATS_SERVER_BIN, the PATH and /usr/sbin). ' +
        'Install it: `apt-get install nats-server` on Debian, or a release from ' +
        'https://github.com/nats-io/nats-server/releases; then set NATS_SERVER_BIN if it is not on the PATH.',
    );
  }
  return found;
}

export async function checkPostgres(pgUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new MissingPrerequisiteError(
      `no PostgreSQL reachable at ${redact(pgUrl)} (${(error as Error).message}). ` +
        'Start one (Debian: `apt-get install postgresql && pg_ctlcluster 15 main start`) ' +
        'or point PG_URL at a server where this user may create databases.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkOpenssl(): Promise<void> {
  try {
    await run('openssl', ['version'], { timeout: 10_000 });
  } catch {
    throw new MissingPrerequisiteError(
      'no `openssl` command found; the stack makes its TLS certificates with it. ' +
        'Install it: `apt-get install openssl` on Debian.',
    );
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
