import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createTestPki } from '@crdr/testing';
import pg from 'pg';
import { checkOpenssl, checkPostgres, findNatsServer } from './prerequisites.js';
import {
  ensureService,
  regionEndpoints,
  regionPgUrl,
  regionSetting,
  runningPid,
  serviceNames,
  waitHealthy,
  type RegionContext,
  type RegionEndpoints,
} from './region-services.js';
import { regionNames, stackLayout, type RegionName, type StackLayout } from './stack-layout.js';
import { killMarked, markedProcesses, stackMark } from './stack-processes.js';
import { loadOrCreateState, readState, type StackState } from './stack-state.js';

export interface StackOptions {
  /** The repository root: services are started from it and `.stack/` lives in it. */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** Progress lines (to stderr in the CLI, so stdout stays the endpoints). */
  readonly progress: (line: string) => void;
  readonly startTimeoutMs?: number;
}

export interface StackEndpoints {
  readonly regions: Readonly<Record<RegionName, RegionEndpoints>>;
}

const defaultPgUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

function peerOf(region: RegionName): RegionName {
  return region === 'region-a' ? 'region-b' : 'region-a';
}

async function contexts(options: StackOptions, layout: StackLayout, stack: StackState) {
  const pki = await createTestPki(layout.pkiDir);
  const natsServer = findNatsServer(options.env);
  return (region: RegionName): RegionContext => ({
    root: options.root,
    region,
    peer: peerOf(region),
    layout,
    stack,
    pki,
    natsServer,
    env: options.env,
  });
}

function endpointsOf(stack: StackState): StackEndpoints {
  return {
    regions: {
      'region-a': regionEndpoints(stack.regions['region-a']),
      'region-b': regionEndpoints(stack.regions['region-b']),
    },
  };
}

/**
 * Starts what is not running of the given Regions (both by default), waits until every service
 * is healthy, and writes `.stack/endpoints.json`. Running services are left alone, so a second
 * `up` is a no-op that returns the same endpoints.
 */
export async function stackUp(options: StackOptions, only?: RegionName): Promise<StackEndpoints> {
  const layout = stackLayout(options.root, options.env);
  const pgUrl = options.env['PG_URL'] ?? defaultPgUrl;
  findNatsServer(options.env);
  await checkOpenssl();
  await checkPostgres(pgUrl);
  for (const region of regionNames) {
    const own = regionSetting(options.env, region, 'PG_URL');
    if (own !== undefined) await checkPostgres(own);
  }
  const stack = await loadOrCreateState(layout.stateFile, pgUrl);
  if (stack.pgUrl !== pgUrl && options.env['PG_URL'] !== undefined) {
    throw new Error(
      `the stack in ${layout.dir} was made on ${stack.pgUrl}; run \`pnpm stack down --purge\` to start over on ${pgUrl}`,
    );
  }
  const contextOf = await contexts(options, layout, stack);
  const regions = only === undefined ? regionNames : [only];
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  // NATS first in every Region, then the control planes (each needs its peer only for pairing,
  // so both start together), then the metrics services, which ask their control plane.
  for (const tier of [['nats'], ['control-plane'], ['metrics']] as const) {
    await Promise.all(
      regions.flatMap((region) =>
        tier.map(async (service) => {
          const ctx = contextOf(region);
          const started = await ensureService(ctx, service);
          options.progress(`${region} ${service}: ${started ? 'starting' : 'already running'}`);
          await waitHealthy(ctx, service, timeoutMs);
          if (started) options.progress(`${region} ${service}: healthy`);
        }),
      ),
    );
  }
  const endpoints = endpointsOf(stack);
  await mkdir(layout.dir, { recursive: true });
  await writeFile(layout.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  return endpoints;
}

/**
 * Stops every process of the given Regions (both by default), brokers and replicators included.
 * With a Region, as if the Region were lost: SIGKILL, no clean shutdown; its data stays, and
 * `up --region R` brings it back. For the whole stack: SIGTERM, then SIGKILL after a grace
 * period; `purge` also drops the stack's databases and removes `.stack/`.
 */
export async function stackDown(
  options: StackOptions,
  only?: RegionName,
  purge = false,
): Promise<void> {
  const layout = stackLayout(options.root, options.env);
  const regions = only === undefined ? regionNames : [only];
  for (const region of regions) {
    const mark = stackMark(layout.dir, region);
    if (only === undefined) await terminateMarked(mark, 5_000);
    const killed = await killMarked(mark);
    options.progress(`${region}: stopped${killed > 0 ? ` (${killed} killed)` : ''}`);
    await rm(layout.pidFile(region, 'nats'), { force: true });
    for (const service of serviceNames) await rm(layout.pidFile(region, service), { force: true });
  }
  if (purge && only === undefined) {
    const stack = await readState(layout.stateFile);
    if (stack !== undefined) {
      const servers = new Set(regionNames.map((r) => regionPgUrl(options.env, stack, r)));
      for (const server of servers) await dropStackDatabases(stack, server);
    }
    await rm(layout.dir, { recursive: true, force: true });
    options.progress('databases dropped and .stack/ removed');
  }
}

async function terminateMarked(mark: string, graceMs: number): Promise<void> {
  for (const pid of await markedProcesses(mark)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await markedProcesses(mark)).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function dropStackDatabases(stack: StackState, server: string): Promise<void> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`crdr\\_stack\\_${stack.stackId}\\_%`],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await client.end();
  }
}

export interface RegionStatus {
  readonly region: RegionName;
  readonly services: Readonly<Record<string, number | undefined>>;
  /** Brokers, replicators and anything else the Region's control plane started. */
  readonly otherProcesses: number;
  readonly endpoints: RegionEndpoints;
  /** `admin:<password>`: who may sign in to the Region's console before any broker exists. */
  readonly consoleAdmin: string;
}

export async function stackStatus(options: StackOptions): Promise<RegionStatus[] | undefined> {
  const layout = stackLayout(options.root, options.env);
  const stack = await readState(layout.stateFile);
  if (stack === undefined) return undefined;
  const contextOf = await contexts(options, layout, stack);
  const result: RegionStatus[] = [];
  for (const region of regionNames) {
    const ctx = contextOf(region);
    const services: Record<string, number | undefined> = {};
    for (const service of serviceNames) services[service] = await runningPid(ctx, service);
    const all = await markedProcesses(stackMark(layout.dir, region));
    const own = Object.values(services).filter((pid) => pid !== undefined);
    result.push({
      region,
      services,
      otherProcesses: all.filter((pid) => !own.includes(pid)).length,
      endpoints: regionEndpoints(stack.regions[region]),
      consoleAdmin: `admin:${stack.regions[region].consoleAdminPassword}`,
    });
  }
  return result;
}
