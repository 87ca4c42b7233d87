import { join, resolve } from 'node:path';

/** The two Regions of the local stack, in start order. */
export const regionNames = ['region-a', 'region-b'] as const;
export type RegionName = (typeof regionNames)[number];

export function isRegionName(value: string): value is RegionName {
  return (regionNames as readonly string[]).includes(value);
}

/**
 * Where the stack keeps its state, under `<root>/.stack/` (or `STACK_DIR`): the endpoints file the INTERFACE
 * promises, the ports and secrets chosen at the first `up` (kept so `up --region R` brings a
 * Region back on the same addresses), the PKI, logs, and per Region the NATS store and the
 * control plane's state folder (its child processes' records and logs).
 */
export interface StackLayout {
  readonly dir: string;
  readonly endpointsFile: string;
  readonly stateFile: string;
  readonly pkiDir: string;
  readonly logsDir: string;
  regionDir(region: RegionName): string;
  natsDir(region: RegionName): string;
  controlPlaneStateDir(region: RegionName): string;
  pidFile(region: RegionName, service: string): string;
  logFile(region: RegionName, service: string): string;
}

/** `STACK_DIR` moves the whole stack elsewhere (tests run their own stack beside a developer's). */
export function stackLayout(root: string, env: NodeJS.ProcessEnv = {}): StackLayout {
  const dir = resolve(root, env['STACK_DIR'] ?? '.stack');
  const regionDir = (region: RegionName) => join(dir, region);
  return {
    dir,
    endpointsFile: join(dir, 'endpoints.json'),
    stateFile: join(dir, 'state.json'),
    pkiDir: join(dir, 'pki'),
    logsDir: join(dir, 'logs'),
    regionDir,
    natsDir: (region) => join(regionDir(region), 'nats'),
    controlPlaneStateDir: (region) => join(regionDir(region), 'control-plane'),
    pidFile: (region, service) => join(regionDir(region), `${service}.pid.json`),
    logFile: (region, service) => join(dir, 'logs', `${region}-${service}.log`),
  };
}
