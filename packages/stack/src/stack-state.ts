import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { regionNames, type RegionName } from './stack-layout.js';
import { stablePorts } from './stack-ports.js';

/** Ports, database names and secrets of one Region, chosen once and kept. */
export interface RegionState {
  readonly natsPort: number;
  readonly controlPlaneGrpcPort: number;
  readonly consolePort: number;
  readonly metricsHttpPort: number;
  readonly metricsGrpcPort: number;
  readonly controlPlaneDb: string;
  readonly metricsDb: string;
  /** Database name prefix of the Region's brokers, on the same server. */
  readonly brokerDbPrefix: string;
  readonly natsAdminPassword: string;
  readonly natsReplicationPassword: string;
  readonly consoleAdminPassword: string;
}

export interface StackState {
  readonly version: 1;
  /** Names this stack's databases, so two stacks (a developer's, a test's) share one server. */
  readonly stackId: string;
  /** The Postgres server every database is on (`PG_URL`, else the local one). */
  readonly pgUrl: string;
  readonly regions: Readonly<Record<RegionName, RegionState>>;
}

const secret = () => randomBytes(18).toString('base64url');

function newRegionState(
  stackId: string,
  region: RegionName,
  ports: readonly number[],
): RegionState {
  const id = `${stackId}_${region.replace('-', '_')}`;
  const [natsPort, controlPlaneGrpcPort, consolePort, metricsHttpPort, metricsGrpcPort] = ports;
  return {
    natsPort: natsPort!,
    controlPlaneGrpcPort: controlPlaneGrpcPort!,
    consolePort: consolePort!,
    metricsHttpPort: metricsHttpPort!,
    metricsGrpcPort: metricsGrpcPort!,
    controlPlaneDb: `crdr_stack_${id}_control_plane`,
    metricsDb: `crdr_stack_${id}_metrics`,
    brokerDbPrefix: `crdr_stack_${id}_broker_`,
    natsAdminPassword: secret(),
    natsReplicationPassword: secret(),
    consoleAdminPassword: secret(),
  };
}

/** Reads the state of an earlier `up`, or makes and saves a new one. */
export async function loadOrCreateState(file: string, pgUrl: string): Promise<StackState> {
  const existing = await readState(file);
  if (existing !== undefined) return existing;
  const stackId = randomBytes(3).toString('hex');
  const regions = {} as Record<RegionName, RegionState>;
  const ports = await stablePorts(5 * regionNames.length);
  regionNames.forEach((region, i) => {
    regions[region] = newRegionState(stackId, region, ports.slice(5 * i, 5 * i + 5));
  });
  const state: StackState = { version: 1, stackId, pgUrl, regions };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return state;
}

export async function readState(file: string): Promise<StackState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const state = JSON.parse(text) as StackState;
  if (state.version !== 1) throw new Error(`${file}: unknown stack state version`);
  return state;
}
